"""A local Slack: the Web API methods Meridian calls, response URLs and a Socket Mode socket.

Request and response shapes follow Slack's documentation. Every call is recorded so a
test can ask what the app did (``emulator.calls("chat.postMessage")``). Methods can be
rate limited (HTTP 429 with ``Retry-After``) or made to fail (``fail``), and
``users.info`` answers with the zones a test configures. Methods are routed on the path
alone: bolt's per-request client appends ``?team_id=…``.

Files: the upload flow (``files.getUploadURLExternal`` hands out an upload URL on this
server, the bytes are POSTed there, ``files.completeUploadExternal`` shares them into a
channel and thread) records what the app uploaded (``uploaded()``); ``share_file`` plays
a person uploading a file, which ``files.list``, ``files.info`` and the private download
URL (bot token required, as on Slack) then serve.

Messages: ``chat.postMessage`` keeps what was posted, with its ``metadata``, per channel
and thread; ``conversations.history`` and ``conversations.replies`` read it back
(``oldest``, ``limit``, ``cursor``; metadata only with ``include_all_metadata``).
``lose_answers`` plays a lost answer: the message is kept, then the connection is cut.

People: ``say`` plays a person posting a message (kept like the app's) and returns the events
Slack delivers for it: the ``message`` event and, when it mentions the app's bot user
(``UBOT``), the ``app_mention`` event too. ``message_shortcut`` is the ``message_action``
payload Slack sends when a person picks one of the app's message shortcuts on a kept message:
the whole message as Slack stores it, the channel, the person, a ``trigger_id`` and a
``response_url`` on this server.

Outages: ``fail_for`` answers a method with an HTTP error (500, or 429 with ``Retry-After``)
for some seconds; ``hang_for`` holds its calls unanswered for some seconds, then carries
them out (a slow platform: the message may land after the client gave up); ``recover``
ends an outage at once. Their seconds run on ``outage_clock`` (the emulator's ``clock``
unless given: a test's simulated time makes a 30-second outage cost no real time).
A ``ts_clock`` (seconds since the epoch) makes ``ts`` follow a test's simulated time.

Socket Mode: ``apps.connections.open`` hands out a websocket URL on this server; a test
pushes envelopes with ``push_envelope`` and gets the app's acknowledgement back.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

BOT_USER = "UBOT"
"""The app's bot user in every workspace (``auth.test``, ``oauth.v2.access``)."""


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    token: str | None
    at: float
    result: dict[str, Any] | None = None
    """What the emulator answered (a posted message's ``ts``, an upload's ``file_id``)."""

    @property
    def where(self) -> Any:
        """The conversation the call landed in: as Slack answered it (a post to a user id lands in their DM,
        ``D…``), else as it was asked."""
        return (self.result or {}).get("channel") or self.params.get("channel")


@dataclass
class User:
    id: str
    name: str
    tz: str | None
    team_id: str = "T0001"
    is_admin: bool = False
    email: str | None = None
    status_emoji: str = ""
    status_text: str = ""
    status_expiration: int = 0
    """Unix seconds when Slack clears the status; 0: never."""


@dataclass
class File:
    id: str
    name: str
    title: str
    user: str
    created: int
    content: bytes | None = None
    length: int = 0
    channels: list[str] = field(default_factory=list)
    thread_ts: str | None = None
    initial_comment: str | None = None

    @property
    def text(self) -> str:
        return (self.content or b"").decode("utf-8")

    @property
    def filetype(self) -> str:
        return self.name.rpartition(".")[2].lower() if "." in self.name else "text"


MIME = {"csv": "text/csv", "ics": "text/calendar", "txt": "text/plain"}


@dataclass
class _Limit:
    per_second: int
    origin: float | None = None
    window: int = -1
    used: int = 0
    refuse_next: int = 0
    """Refuse this many calls outright (a storm) before the per-second limit applies."""
    retry_after: int = 1


@dataclass
class _Outage:
    kind: str
    """error (answer ``status``) | hang (answer nothing until ``until``, then carry the call out)"""
    until: float
    status: int = 500
    retry_after: int = 1


@dataclass
class Socket:
    ws: web.WebSocketResponse
    acks: dict[str, asyncio.Future[dict[str, Any]]] = field(default_factory=dict)


