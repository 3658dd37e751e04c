"""A local Bot Connector (the Teams side of the Bot Framework REST API v3) for tests.

It answers what Meridian's Teams adapter calls — create a conversation, send to a
conversation, reply to an activity, update an activity, get a member — records every
call, and can be told to answer ``429 Too Many Requests`` with ``Retry-After`` so tests
see rate limits honoured. Ids look like the real ones (``a:…`` for a 1:1 chat, numeric
activity ids), and a 1:1 chat with the same user always gets the same id, as in Teams.

It also builds the activities Teams POSTs to a bot (``message``, ``conversationUpdate``,
``invoke``), with the fields the real service sends and ``serviceUrl`` pointing here.
"""

from __future__ import annotations

import html
import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

BOT_ID = "28:meridian-bot"
BOT_NAME = "Meridian"


@dataclass
class Call:
    """One request the bot made to the connector."""

    method: str
    kind: str
    """create | send | reply | update | member"""
    conversation: str | None
    activity_id: str | None
    body: dict[str, Any]
    status: int = 200
    answered_id: str | None = None
    at: datetime | None = None
    """The test's clock when the call arrived (a simulated clock in scheduler tests)."""

    @property
    def card(self) -> dict[str, Any] | None:
        for att in self.body.get("attachments") or []:
            if att.get("contentType") == "application/vnd.microsoft.card.adaptive":
                content: dict[str, Any] = att["content"]
                return content
        return None

    @property
    def card_text(self) -> str:
        """Every TextBlock, FactSet and button of the card, in order, one per line."""
        card = self.card
        return "\n".join(_texts(card["body"] + card.get("actions", []))) if card else ""

    @property
    def shown(self) -> str:
        """The card's text as a reader sees it: Markdown escapes and entities resolved, emphasis dropped."""
        text = re.sub(r"\\([\\`*_\[\]~])", lambda m: "\0" + m.group(1), self.card_text)
        text = text.replace("**", "").replace("`", "").replace("\0*", "*").replace("\0`", "`")
        return html.unescape(text.replace("\0", ""))

    def action(self, title: str) -> dict[str, Any]:
        """The data of the card's button called ``title``: what Teams sends back when it is pressed."""
        card = self.card or {}
        for action in _actions(card.get("body", [])) + card.get("actions", []):
            if action.get("title") == title:
                data: dict[str, Any] = action["data"]
                return dict(data)
        raise LookupError(f"no button {title!r} in {self.card_text!r}")

    @property
    def inputs(self) -> list[str]:
        card = self.card or {}
        return [el["id"] for el in card.get("body", []) if str(el.get("type", "")).startswith("Input.")]


