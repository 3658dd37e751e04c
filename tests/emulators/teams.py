"""A local Bot Framework for tests: the token service, the Bot Connector (REST API v3) and a Teams client.

``BotFrameworkIssuer`` plays the Bot Framework's token service: an RSA key made for the test
run, published as OpenID metadata and a JWKS (with the ``msteams`` endorsement, as
Microsoft publishes its keys), signing the JWT that comes with every activity (issuer
``https://api.botframework.com``, audience the bot's app id, the ``serviceurl`` claim) and
the token the bot presents to the connector. botframework-connector fetches the metadata
with blocking ``requests`` calls, so it is served from a thread of its own.

``ConnectorEmulator`` answers what Meridian's Teams adapter calls — create a conversation,
send to a conversation, reply to an activity, update an activity, get a member, list a
team's members a page at a time (``pagedmembers``: ``{members, continuationToken}``) — records
every call, and can be told to answer ``429 Too Many Requests`` with ``Retry-After`` so
tests see rate limits honoured. Like Teams it refuses what Teams refuses: a call without
the bot's token (when it knows the bot), an activity over 28 KB as sent (413), and, so that
no test lets an invalid card through, any Adaptive Card that is not valid against the
Adaptive Cards 1.5 schema with Teams' ``msteams`` property (400). Ids look like the real
ones (``a:…`` for a 1:1 chat, numeric activity ids), and a 1:1 chat with the same user
always gets the same id, as in Teams.

``TeamsClient`` builds the activities Teams POSTs to a bot (``message``,
``conversationUpdate`` for installs and people joining a team, ``messageReaction``), with the fields the real service sends and
``serviceUrl`` pointing at the connector; ``press`` is a button press as Teams delivers
an ``Action.Submit``: a ``message`` whose ``value`` is the button's data and the card's inputs;
``message_action`` is a person picking a messaging-extension action on a message and submitting
its dialog: the ``composeExtension/submitAction`` invoke, with the message as Teams describes it in
``messagePayload`` (an HTML body, people as ``<at id="0">`` with their Entra object ids in ``mentions``).
"""

from __future__ import annotations

import base64
import hashlib
import html
import itertools
import json
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jsonschema
import jwt
from aiohttp import web
from aiohttp.test_utils import TestServer
from botframework.connector.auth import AppCredentials, ServiceClientCredentialsFactory
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

BOT_ID = "28:meridian-bot"
BOT_NAME = "Meridian"
CHANNEL_ISSUER = "https://api.botframework.com"
"""The issuer of the tokens the Bot Framework sends with activities, and the audience of the bot's own."""
ACTIVITY_LIMIT = 28 * 1024
"""Teams refuses an activity bigger than this as sent (about 28 KB)."""
CARD_TYPE = "application/vnd.microsoft.card.adaptive"
CONSENT_TYPE = "application/vnd.microsoft.teams.card.file.consent"
INFO_TYPE = "application/vnd.microsoft.teams.card.file.info"
SCHEMA_FILE = Path(__file__).parent / "schemas" / "adaptive-card-1.5.json"


