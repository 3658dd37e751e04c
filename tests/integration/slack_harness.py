"""The real Slack app on a loopback port, the Web API emulator, and requests signed as Slack signs them.

``SlackHarness`` runs the core (SQLite store, simulated clock) with the Slack adapter
mounted on an aiohttp server, pointed at ``tests.emulators.slack`` through
``SLACK_API_URL``. Tests send form-encoded slash commands, JSON events and
``payload=`` interactivity exactly as Slack does, then look at what reached the
emulator. Work runs after the acknowledgement, so ``until`` waits for it to land.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
from aiohttp import web

from adapters.slack.app import SlackAdapter, build_slack, slack_chat
from adapters.slack.config import SlackConfig
from adapters.web.hooks import add_hook_routes
from bot.bootstrap import Installed, assemble, open_store
from bot.kernel.app import Meridian
from bot.kernel.clock import SimulatedClock
from bot.kernel.engine import Engine
from bot.settings import Settings
from storage.db import make_engine
from storage.slack.repo import SlackRepo
from tests.emulators.slack import SlackEmulator

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"


def signature(body: str, timestamp: int, secret: str = SECRET) -> str:
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def signed_headers(body: str, content_type: str, timestamp: int | None = None, secret: str = SECRET) -> dict[str, str]:
    ts = int(time.time()) if timestamp is None else timestamp
    return {"Content-Type": content_type, "X-Slack-Request-Timestamp": str(ts),
            "X-Slack-Signature": signature(body, ts, secret)}


def command_form(text: str, user: str, team: str, command: str, channel: str, response_url: str) -> dict[str, str]:
    """A slash command's form fields, as Slack posts them."""
    return {"token": "legacy", "team_id": team, "team_domain": "acme", "channel_id": channel,
            "channel_name": "ml-team", "user_id": user, "user_name": user.lower(), "command": command,
            "text": text, "api_app_id": "A0001", "is_enterprise_install": "false", "response_url": response_url,
            "trigger_id": f"{uuid.uuid4().int % 10**12}.{uuid.uuid4().hex[:8]}"}


def block_actions(button: dict[str, Any], user: str, team: str, channel: str, response_url: str) -> dict[str, Any]:
    """The ``block_actions`` payload Slack sends when ``user`` presses ``button`` (its Block Kit element)."""
    return {
        "type": "block_actions", "team": {"id": team, "domain": "acme"}, "user": {"id": user, "team_id": team},
        "api_app_id": "A0001", "trigger_id": f"{uuid.uuid4().int % 10**12}.trigger",
        "container": {"type": "message", "channel_id": channel, "message_ts": "1.1"},
        "channel": {"id": channel}, "response_url": response_url,
        "actions": [{"type": "button", "action_id": button["action_id"], "block_id": "b",
                     "value": button.get("value", ""), "action_ts": "1.2"}]}