def _actions(elements: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for el in elements:
        if el.get("type") == "ActionSet":
            found.extend(el["actions"])
        found.extend(_actions(el.get("items", [])))
    return found


def _texts(elements: list[dict[str, Any]]) -> list[str]:
    out: list[str] = []
    for el in elements:
        kind = el.get("type")
        if kind == "TextBlock":
            out.append(el["text"])
        elif kind == "FactSet":
            out.extend(f"{f['title']} {f['value']}".strip() for f in el["facts"])
        elif kind in {"ActionSet"}:
            out.extend(a["title"] for a in el["actions"])
        elif kind in {"Container", "Column"}:
            out.extend(_texts(el.get("items", [])))
        elif kind == "ColumnSet":
            out.extend(_texts(el.get("columns", [])))
        elif kind and kind.startswith("Input."):
            out.append(el.get("label", ""))
        elif kind and kind.startswith("Action."):
            out.append(el["title"])
    return out


@dataclass
class Throttle:
    remaining: int
    retry_after: float
    kinds: frozenset[str]
    status: int = 429


@dataclass
class TeamsUser:
    id: str
    name: str
    aad_object_id: str
    email: str = ""
    tenant: str = ""


@dataclass
class ConnectorEmulator:
    clock: Callable[[], datetime] | None = None
    calls: list[Call] = field(default_factory=list)
    users: dict[str, TeamsUser] = field(default_factory=dict)
    _throttles: list[Throttle] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1_700_000_000_001))
    _server: TestServer | None = None

    # --- lifecycle ------------------------------------------------------------------------
    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/v3/conversations", self._create)
        app.router.add_post("/v3/conversations/{conversation}/activities", self._send)
        app.router.add_post("/v3/conversations/{conversation}/activities/{activity}", self._reply)
        app.router.add_put("/v3/conversations/{conversation}/activities/{activity}", self._update)
        app.router.add_get("/v3/conversations/{conversation}/members/{member}", self._member)
        self._server = TestServer(app, host="127.0.0.1")
        await self._server.start_server()
        return self.url

    async def close(self) -> None:
        if self._server is not None:
            await self._server.close()

    @property
    def url(self) -> str:
        assert self._server is not None
        return str(self._server.make_url("/"))

    # --- what tests set up ----------------------------------------------------------------
    def add_user(self, user_id: str, name: str, aad_object_id: str, email: str = "", tenant: str = "") -> TeamsUser:
        user = TeamsUser(user_id, name, aad_object_id, email, tenant)
        self.users[user_id] = user
        return user

    def throttle(self, times: int = 1, retry_after: float = 1.0, kinds: tuple[str, ...] = ("send", "reply")) -> None:
        """The next ``times`` calls of these kinds answer 429 with ``Retry-After``."""
        self._throttles.append(Throttle(times, retry_after, frozenset(kinds)))

    def refuse(self, status: int, times: int = 1, kinds: tuple[str, ...] = ("create",)) -> None:
        """The next ``times`` calls of these kinds fail with ``status`` (403: the app is not installed for them)."""
        self._throttles.append(Throttle(times, 0, frozenset(kinds), status))

    # --- what tests read ------------------------------------------------------------------
    def delivered(self, kind: str | None = None, conversation: str | None = None) -> list[Call]:
        return [c for c in self.calls if c.status < 300 and (kind is None or c.kind == kind)
                and (conversation is None or c.conversation == conversation)]

    def rejected(self) -> list[Call]:
        return [c for c in self.calls if c.status >= 300]

    # --- the REST API ---------------------------------------------------------------------
    def _limited(self, kind: str) -> Throttle | None:
        for t in self._throttles:
            if t.remaining > 0 and kind in t.kinds:
                t.remaining -= 1
                return t
        return None

    async def _record(self, request: web.Request, kind: str) -> tuple[Call, web.Response | None]:
        body = await request.json() if request.can_read_body else {}
        call = Call(request.method, kind, request.match_info.get("conversation"),
                    request.match_info.get("activity"), body, at=self.clock() if self.clock else None)
        self.calls.append(call)
        limit = self._limited(kind)
        if limit is not None and limit.status != 429:
            call.status = limit.status
            return call, web.json_response({"error": {"code": "Forbidden", "message": "refused"}}, status=limit.status)
        if limit is not None:
            call.status = 429
            return call, web.json_response({"error": {"code": "TooManyRequests", "message": "slow down"}},
                                           status=429, headers={"Retry-After": f"{limit.retry_after:g}"})
        return call, None

    def _new_id(self) -> str:
        return str(next(self._ids))

    async def _create(self, request: web.Request) -> web.Response:
        call, refused = await self._record(request, "create")
        if refused:
            return refused
        members = call.body.get("members") or []
        if not members or call.body.get("isGroup"):
            call.status = 400
            return web.json_response({"error": {"code": "BadArgument", "message": "one member for a 1:1"}},
                                     status=400)
        tenant = (call.body.get("channelData") or {}).get("tenant", {}).get("id")
        if not tenant:
            call.status = 400
            return web.json_response({"error": {"code": "BadArgument", "message": "tenant id required"}},
                                     status=400)
        conversation = f"a:personal-{members[0]['id']}"
        call.answered_id = conversation
        return web.json_response({"id": conversation, "serviceUrl": self.url}, status=201)

    async def _send(self, request: web.Request) -> web.Response:
        call, refused = await self._record(request, "send")
        if refused:
            return refused
        call.answered_id = self._new_id()
        return web.json_response({"id": call.answered_id}, status=201)

    async def _reply(self, request: web.Request) -> web.Response:
        call, refused = await self._record(request, "reply")
        if refused:
            return refused
        call.answered_id = self._new_id()
        return web.json_response({"id": call.answered_id}, status=201)

    async def _update(self, request: web.Request) -> web.Response:
        call, refused = await self._record(request, "update")
        if refused:
            return refused
        call.answered_id = call.activity_id
        return web.json_response({"id": call.activity_id}, status=200)

    async def _member(self, request: web.Request) -> web.Response:
        call, refused = await self._record(request, "member")
        if refused:
            return refused
        user = self.users.get(request.match_info["member"])
        if user is None:
            call.status = 404
            return web.json_response({"error": {"code": "MemberNotFoundInConversation", "message": "no such member"}},
                                     status=404)
        return web.json_response({"id": user.id, "name": user.name, "aadObjectId": user.aad_object_id,
                                  "email": user.email, "userPrincipalName": user.email, "tenantId": user.tenant,
                                  "userRole": "user"})