# --- the Bot Framework's token service -------------------------------------------------------
class BotFrameworkIssuer:
    """A signing key of the test run's own, published the way the Bot Framework publishes its keys."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = uuid.uuid4().hex
        self.jwk = {**json.loads(RSAAlgorithm.to_jwk(self.key.public_key())), "kid": self.kid, "use": "sig",
                    "endorsements": ["msteams", "skype", "webchat"]}
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        threading.Thread(target=self._server.serve_forever, name="bot-framework-issuer", daemon=True).start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self.fetches: list[str] = []

    @property
    def metadata_url(self) -> str:
        """Where botframework-connector is told to find the channel's OpenID metadata."""
        return f"{self.url}/v1/.well-known/openidconfiguration"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                issuer.fetches.append(self.path)
                body: dict[str, Any]
                if self.path == "/v1/.well-known/openidconfiguration":
                    body = {"issuer": CHANNEL_ISSUER, "authorization_endpoint": f"{issuer.url}/v1/auth",
                            "jwks_uri": f"{issuer.url}/v1/.well-known/keys",
                            "id_token_signing_alg_values_supported": ["RS256"],
                            "token_endpoint_auth_methods_supported": ["private_key_jwt"]}
                elif self.path == "/v1/.well-known/keys":
                    body = {"keys": [issuer.jwk]}
                else:
                    self.send_error(404)
                    return
                raw = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, *_args: Any) -> None:
                return

        return Handler

    def _sign(self, claims: dict[str, Any]) -> str:
        now = int(time.time())
        thumbprint = base64.urlsafe_b64encode(hashlib.sha1(self.kid.encode()).digest()).rstrip(b"=").decode()
        return jwt.encode({"nbf": now - 60, "exp": now + 3600, **claims}, self.key, algorithm="RS256",
                          headers={"kid": self.kid, "x5t": thumbprint})

    def channel_token(self, app_id: str, service_url: str, **claims: Any) -> str:
        """The JWT the Bot Framework sends with an activity for the bot ``app_id`` from ``service_url``."""
        return self._sign({"iss": CHANNEL_ISSUER, "aud": app_id, "serviceurl": service_url, **claims})

    def bot_token(self, app_id: str) -> str:
        """The token the bot gets for calling the connector (Entra's, in production)."""
        return self._sign({"iss": "https://login.microsoftonline.com/botframework.com/v2.0", "aud": CHANNEL_ISSUER,
                           "appid": app_id, "ver": "1.0"})

    def bot_app_of(self, authorization: str) -> str | None:
        """The app id a connector call's ``Authorization`` header proves, or ``None`` when it proves nothing."""
        scheme, _, token = authorization.partition(" ")
        if scheme != "Bearer" or not token:
            return None
        try:
            claims = jwt.decode(token, self.key.public_key(), algorithms=["RS256"], audience=CHANNEL_ISSUER)
        except jwt.PyJWTError:
            return None
        return str(claims.get("appid") or "") or None

    def credentials(self, app_id: str) -> ServiceClientCredentialsFactory:
        """The bot's outgoing credentials: tokens from this issuer instead of Entra (MSAL insists on https)."""
        return _IssuedCredentialsFactory(self, app_id)


class _IssuedCredentials(AppCredentials):
    def __init__(self, issuer: BotFrameworkIssuer, app_id: str, oauth_scope: str) -> None:
        super().__init__(app_id=app_id, oauth_scope=oauth_scope)
        self.issuer = issuer

    def get_access_token(self, force_refresh: bool = False) -> str:
        return self.issuer.bot_token(self.microsoft_app_id)


class _IssuedCredentialsFactory(ServiceClientCredentialsFactory):
    def __init__(self, issuer: BotFrameworkIssuer, app_id: str) -> None:
        self.issuer = issuer
        self.app_id = app_id

    async def is_valid_app_id(self, app_id: str) -> bool:
        return app_id == self.app_id

    async def is_authentication_disabled(self) -> bool:
        return False

    async def create_credentials(self, app_id: str, oauth_scope: str, login_endpoint: str,
                                 validate_authority: bool) -> AppCredentials:
        if app_id != self.app_id:
            raise PermissionError("Invalid app_id")
        return _IssuedCredentials(self.issuer, app_id, oauth_scope)


@cache
def bot_framework() -> BotFrameworkIssuer:
    """One token service for the test run: botframework-connector caches metadata by URL for a day."""
    return BotFrameworkIssuer()