class SlackHarness:
    def __init__(self, tmp: Path, start: datetime, env: dict[str, str] | None = None,
                 socket_mode: bool = False, hook_token: str | None = None) -> None:
        self.hook_token = hook_token
        """When given, ``meridian serve``'s webhook routes (``/hooks/…``) are mounted too, with this bearer token."""
        self.socket_mode = socket_mode
        self.socket: Any = None
        self.tmp = tmp
        self.clock = SimulatedClock(start)
        sim_seconds = lambda: self.clock.now().timestamp()  # noqa: E731
        # Slack's ts and its outages follow our simulated time
        self.emulator = SlackEmulator(ts_clock=sim_seconds, outage_clock=sim_seconds)
        self.env = env or {"SLACK_SIGNING_SECRET": SECRET, "SLACK_BOT_TOKEN": "xoxb-T0001-test"}
        self.app: Meridian
        self.installed: Installed
        self.adapter: SlackAdapter
        self.engine: Engine
        self.url = ""
        self._runner: web.AppRunner | None = None
        self.session: aiohttp.ClientSession

    async def __aenter__(self) -> SlackHarness:
        api = await self.emulator.start()
        db = f"sqlite:///{self.tmp / 'meridian.db'}"
        store = open_store(db)
        repo = SlackRepo(make_engine(db))
        config = SlackConfig.from_env({**self.env, "SLACK_API_URL": api}, socket_mode=self.socket_mode)
        assert config is not None
        chat = slack_chat(config, repo)
        self.app, self.installed = assemble(store, self.clock, {"slack": chat}, worker="test", attach=[chat.attach])
        self.adapter = build_slack(self.app, config, repo, chat, socket_mode=self.socket_mode)
        if self.socket_mode:
            self.socket = await self.adapter.start_socket_mode()
        self.engine = self.app.engine
        web_app = web.Application()
        self.adapter.mount(web_app)
        if self.hook_token:
            add_hook_routes(web_app, self.app, Settings(webhook_token=self.hook_token), self.installed.digests.registry)
        self._runner = web.AppRunner(web_app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        self.session = aiohttp.ClientSession()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.sleep(0.05)
        if self.hook_token:
            registry = self.installed.digests.registry
            for workspace in registry.configured():
                service = registry.get(workspace)
                if service is not None:
                    await service.close()
        await self.session.close()
        if self.socket is not None:
            await self.socket.close_async()
            await self.adapter.ack_first.drain()
            await self.adapter.chat.close()
        if self._runner is not None:
            await self._runner.cleanup()
        await self.emulator.stop()

    # --- waiting for work done after the ack ------------------------------------------
    async def until(self, condition: Callable[[], bool], timeout: float = 10.0) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while not condition():
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError("the expected Slack calls never happened")
            await asyncio.sleep(0.02)

    async def settle(self, quiet: float = 0.3) -> None:
        """Wait until no new call reached the emulator for ``quiet`` seconds."""
        seen = -1
        while seen != len(self.emulator.recorded):
            seen = len(self.emulator.recorded)
            await asyncio.sleep(quiet)

    # --- requests as Slack sends them ---------------------------------------------------
    async def post(self, body: str, content_type: str, headers: dict[str, str] | None = None,
                   timestamp: int | None = None, secret: str = SECRET) -> tuple[int, str]:
        sent = {**signed_headers(body, content_type, timestamp, secret), **(headers or {})}
        async with self.session.post(f"{self.url}/slack/events", data=body.encode(), headers=sent) as resp:
            return resp.status, await resp.text()

    async def command(self, text: str = "", user: str = "U0ALICE", team: str = "T0001", command: str = "/standup",
                      channel: str = "C0TEAM", **kwargs: Any) -> tuple[int, str]:
        form = command_form(text, user, team, command, channel, self.emulator.response_url(uuid.uuid4().hex))
        return await self.post(urlencode(form), "application/x-www-form-urlencoded", **kwargs)

    def event_body(self, event: dict[str, Any], team: str = "T0001", event_id: str | None = None) -> str:
        return json.dumps({"token": "legacy", "team_id": team, "api_app_id": "A0001", "event": event,
                           "type": "event_callback", "event_id": event_id or f"Ev{uuid.uuid4().hex[:10].upper()}",
                           "event_time": int(time.time()),
                           "authorizations": [{"enterprise_id": None, "team_id": team, "user_id": "UBOT",
                                               "is_bot": True, "is_enterprise_install": False}]})

    async def event(self, event: dict[str, Any], team: str = "T0001", event_id: str | None = None,
                    retry: int | None = None) -> tuple[int, str]:
        headers = {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"} if retry else None
        return await self.post(self.event_body(event, team, event_id), "application/json", headers=headers)

    async def say(self, user: str, channel: str, text: str, thread: str | None = None,
                  team: str = "T0001") -> str:
        """A person posts in a channel: every event Slack sends for it (a mention of Meridian is two), each
        with its own event id, as Slack delivers them. Returns the message's ``ts``."""
        events = self.emulator.say(user, channel, text, thread, team)
        for event in events:
            status, _ = await self.event(event, team)
            assert status == 200
        return str(events[0]["ts"])

    async def shortcut(self, callback_id: str, user: str, channel: str, ts: str,
                       team: str = "T0001") -> tuple[int, str]:
        """A person picks a message shortcut on the message ``ts``: Slack's ``message_action`` payload."""
        return await self.interact(self.emulator.message_shortcut(callback_id, user, channel, ts, team))

    async def hook(self, path: str, body: dict[str, Any], workspace: str = "T0001") -> tuple[int, Any]:
        """A webhook delivered as Alertmanager delivers it (bearer token, JSON)."""
        async with self.session.post(f"{self.url}{path}?workspace={workspace}", json=body,
                                     headers={"Authorization": f"Bearer {self.hook_token}"}) as resp:
            return resp.status, await resp.json()

    async def interact(self, payload: dict[str, Any]) -> tuple[int, str]:
        return await self.post(urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded")

    async def press(self, button: dict[str, Any], user: str, team: str = "T0001",
                    channel: str = "D0ALICE") -> tuple[int, str]:
        return await self.interact(block_actions(button, user, team, channel, self.emulator.response_url()))

    async def submit(self, view: dict[str, Any], values: dict[str, str], user: str,
                     team: str = "T0001") -> tuple[int, str]:
        """Fill a modal's inputs (by input id) and submit it as Slack does."""
        state: dict[str, Any] = {}
        for block in view["blocks"]:
            element = block["element"]
            kind = element["type"]
            value = values.get(block["block_id"], "")
            if kind == "conversations_select":
                entry = {"type": kind, "selected_conversation": value}
            elif kind == "timepicker":
                entry = {"type": kind, "selected_time": value}
            elif kind == "multi_users_select":
                entry = {"type": kind, "selected_users": [v for v in value.split(",") if v]}
            else:
                entry = {"type": kind, "value": value}
            state[block["block_id"]] = {element["action_id"]: entry}
        submitted = {**view, "id": "V1", "team_id": team, "state": {"values": state}}
        return await self.interact({"type": "view_submission", "team": {"id": team, "domain": "acme"},
                                    "user": {"id": user, "team_id": team}, "api_app_id": "A0001",
                                    "trigger_id": f"{uuid.uuid4().int % 10**12}.submit", "view": submitted})