# --- activities as Teams sends them -----------------------------------------------------------
@dataclass
class TeamsClient:
    """Builds the activities one tenant's Teams client sends through the Bot Framework."""

    service_url: str
    tenant: str
    team_id: str = "19:team-ml@thread.tacv2"
    team_name: str = "ML"
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1_800_000_000_001))

    def _base(self, kind: str, user: TeamsUser, conversation: dict[str, Any], channel_data: dict[str, Any],
              zone: str | None) -> dict[str, Any]:
        activity_id = str(next(self._ids))
        entities: list[dict[str, Any]] = []
        activity: dict[str, Any] = {
            "type": kind, "id": activity_id, "timestamp": "2027-03-15T09:00:00.000Z", "channelId": "msteams",
            "serviceUrl": self.service_url, "locale": "en-US",
            "from": {"id": user.id, "name": user.name, "aadObjectId": user.aad_object_id},
            "recipient": {"id": BOT_ID, "name": BOT_NAME},
            "conversation": {"tenantId": self.tenant, **conversation},
            "channelData": {"tenant": {"id": self.tenant}, **channel_data},
            "entities": entities,
        }
        if zone:
            activity["localTimezone"] = zone
            entities.append({"type": "clientInfo", "locale": "en-US", "country": "US", "platform": "Web",
                             "timezone": zone})
        return activity

    def personal(self, user: TeamsUser, text: str = "", zone: str | None = None,
                 value: dict[str, Any] | None = None) -> dict[str, Any]:
        """A message in the user's 1:1 chat with the bot (``value`` for an Action.Submit)."""
        act = self._base("message", user, {"conversationType": "personal", "id": f"a:personal-{user.id}"}, {}, zone)
        act["textFormat"] = "plain"
        act["text"] = text
        if value is not None:
            act["value"] = value
            act.pop("text")
        return act

    def channel(self, user: TeamsUser, channel_id: str, channel_name: str | None, text: str, mention_bot: bool = True,
                thread: str | None = None, zone: str | None = None,
                mentions: tuple[TeamsUser, ...] = (), value: dict[str, Any] | None = None) -> dict[str, Any]:
        """A post (or, with ``thread``, a reply) in a team channel, usually @mentioning the bot."""
        channel = {"id": channel_id, **({"name": channel_name} if channel_name else {})}
        data = {"teamsChannelId": channel_id, "teamsTeamId": self.team_id, "channel": channel,
                "team": {"id": self.team_id, "name": self.team_name}}
        act = self._base("message", user, {"isGroup": True, "conversationType": "channel", "id": ""}, data, zone)
        root = thread or act["id"]
        act["conversation"]["id"] = f"{channel_id};messageid={root}"
        if thread:
            act["replyToId"] = thread
        parts = []
        if mention_bot:
            parts.append(f"<at>{BOT_NAME}</at>")
            act["entities"].append({"type": "mention", "text": f"<at>{BOT_NAME}</at>",
                                    "mentioned": {"id": BOT_ID, "name": BOT_NAME}})
        for other in mentions:
            act["entities"].append({"type": "mention", "text": f"<at>{other.name}</at>",
                                    "mentioned": {"id": other.id, "name": other.name}})
        act["textFormat"] = "plain"
        act["text"] = " ".join([*parts, text])
        if value is not None:
            act["value"] = value
        return act

    def reaction(self, user: TeamsUser, channel_id: str, channel_name: str | None, message_id: str, reaction: str,
                 added: bool = True, thread: str | None = None) -> dict[str, Any]:
        """``messageReaction``: a reaction (``like``, ``heart``…) put on or taken off a message in a channel."""
        channel = {"id": channel_id, **({"name": channel_name} if channel_name else {})}
        data = {"teamsChannelId": channel_id, "teamsTeamId": self.team_id, "channel": channel,
                "team": {"id": self.team_id, "name": self.team_name}}
        act = self._base("messageReaction", user, {"isGroup": True, "conversationType": "channel",
                                                    "id": f"{channel_id};messageid={thread or message_id}"}, data, None)
        act["replyToId"] = message_id
        act["reactionsAdded" if added else "reactionsRemoved"] = [{"type": reaction}]
        return act

    def installed_in_team(self, user: TeamsUser) -> dict[str, Any]:
        """``conversationUpdate`` when someone adds the app to a team (its General channel)."""
        data = {"eventType": "teamMemberAdded", "team": {"id": self.team_id, "name": self.team_name}}
        act = self._base("conversationUpdate", user,
                         {"isGroup": True, "conversationType": "channel", "id": self.team_id}, data, None)
        act["membersAdded"] = [{"id": BOT_ID}]
        return act

    def installed_personally(self, user: TeamsUser, zone: str | None = None) -> dict[str, Any]:
        act = self._base("conversationUpdate", user, {"conversationType": "personal", "id": f"a:personal-{user.id}"},
                         {}, zone)
        act["membersAdded"] = [{"id": BOT_ID}, {"id": user.id, "aadObjectId": user.aad_object_id}]
        return act

    def execute(self, user: TeamsUser, conversation_id: str, data: dict[str, Any], reply_to: str | None = None,
                personal: bool = True) -> dict[str, Any]:
        """An Adaptive Card ``Action.Execute``: an ``adaptiveCard/action`` invoke that expects a card back."""
        kind = "personal" if personal else "channel"
        act = self._base("invoke", user, {"conversationType": kind, "id": conversation_id}, {}, None)
        act["name"] = "adaptiveCard/action"
        act["value"] = {"action": {"type": "Action.Execute", "verb": data.get("action_id", ""), "data": data},
                        "trigger": "manual"}
        if reply_to:
            act["replyToId"] = reply_to
        return act