# --- Adaptive Cards ------------------------------------------------------------------------
MSTEAMS = {
    "type": "object", "additionalProperties": False,
    "properties": {
        "width": {"enum": ["Full"]},
        "entities": {"type": "array", "items": {
            "type": "object", "additionalProperties": False, "required": ["type", "text", "mentioned"],
            "properties": {"type": {"enum": ["mention"]}, "text": {"type": "string", "pattern": "^<at>.*</at>$"},
                           "mentioned": {"type": "object", "required": ["id", "name"], "additionalProperties": False,
                                         "properties": {"id": {"type": "string", "minLength": 1},
                                                        "name": {"type": "string"}}}}}},
    },
}
"""Teams' extension of the card: full width, and the mention entities of ``<at>`` tags."""


@cache
def card_validator() -> jsonschema.protocols.Validator:
    """The Adaptive Cards 1.5 schema (Microsoft's, ``schemas/1.5.0/adaptive-card.json``), with ``msteams`` allowed."""
    schema = json.loads(SCHEMA_FILE.read_text())
    schema["definitions"]["AdaptiveCard"]["properties"]["msteams"] = MSTEAMS
    validator: jsonschema.protocols.Validator = jsonschema.validators.validator_for(schema)(schema)
    return validator


def card_errors(card: Any) -> list[str]:
    """Why a card is not a valid Adaptive Card 1.5 for Teams (empty when it is)."""
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message[:200]}" for e in card_validator().iter_errors(card)]
    if isinstance(card, dict):
        if card.get("version") != "1.5":
            errors.append(f"version {card.get('version')!r} is not 1.5")
        errors.extend(_input_errors(card.get("body") or []))
    return errors


def _input_errors(elements: list[Any]) -> list[str]:
    """What the schema cannot say: a required choice set needs something to choose."""
    found = []
    for el in elements:
        if not isinstance(el, dict):
            continue
        if el.get("type") == "Input.ChoiceSet" and el.get("isRequired") and not el.get("choices"):
            found.append(f"{el.get('id')}: a required choice set with no choices can never be submitted")
        found.extend(_input_errors(el.get("items") or []))
    return found


@dataclass
class Call:
    """One request the bot made to the connector."""

    method: str
    kind: str
    """create | send | reply | update | member | members"""
    conversation: str | None
    activity_id: str | None
    body: dict[str, Any]
    status: int = 200
    answered_id: str | None = None
    at: datetime | None = None
    """The test's clock when the call arrived (a simulated clock in scheduler tests)."""
    size: int = 0
    """Bytes of the request body as the bot sent it."""

    @property
    def card(self) -> dict[str, Any] | None:
        for att in self.body.get("attachments") or []:
            if att.get("contentType") == "application/vnd.microsoft.card.adaptive":
                content: dict[str, Any] = att["content"]
                return content
        return None

    def attachment(self, content_type: str) -> dict[str, Any] | None:
        """The first attachment of this type (a file consent card, a file info card)."""
        return next((a for a in self.body.get("attachments") or [] if a.get("contentType") == content_type), None)

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

    def input_values(self) -> dict[str, str]:
        """Each input of the card with the value it shows before anyone types: what a client submits untouched."""
        card = self.card or {}
        return {el["id"]: str(el.get("value", "")) for el in card.get("body", [])
                if str(el.get("type", "")).startswith("Input.")}


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


TASK_RESPONSE_TYPES = frozenset({"continue", "message"})


def dialog_answer(body: Any) -> Call:
    """A bot's answer to ``task/fetch`` or ``task/submit``, checked as Teams reads it, as a ``Call`` to read.

    A ``continue`` must hold a title and an Adaptive Card attachment that is valid 1.5 and within Teams' size
    (``Call.card`` is then the dialog's card); a ``message`` holds the line Teams shows (``Call.body["text"]``).
    """
    task = body.get("task") if isinstance(body, dict) else None
    assert isinstance(task, dict) and task.get("type") in TASK_RESPONSE_TYPES, body
    raw = json.dumps(body)
    assert len(raw.encode()) <= ACTIVITY_LIMIT, f"a dialog answer of {len(raw.encode())} bytes"
    if task["type"] == "message":
        assert isinstance(task.get("value"), str) and task["value"], body
        return Call("POST", "dialog", None, None, {"text": task["value"]}, size=len(raw))
    value = task["value"]
    assert isinstance(value.get("title"), str) and value["title"], body
    attachment = value["card"]
    assert attachment["contentType"] == CARD_TYPE, attachment
    errors = card_errors(attachment["content"])
    assert errors == [], errors
    return Call("POST", "dialog", None, None, {"attachments": [attachment], "title": value["title"]},
                answered_id="dialog", size=len(raw))