class SlackEmulator:
    def __init__(self, clock: Callable[[], float] = time.monotonic,
                 ts_clock: Callable[[], float] | None = None,
                 outage_clock: Callable[[], float] | None = None) -> None:
        self.outages: dict[str, _Outage] = {}
        self._outage_clock = outage_clock or clock
        self.users: dict[str, User] = {}
        self.recorded: list[Call] = []
        self.limits: dict[str, _Limit] = {}
        self.oauth_codes: dict[str, dict[str, Any]] = {}
        self.auth_failures: set[str] = set()
        self.failures: dict[str, str] = {}
        self.files: dict[str, File] = {}
        self._file_ids = itertools.count(1)
        self._clock = clock
        self._ts_clock = ts_clock
        self._ts = itertools.count(1)
        self.messages: dict[str, list[dict[str, Any]]] = {}
        """Channel id → the messages posted there (thread replies included), oldest first."""
        self.answers_to_lose: dict[str, int] = {}
        self._runner: web.AppRunner | None = None
        self._sockets: list[Socket] = []
        self._socket_ready = asyncio.Event()
        self.port = 0

    # --- configuration --------------------------------------------------------------
    def add_user(self, user_id: str, name: str, tz: str | None, team_id: str = "T0001", is_admin: bool = False) -> None:
        self.users[user_id] = User(user_id, name, tz, team_id, is_admin)

    def set_status(self, user_id: str, emoji: str = "", text: str = "", expiration: int = 0) -> dict[str, Any]:
        """Set a person's status as Slack would, and return the ``user_change`` event Slack sends for it."""
        user = self.users[user_id]
        user.status_emoji, user.status_text, user.status_expiration = emoji, text, expiration
        return {"type": "user_change", "user": self.user_object(user), "cache_ts": int(self._clock()),
                "event_ts": f"{self._clock():.6f}"}

    def user_object(self, user: User) -> dict[str, Any]:
        """The ``user`` object of ``users.info`` and of ``user_change`` events."""
        offset = 0
        if user.tz:
            from datetime import datetime
            from zoneinfo import ZoneInfo
            delta = datetime.now(ZoneInfo(user.tz)).utcoffset()
            offset = int(delta.total_seconds()) if delta else 0
        return {
            "id": user.id, "team_id": user.team_id, "name": user.name.lower(), "real_name": user.name,
            "tz": user.tz, "tz_label": user.tz or "", "tz_offset": offset, "is_admin": user.is_admin,
            "is_bot": False, "deleted": False,
            "profile": {"real_name": user.name, "display_name": user.name, "email": user.email,
                        "status_emoji": user.status_emoji, "status_text": user.status_text,
                        "status_expiration": user.status_expiration, "status_emoji_display_info": []}}

    def rate_limit(self, method: str, per_second: int, retry_after: int = 1, storm: int = 0) -> None:
        """Allow ``per_second`` calls of ``method`` per one-second window; refuse ``storm`` calls first."""
        self.limits[method] = _Limit(per_second=per_second, retry_after=retry_after, refuse_next=storm)

    def fail(self, method: str, error: str = "missing_scope") -> None:
        """Answer every call of ``method`` with ``{"ok": false, "error": error}``."""
        self.failures[method] = error

    def fail_for(self, method: str, seconds: float, status: int = 500, retry_after: int = 1) -> None:
        """Answer every call of ``method`` with HTTP ``status`` for ``seconds`` (a 429 says ``Retry-After``)."""
        self.outages[method] = _Outage("error", self._outage_clock() + seconds, status, retry_after)

    def hang_for(self, method: str, seconds: float) -> None:
        """Hold every call of ``method`` unanswered for ``seconds``, then carry it out and answer."""
        self.outages[method] = _Outage("hang", self._outage_clock() + seconds)

    def recover(self, method: str) -> None:
        """End ``method``'s outage now: held calls are carried out."""
        self.outages.pop(method, None)

    def _outage(self, method: str) -> _Outage | None:
        outage = self.outages.get(method)
        if outage is not None and self._outage_clock() >= outage.until:
            del self.outages[method]
            return None
        return outage

    async def _held(self, method: str) -> None:
        """Wait out a hang of ``method`` (the caller may give up meanwhile; the call is carried out anyway)."""
        while (outage := self._outage(method)) is not None and outage.kind == "hang":
            await asyncio.sleep(0.01)

    def lose_answers(self, method: str, count: int = 1) -> None:
        """Do the next ``count`` calls of ``method``, then cut the connection before answering."""
        self.answers_to_lose[method] = count

    def posted(self, channel: str | None = None) -> list[dict[str, Any]]:
        """Every message posted (in ``channel``), oldest first, as Slack stores it."""
        return [m for c, msgs in self.messages.items() if channel is None or c == channel for m in msgs]

    def say(self, user: str, channel: str, text: str, thread_ts: str | None = None,
            team: str = "T0001") -> list[dict[str, Any]]:
        """A person posts ``text`` in ``channel`` (a thread reply with ``thread_ts``): the events Slack sends."""
        ts = self._next_ts()
        message: dict[str, Any] = {
            "type": "message", "text": text, "user": user, "ts": ts, "team": team,
            "client_msg_id": str(uuid.uuid4()),
            "blocks": [{"type": "rich_text", "block_id": uuid.uuid4().hex[:5],
                        "elements": [{"type": "rich_text_section", "elements": [{"type": "text", "text": text}]}]}]}
        if thread_ts:
            message["thread_ts"] = thread_ts
        self.messages.setdefault(channel, []).append(message)
        kind = "im" if channel.startswith("D") else "group" if channel.startswith("G") else "channel"
        events = [{**message, "channel": channel, "event_ts": ts, "channel_type": kind}]
        if f"<@{BOT_USER}>" in text and kind != "im":  # Slack sends no app_mention for a DM
            events.append({**message, "type": "app_mention", "channel": channel, "event_ts": ts})
        return events

    def message_shortcut(self, callback_id: str, user: str, channel: str, ts: str,
                         team: str = "T0001") -> dict[str, Any]:
        """The ``message_action`` payload for ``user`` picking the shortcut ``callback_id`` on message ``ts``."""
        message = next(m for m in self.messages.get(channel, []) if m["ts"] == ts)
        person = self.users.get(user)
        name = person.name.lower() if person else user.lower()
        return {
            "type": "message_action", "token": "legacy", "action_ts": f"{time.time():.6f}",
            "team": {"id": team, "domain": "acme"}, "user": {"id": user, "username": name, "name": name,
                                                              "team_id": team},
            "channel": {"id": channel, "name": "ml-team"}, "is_enterprise_install": False, "enterprise": None,
            "callback_id": callback_id, "trigger_id": f"{uuid.uuid4().int % 10**12}.{uuid.uuid4().hex[:8]}",
            "response_url": self.response_url(), "message_ts": ts, "message": dict(message)}

    def share_file(self, user: str, channel: str, name: str, content: bytes | str) -> str:
        """A person uploads a file into a channel (as Slack's own client would); returns its id."""
        data = content.encode("utf-8") if isinstance(content, str) else content
        file = self._new_file(name, name, user, len(data))
        file.content, file.channels = data, [channel]
        return file.id

    def uploaded(self, channel: str | None = None) -> list[File]:
        """The files the app uploaded and shared, oldest first."""
        return [f for f in self.files.values() if f.user == "UBOT" and f.channels
                and (channel is None or channel in f.channels)]

    def add_oauth_code(self, code: str, team_id: str, bot_token: str, enterprise_id: str | None = None) -> None:
        self.oauth_codes[code] = {"team_id": team_id, "bot_token": bot_token, "enterprise_id": enterprise_id}

    # --- what the app did -------------------------------------------------------------
    def calls(self, method: str | None = None) -> list[Call]:
        return [c for c in self.recorded if method is None or c.method == method]

    def reset(self) -> None:
        self.recorded.clear()

    def response_url(self, name: str = "") -> str:
        return f"http://127.0.0.1:{self.port}/response/{name or uuid.uuid4().hex}"

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

    # --- lifecycle --------------------------------------------------------------------
    async def _dump_calls(self, request: web.Request) -> web.Response:
        """Every recorded call, for a test or benchmark that runs this emulator in another process."""
        return web.json_response([{"method": c.method, "params": c.params, "token": c.token, "at": c.at,
                                   "where": c.where}
                                  for c in self.recorded])

    async def _count_calls(self, request: web.Request) -> web.Response:
        """How many calls of each method were recorded: cheap to poll while thousands are."""
        counts: dict[str, int] = {}
        for call in self.recorded:
            counts[call.method] = counts.get(call.method, 0) + 1
        return web.json_response(counts)

    async def start(self, port: int = 0) -> str:
        app = web.Application()
        app.router.add_post("/api/{method}", self._api)
        app.router.add_get("/api/{method}", self._api)
        app.router.add_post("/response/{name}", self._response)
        app.router.add_post("/upload/{file_id}", self._upload)
        app.router.add_get("/files-pri/{file_id}/download/{name}", self._download)
        app.router.add_get("/socket", self._socket)
        app.router.add_get("/_emulator/calls", self._dump_calls)
        app.router.add_get("/_emulator/counts", self._count_calls)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        server = site._server
        assert server is not None and server.sockets  # type: ignore[union-attr]
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self.api_url

    async def stop(self) -> None:
        for sock in self._sockets:
            await sock.ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> SlackEmulator:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # --- Socket Mode ------------------------------------------------------------------
    async def wait_for_socket(self, timeout: float = 10.0) -> None:
        await asyncio.wait_for(self._socket_ready.wait(), timeout)

    async def push_envelope(self, kind: str, payload: dict[str, Any], timeout: float = 10.0) -> dict[str, Any]:
        """Send one envelope (``slash_commands``, ``events_api``, ``interactive``); return the app's ack."""
        await self.wait_for_socket(timeout)
        sock = self._sockets[-1]
        envelope_id = uuid.uuid4().hex
        done: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        sock.acks[envelope_id] = done
        await sock.ws.send_json({"envelope_id": envelope_id, "type": kind, "payload": payload,
                                 "accepts_response_payload": kind != "events_api", "retry_attempt": 0,
                                 "retry_reason": ""})
        return await asyncio.wait_for(done, timeout)

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        sock = Socket(ws)
        self._sockets.append(sock)
        await ws.send_json({"type": "hello", "num_connections": 1,
                            "debug_info": {"host": "emulator", "approximate_connection_time": 3600}})
        self._socket_ready.set()
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            data = json.loads(msg.data)
            waiter = sock.acks.pop(data.get("envelope_id", ""), None)
            if waiter is not None and not waiter.done():
                waiter.set_result(data)
        return ws

    # --- HTTP -------------------------------------------------------------------------
    async def _response(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.recorded.append(Call("response_url", {"name": request.match_info["name"], **body}, None, self._clock()))
        return web.Response(text="ok")

    async def _upload(self, request: web.Request) -> web.Response:
        """Step two of an upload: the raw bytes, POSTed to the URL ``files.getUploadURLExternal`` gave out."""
        file = self.files.get(request.match_info["file_id"])
        data = await request.read()
        self.recorded.append(Call("file_upload", {"file_id": request.match_info["file_id"], "bytes": len(data)},
                                  None, self._clock()))
        if file is None or file.content is not None:
            return web.Response(status=404, text="upload URL not found or already used")
        file.content = data
        return web.Response(text=f"OK - {len(data)}")

    async def _download(self, request: web.Request) -> web.Response:
        """``url_private_download``: Slack answers a request without a valid token with its HTML login page."""
        token = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        file = self.files.get(request.match_info["file_id"])
        self.recorded.append(Call("file_download", {"file_id": request.match_info["file_id"]}, token or None,
                                  self._clock()))
        if not token.startswith("xoxb-") or token in self.auth_failures:
            return web.Response(text="<html><body>Sign in to Slack</body></html>", content_type="text/html")
        if file is None or file.content is None:
            return web.Response(status=404, text="not found")
        return web.Response(body=file.content, content_type=MIME.get(file.filetype, "application/octet-stream"))

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params: dict[str, Any] = dict(request.query)
        if request.can_read_body:
            if request.content_type == "application/json":
                params.update(await request.json())
            else:
                params.update(dict(await request.post()))
        auth = request.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ").strip() or params.pop("token", None)
        limited = self._limited(method)
        if limited is not None:
            self.recorded.append(Call(f"{method}#429", params, token, self._clock()))
            return web.json_response({"ok": False, "error": "ratelimited"}, status=429,
                                     headers={"Retry-After": str(limited)})
        outage = self._outage(method)
        if outage is not None and outage.kind == "error":
            self.recorded.append(Call(f"{method}#{outage.status}", params, token, self._clock()))
            headers = {"Retry-After": str(outage.retry_after)} if outage.status == 429 else {}
            return web.json_response({"ok": False, "error": "ratelimited" if outage.status == 429 else "fatal_error"},
                                     status=outage.status, headers=headers)
        if outage is not None:
            self.recorded.append(Call(f"{method}#held", params, token, self._clock()))
            await self._held(method)
        call = Call(method, params, token, self._clock())
        self.recorded.append(call)
        if token in self.auth_failures:
            return web.json_response({"ok": False, "error": "invalid_auth"})
        if method in self.failures:
            return web.json_response({"ok": False, "error": self.failures[method]})
        handler = getattr(self, "_m_" + method.replace(".", "_"), None)
        if handler is None:
            return web.json_response({"ok": False, "error": "unknown_method"}, status=404)
        call.result = handler(params, token)
        if self.answers_to_lose.get(method, 0) > 0:
            self.answers_to_lose[method] -= 1
            if request.transport is not None:
                request.transport.close()
            raise ConnectionResetError("answer lost on purpose")
        return web.json_response(call.result)

    def _limited(self, method: str) -> int | None:
        limit = self.limits.get(method)
        if limit is None:
            return None
        if limit.refuse_next > 0:
            limit.refuse_next -= 1
            return limit.retry_after
        now = self._clock()
        if limit.origin is None:
            limit.origin = now
        window = math.floor(now - limit.origin)
        if window != limit.window:
            limit.window, limit.used = window, 0
        if limit.used >= limit.per_second:
            return max(1, math.ceil(limit.origin + window + 1 - now))
        limit.used += 1
        return None

    def _next_ts(self) -> str:
        if self._ts_clock is not None:
            return f"{int(self._ts_clock())}.{next(self._ts):06d}"
        return f"{1_790_000_000 + next(self._ts)}.{next(self._ts):06d}"

    # --- methods ----------------------------------------------------------------------
    def _team_of(self, token: str | None) -> str:
        if token and token.startswith("xoxb-"):
            parts = token.split("-")
            if len(parts) > 1 and parts[1].startswith(("T", "E")):
                return parts[1]
        return "T0001"

    def _m_auth_test(self, params: dict[str, Any], token: str | None) -> dict[str, Any]:
        team = self._team_of(token)
        return {"ok": True, "url": "https://example.slack.com/", "team": "Example", "user": "meridian",
                "team_id": team, "user_id": "UBOT", "bot_id": "BBOT", "is_enterprise_install": False}

    def _m_chat_postMessage(self, params: dict[str, Any], token: str | None) -> dict[str, Any]:
        channel = params.get("channel")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        if not params.get("text") and not params.get("blocks"):
            return {"ok": False, "error": "no_text"}
        if isinstance(params.get("blocks"), list) and len(params["blocks"]) > 50:
            return {"ok": False, "error": "invalid_blocks"}
        if str(channel).startswith(("U", "W")):
            channel = "D" + str(channel)[1:]
        return {"ok": True, **self._store_message(str(channel), params, params.get("thread_ts") or None)}

    def _store_message(self, channel: str, params: dict[str, Any], thread: str | None) -> dict[str, Any]:
        ts = self._next_ts()
        message: dict[str, Any] = {"type": "message", "text": params.get("text", ""), "ts": ts, "bot_id": "BBOT",
                                   "user": "UBOT"}
        if params.get("blocks"):
            message["blocks"] = _as_blocks(params["blocks"])
        if thread:
            message["thread_ts"] = thread
        if params.get("metadata"):
            message["metadata"] = _as_json(params["metadata"])
        self.messages.setdefault(channel, []).append(message)
        return {"channel": channel, "ts": ts, "message": message}

    def _m_conversations_history(self, params: dict[str, Any], token: str | None) -> dict[str, Any]:
        """Top-level messages newest first, as Slack answers; thread replies stay in their thread."""
        channel = str(params.get("channel") or "")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        found = [m for m in self.messages.get(channel, []) if m.get("thread_ts") in (None, m["ts"])]
        return self._page(list(reversed(found)), params)

    def _m_conversations_replies(self, params: dict[str, Any], token: str | None) -> dict[str, Any]:
        """A thread, parent first, as Slack answers."""
        channel, parent = str(params.get("channel") or ""), str(params.get("ts") or "")
        thread = [m for m in self.messages.get(channel, []) if m["ts"] == parent or m.get("thread_ts") == parent]
        if not thread:
            return {"ok": False, "error": "thread_not_found"}
        return self._page(thread, params)

    def _page(self, messages: list[dict[str, Any]], params: dict[str, Any]) -> dict[str, Any]:
        oldest = float(params.get("oldest") or 0)
        inclusive = _truthy(params.get("inclusive"))
        wanted = [m for m in messages if float(m["ts"]) > oldest or (inclusive and float(m["ts"]) == oldest)]
        start, limit = int(params.get("cursor") or 0), int(params.get("limit") or 100)
        page = wanted[start:start + limit]
        if not _truthy(params.get("include_all_metadata")):
            page = [{k: v for k, v in m.items() if k != "metadata"} for m in page]
        more = start + limit < len(wanted)
        return {"ok": True, "messages": page, "has_more": more, "pin_count": 0,
                "response_metadata": {"next_cursor": str(start + limit) if more else ""}}

    def _m_chat_update(self, params: dict[str, Any], token: str | None) -> dict[str, Any]:
        return {"ok": True, "channel": params.get("channel"), "ts": params.get("ts"), "text": params.get("text", "")}

    def _m_chat_getPermalink(self, params: dict[str, Any], token: str | None) -> dict[str, Any]:
        """A message's permalink as Slack gives it (workspace domain, channel, ``p`` and the ts without its dot)."""
        channel, ts = str(params.get("channel") or ""), str(params.get("message_ts") or "")
        if not any(m["ts"] == ts for m in self.messages.get(channel, [])):
            return {"ok": False, "error": "message_not_found"}
        return {"ok": True, "channel": channel,
                "permalink": f"https://acme.slack.com/archives/{channel}/p{ts.replace('.', '')}"}

    def _m_chat_postEphemeral(self, params: dict[str, Any], token: str | None) -> dict[str, Any]:
        return {"ok": True, "message_ts": self._next_ts()}

    def _m_conversations_open(self, params: dict[str, Any], token: str | None) -> dict[str, Any]:
        users = str(params.get("users", ""))
        if not users:
            return {"ok": False, "error": "users_list_not_supplied"}
        return {"ok": True, "channel": {"id": "D" + users.split(",")[0][1:]}}

    def _m_users_info(self, params: dict[str, Any], token: str | None) -> dict[str, Any]:
        user = self.users.get(str(params.get("user", "")))
        if user is None:
            return {"ok": False, "error": "user_not_found"}
        return {"ok": True, "user": self.user_object(user)}

    def _m_views_open(self, params: dict[str, Any], token: str | None) -> dict[str, Any]:
        if not params.get("trigger_id"):
            return {"ok": False, "error": "invalid_trigger_id"}
        view = _as_json(params.get("view"))
        return {"ok": True, "view": {"id": "V" + uuid.uuid4().hex[:10].upper(), **view}}

    def _m_views_update(self, params: dict[str, Any], token: str | None) -> dict[str, Any]:
        return {"ok": True, "view": {"id": params.get("view_id", "V1"), **_as_json(params.get("view"))}}

    def _m_views_publish(self, params: dict[str, Any], token: str | None) -> dict[str, Any]:
        if not params.get("user_id"):
            return {"ok": False, "error": "invalid_arguments"}
        return {"ok": True, "view": {"id": "V" + uuid.uuid4().hex[:10].upper(), **_as_json(params.get("view"))}}

    # --- files ------------------------------------------------------------------------
    def _new_file(self, name: str, title: str, user: str, length: int) -> File:
        file = File(f"F{next(self._file_ids):08d}", name, title, user, created=len(self.files) + 1, length=length)
        self.files[file.id] = file
        return file

    def _file_object(self, file: File) -> dict[str, Any]:
        private = f"http://127.0.0.1:{self.port}/files-pri/{file.id}/download/{file.name}"
        return {"id": file.id, "created": 1_790_000_000 + file.created, "timestamp": 1_790_000_000 + file.created,
                "name": file.name, "title": file.title, "mimetype": MIME.get(file.filetype, "application/octet-stream"),
                "filetype": file.filetype, "user": file.user, "size": len(file.content or b""),
                "url_private": private, "url_private_download": private, "channels": list(file.channels),
                "is_public": True}

    def _m_files_getUploadURLExternal(self, params: dict[str, Any], token: str | None) -> dict[str, Any]:
        filename = str(params.get("filename") or "")
        try:
            length = int(params.get("length") or 0)
        except ValueError:
            length = 0
        if not filename or length <= 0:
            return {"ok": False, "error": "invalid_arguments"}
        file = self._new_file(filename, filename, "UBOT", length)
        return {"ok": True, "upload_url": f"http://127.0.0.1:{self.port}/upload/{file.id}", "file_id": file.id}

    def _m_files_completeUploadExternal(self, params: dict[str, Any], token: str | None) -> dict[str, Any]:
        try:
            wanted = _as_list(params.get("files"))
        except ValueError:
            return {"ok": False, "error": "invalid_arguments"}
        thread = params.get("thread_ts") or None
        channel = params.get("channel_id") or None
        if thread and not channel:
            return {"ok": False, "error": "invalid_arguments"}
        done = []
        for entry in wanted:
            file = self.files.get(str(entry.get("id", "")))
            if file is None or file.content is None or len(file.content) != file.length:
                return {"ok": False, "error": "file_not_found" if file is None else "upload_incomplete"}
            file.title = str(entry.get("title") or file.name)
            if channel:
                file.channels, file.thread_ts = [str(channel)], thread
            file.initial_comment = params.get("initial_comment") or None
            done.append({"id": file.id, "title": file.title})
        return {"ok": True, "files": done}

    def _m_files_list(self, params: dict[str, Any], token: str | None) -> dict[str, Any]:
        """Newest first, as Slack lists them; ``channel`` and ``user`` filter."""
        channel, user = params.get("channel"), params.get("user")
        found = [f for f in self.files.values() if f.content is not None and f.channels
                 and (not channel or channel in f.channels) and (not user or f.user == user)]
        found.sort(key=lambda f: f.created, reverse=True)
        count = int(params.get("count") or 100)
        return {"ok": True, "files": [self._file_object(f) for f in found[:count]],
                "paging": {"count": count, "total": len(found), "page": 1, "pages": 1}}

    def _m_files_info(self, params: dict[str, Any], token: str | None) -> dict[str, Any]:
        file = self.files.get(str(params.get("file", "")))
        if file is None or file.content is None:
            return {"ok": False, "error": "file_not_found"}
        return {"ok": True, "file": self._file_object(file)}

    def _m_apps_connections_open(self, params: dict[str, Any], token: str | None) -> dict[str, Any]:
        if not token or not token.startswith("xapp-"):
            return {"ok": False, "error": "not_allowed_token_type"}
        return {"ok": True, "url": f"ws://127.0.0.1:{self.port}/socket"}

    def _m_oauth_v2_access(self, params: dict[str, Any], token: str | None) -> dict[str, Any]:
        grant = self.oauth_codes.pop(str(params.get("code", "")), None)
        if grant is None:
            return {"ok": False, "error": "invalid_code"}
        enterprise = grant["enterprise_id"]
        return {"ok": True, "access_token": grant["bot_token"], "token_type": "bot",
                "scope": "commands,chat:write,im:write,users:read", "bot_user_id": "UBOT",
                "app_id": "A0001", "team": {"id": grant["team_id"], "name": f"Team {grant['team_id']}"},
                "enterprise": {"id": enterprise, "name": "Org"} if enterprise else None,
                "is_enterprise_install": False, "authed_user": {"id": "UINSTALLER"}}


def _truthy(raw: Any) -> bool:
    return str(raw).lower() in {"1", "true"}


def _as_blocks(raw: Any) -> list[Any]:
    parsed = json.loads(raw) if isinstance(raw, str) else raw
    return list(parsed or [])


def _as_list(raw: Any) -> list[dict[str, Any]]:
    parsed = json.loads(raw) if isinstance(raw, str) else raw
    if not isinstance(parsed, list):
        raise ValueError("not a list")
    return [dict(p) for p in parsed]


def _as_json(raw: Any) -> dict[str, Any]:
    if isinstance(raw, str):
        parsed: dict[str, Any] = json.loads(raw)
        return parsed
    return dict(raw or {})


async def _serve_forever(port: int, limits: list[str], admins: list[str]) -> None:
    emulator = SlackEmulator()
    for spec in limits:
        method, _, rate = spec.partition("=")
        emulator.rate_limit(method, per_second=int(rate))
    for user in admins:
        emulator.add_user(user, user, "Europe/Berlin", is_admin=True)
    await emulator.start(port)
    print(emulator.api_url, flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="A local Slack Web API for tests and benchmarks.")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--rate-limit", action="append", default=[], metavar="METHOD=PER_SECOND")
    parser.add_argument("--admin", action="append", default=[], metavar="USER_ID",
                        help="a workspace admin in Europe/Berlin that users.info knows")
    args = parser.parse_args()
    asyncio.run(_serve_forever(args.port, args.rate_limit, args.admin))