@dataclass
class Uploaded:
    """One PUT to the OneDrive stand-in: where, the bytes and the range header the bot sent."""

    name: str
    content: bytes
    content_range: str
    status: int = 201


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
    app_id: str = ""
    """The bot this connector serves: when set, every call must carry that bot's token, or it is a 401."""
    issuer: BotFrameworkIssuer | None = None
    calls: list[Call] = field(default_factory=list)
    users: dict[str, TeamsUser] = field(default_factory=dict)
    teams: dict[str, list[str]] = field(default_factory=dict)
    """Team id → the user ids in that team, in the order Teams lists them; a team not set up here has every user."""
    page_cap: int = 500
    """The most members Teams puts in one page, whatever ``pageSize`` asks (it may send fewer)."""
    uploads: list[Uploaded] = field(default_factory=list)
    """What was PUT to the OneDrive stand-in (``upload_url``)."""
    refuse_uploads: int = 0
    """The next this-many uploads are answered 500."""
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
        app.router.add_get("/v3/conversations/{conversation}/pagedmembers", self._paged_members)
        app.router.add_put("/onedrive/{name}", self._upload)
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

    def add_to_team(self, team_id: str, *users: TeamsUser) -> None:
        """These users are members of the team (what ``pagedmembers`` lists)."""
        self.teams.setdefault(team_id, []).extend(u.id for u in users)

    def throttle(self, times: int = 1, retry_after: float = 1.0, kinds: tuple[str, ...] = ("send", "reply")) -> None:
        """The next ``times`` calls of these kinds answer 429 with ``Retry-After``."""
        self._throttles.append(Throttle(times, retry_after, frozenset(kinds)))

    def refuse(self, status: int, times: int = 1, kinds: tuple[str, ...] = ("create",)) -> None:
        """The next ``times`` calls of these kinds fail with ``status`` (403: the app is not installed for them)."""
        self._throttles.append(Throttle(times, 0, frozenset(kinds), status))

    def upload_url(self, name: str) -> str:
        """Where Teams would have the bot PUT an accepted file: the person's OneDrive (here, a stand-in)."""
        return f"{self.url}onedrive/{name}"

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
        raw = await request.read() if request.can_read_body else b""
        body = json.loads(raw) if raw else {}
        call = Call(request.method, kind, request.match_info.get("conversation"),
                    request.match_info.get("activity"), body, at=self.clock() if self.clock else None, size=len(raw))
        self.calls.append(call)
        if self.app_id and (self.issuer is None
                            or self.issuer.bot_app_of(request.headers.get("Authorization", "")) != self.app_id):
            call.status = 401
            return call, web.json_response({"error": {"code": "Unauthorized", "message": "no valid token"}},
                                           status=401)
        if kind in {"send", "reply", "update"}:
            refused = self._refuse_content(call)
            if refused is not None:
                return call, refused
        limit = self._limited(kind)
        if limit is not None and limit.status != 429:
            call.status = limit.status
            return call, web.json_response({"error": {"code": "Forbidden", "message": "refused"}}, status=limit.status)
        if limit is not None:
            call.status = 429
            return call, web.json_response({"error": {"code": "TooManyRequests", "message": "slow down"}},
                                           status=429, headers={"Retry-After": f"{limit.retry_after:g}"})
        return call, None

    @staticmethod
    def _refuse_content(call: Call) -> web.Response | None:
        """Teams' own refusals of an activity: too big (413); and, in these tests, any card that is not valid."""
        if call.size > ACTIVITY_LIMIT:
            call.status = 413
            return web.json_response({"error": {"code": "MessageSizeTooBig",
                                                "message": f"{call.size} bytes is over the limit"}}, status=413)
        errors = [e for att in call.body.get("attachments") or [] if att.get("contentType") == CARD_TYPE
                  for e in card_errors(att.get("content"))]
        errors += [e for att in call.body.get("attachments") or [] for e in _file_card_errors(att, call.conversation)]
        if errors:
            call.status = 400
            return web.json_response({"error": {"code": "BadArgument", "message": "; ".join(errors[:5])}},
                                     status=400)
        return None

    async def _upload(self, request: web.Request) -> web.Response:
        """``PUT`` of a whole file in one range, as OneDrive's upload session takes it: ``Content-Range`` must say
        ``bytes 0-(n-1)/n`` for the n bytes sent."""
        raw = await request.read()
        given = request.headers.get("Content-Range", "")
        upload = Uploaded(request.match_info["name"], raw, given)
        self.uploads.append(upload)
        if given != f"bytes 0-{len(raw) - 1}/{len(raw)}":
            upload.status = 400
            return web.json_response({"error": {"code": "invalidRange", "message": given}}, status=400)
        if self.refuse_uploads > 0:
            self.refuse_uploads -= 1
            upload.status = 500
            return web.json_response({"error": {"code": "generalException"}}, status=500)
        return web.json_response({"id": uuid.uuid4().hex, "name": upload.name, "size": len(raw)}, status=201)

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
        return web.json_response(_account(user))

    async def _paged_members(self, request: web.Request) -> web.Response:
        """``GET …/pagedmembers?pageSize=&continuationToken=``: ``{members, continuationToken}``, the token absent on
        the last page. A conversation that is not a team (``19:…``) is a 404; a token it never gave, a 400."""
        call, refused = await self._record(request, "members")
        if refused:
            return refused
        conversation = request.match_info["conversation"]
        team = self.teams.get(conversation, list(self.users) if conversation.startswith("19:") else None)
        if team is None:
            call.status = 404
            return web.json_response({"error": {"code": "ConversationNotFound", "message": "no such team"}},
                                     status=404)
        try:
            size = int(request.query.get("pageSize", "200"))
            start = int(request.query.get("continuationToken", "page:0").removeprefix("page:"))
        except ValueError:
            call.status = 400
            return web.json_response({"error": {"code": "BadArgument", "message": "bad page"}}, status=400)
        if size < 1 or start < 0 or start > len(team):
            call.status = 400
            return web.json_response({"error": {"code": "BadArgument", "message": "bad page"}}, status=400)
        end = start + min(size, self.page_cap)
        body: dict[str, Any] = {"members": [_account(self.users[u]) for u in team[start:end]]}
        if end < len(team):
            body["continuationToken"] = f"page:{end}"
        return web.json_response(body)


def _file_card_errors(attachment: dict[str, Any], conversation: str | None) -> list[str]:
    """What Teams refuses of file cards: a consent card outside a 1:1 chat, or either card missing its fields."""
    kind, content = attachment.get("contentType"), attachment.get("content") or {}
    if kind == CONSENT_TYPE:
        errors = [] if (conversation or "").startswith("a:") else ["a file consent card outside a 1:1 chat"]
        if not attachment.get("name") or not isinstance(content.get("sizeInBytes"), int):
            errors.append("a file consent card needs the file's name and sizeInBytes")
        return errors
    needed = (attachment.get("name"), attachment.get("contentUrl"), content.get("uniqueId"), content.get("fileType"))
    if kind == INFO_TYPE and not all(needed):
        return ["a file info card needs name, contentUrl, uniqueId and fileType"]
    return []


def _account(user: TeamsUser) -> dict[str, Any]:
    """A ``TeamsChannelAccount`` as the connector describes a person."""
    given, _, surname = user.name.partition(" ")
    return {"id": user.id, "name": user.name, "aadObjectId": user.aad_object_id, "email": user.email,
            "userPrincipalName": user.email, "tenantId": user.tenant, "userRole": "user", "givenName": given,
            "surname": surname}


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

    def joined_team(self, by: TeamsUser, *users: TeamsUser) -> dict[str, Any]:
        """``conversationUpdate`` when people join a team Meridian is in: only their ids, as Teams sends them."""
        data = {"eventType": "teamMemberAdded", "team": {"id": self.team_id, "name": self.team_name}}
        act = self._base("conversationUpdate", by,
                         {"isGroup": True, "conversationType": "channel", "id": self.team_id}, data, None)
        act["membersAdded"] = [{"id": u.id, "aadObjectId": u.aad_object_id} for u in users]
        return act

    def installed_personally(self, user: TeamsUser, zone: str | None = None) -> dict[str, Any]:
        act = self._base("conversationUpdate", user, {"conversationType": "personal", "id": f"a:personal-{user.id}"},
                         {}, zone)
        act["membersAdded"] = [{"id": BOT_ID}, {"id": user.id, "aadObjectId": user.aad_object_id}]
        return act

    def press(self, user: TeamsUser, card: Call, title: str, zone: str | None = None,
              **typed: str) -> dict[str, Any]:
        """The person presses the button ``title`` on a card Meridian sent, after typing ``typed`` into its inputs.

        Teams delivers an ``Action.Submit`` as a ``message`` with no text, whose ``value`` is the button's data
        merged with every input of the card (as it shows it, or as typed), replying to the card's activity.
        """
        if not card.answered_id or not card.conversation:
            raise LookupError("that card was never delivered")
        value = {**card.action(title), **card.input_values(), **typed}
        conversation = card.conversation
        base, _, _root = conversation.partition(";messageid=")
        if base.startswith("a:"):
            act = self._base("message", user, {"conversationType": "personal", "id": conversation}, {}, zone)
        else:
            channel = {"id": base}
            data = {"teamsChannelId": base, "teamsTeamId": self.team_id, "channel": channel,
                    "team": {"id": self.team_id, "name": self.team_name}}
            thread = conversation if ";messageid=" in conversation else f"{base};messageid={card.answered_id}"
            act = self._base("message", user, {"isGroup": True, "conversationType": "channel", "id": thread},
                             data, zone)
        act["channelData"].update({"source": {"name": "message"}, "legacy": {"replyToId": card.answered_id}})
        act["replyToId"] = card.answered_id
        act["value"] = value
        return act

    def message_action(self, user: TeamsUser, command_id: str, channel_id: str, author: TeamsUser, text: str,
                       mentions: tuple[TeamsUser, ...] = (), data: dict[str, Any] | None = None,
                       thread: str | None = None) -> dict[str, Any]:
        """``user`` picks the message action ``command_id`` on ``author``'s message in a channel and submits its
        dialog (``data``: the parameters as typed). ``text`` is the message as typed, ``<at>Name</at>`` for each
        of ``mentions`` in turn; Teams sends it as HTML."""
        message_id = str(next(self._ids))
        root = thread or message_id
        data_of_channel = {"teamsChannelId": channel_id, "teamsTeamId": self.team_id, "channel": {"id": channel_id},
                           "team": {"id": self.team_id, "name": self.team_name}}
        act = self._base("invoke", user, {"isGroup": True, "conversationType": "channel",
                                           "id": f"{channel_id};messageid={root}"}, data_of_channel, None)
        act["id"] = f"f:{uuid.uuid4()}"
        act["name"] = "composeExtension/submitAction"
        numbered = iter(range(len(mentions)))
        body = re.sub(r"&lt;at&gt;(.*?)&lt;/at&gt;", lambda m: f'<at id="{next(numbered)}">{m.group(1)}</at>',
                      html.escape(text, quote=False))
        act["value"] = {
            "commandId": command_id, "commandContext": "message", "requestId": uuid.uuid4().hex,
            "context": {"theme": "default"}, "data": data or {},
            "messagePayload": {
                "linkToMessage": f"https://teams.microsoft.com/l/message/{channel_id}/{message_id}",
                "id": message_id, "replyToId": thread, "createdDateTime": "2027-03-15T09:00:00.000Z",
                "lastModifiedDateTime": None, "deleted": False, "subject": None, "summary": None,
                "importance": "normal", "locale": "en-us",
                "body": {"contentType": "html", "content": f"<p>{body}</p>"},
                "from": {"device": None, "conversation": None, "application": None,
                         "user": {"userIdentityType": "aadUser", "id": author.aad_object_id,
                                  "displayName": author.name}},
                "reactions": [], "attachments": [],
                "mentions": [{"id": n, "mentionText": u.name,
                              "mentioned": {"device": None, "conversation": None, "application": None,
                                            "user": {"userIdentityType": "aadUser", "id": u.aad_object_id,
                                                     "displayName": u.name}}}
                             for n, u in enumerate(mentions)]}}
        return act

    def invoke(self, user: TeamsUser, name: str, value: dict[str, Any]) -> dict[str, Any]:
        """An ``invoke`` activity (``adaptiveCard/action``, ``task/fetch``…) in the user's 1:1 chat."""
        act = self._base("invoke", user, {"conversationType": "personal", "id": f"a:personal-{user.id}"}, {}, None)
        act["name"] = name
        act["value"] = value
        return act

    def consent(self, user: TeamsUser, card: Call, accept: bool, upload_url: str = "") -> dict[str, Any]:
        """The person presses Allow (``accept``) or Decline on a file consent card: a ``fileConsent/invoke`` with
        the card's context and, on Allow, where in their OneDrive the bot may put the file (``upload_url``)."""
        attachment = card.attachment(CONSENT_TYPE)
        if attachment is None:
            raise LookupError("no file consent card in that activity")
        content = attachment["content"]
        value: dict[str, Any] = {"type": "fileUpload", "action": "accept" if accept else "decline",
                                 "context": content.get("acceptContext" if accept else "declineContext")}
        if accept:
            name = attachment["name"]
            value["uploadInfo"] = {"contentUrl": f"https://contoso-my.sharepoint.com/personal/{user.id}/{name}",
                                   "name": name, "uploadUrl": upload_url, "uniqueId": uuid.uuid4().hex.upper(),
                                   "fileType": name.rsplit(".", 1)[-1]}
        act = self.invoke(user, "fileConsent/invoke", value)
        act["replyToId"] = card.answered_id
        return act

    def fetch(self, user: TeamsUser, card: Call, title: str) -> dict[str, Any]:
        """The person presses ``title``, a button whose data asks for a dialog (``msteams: {type: task/fetch}``):
        Teams sends a ``task/fetch`` invoke whose ``data`` is the button's data, and opens what the bot answers."""
        data = card.action(title)
        if (data.get("msteams") or {}).get("type") != "task/fetch":
            raise LookupError(f"{title!r} does not open a dialog: {data!r}")
        act = self.invoke(user, "task/fetch", {"type": "task/fetch", "data": data, "context": {"theme": "default"}})
        act["replyToId"] = card.answered_id
        return act

    def submit(self, user: TeamsUser, dialog: Call, title: str, **typed: str) -> dict[str, Any]:
        """The person presses ``title`` in a dialog after typing ``typed``: a ``task/submit`` invoke whose ``data`` is
        the Submit's data merged with every input of the dialog's card."""
        data = {**dialog.action(title), **dialog.input_values(), **typed}
        return self.invoke(user, "task/submit", {"type": "task/submit", "data": data, "context": {"theme": "default"}})
