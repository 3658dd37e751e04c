"""``POST /api/messages``: where the Bot Framework delivers Teams activities to ``meridian serve``.

With ``MicrosoftAppId`` set, every request must carry a Bot Framework JWT (checked by
botbuilder's ``CloudAdapter``); without a valid one — none, a forged one, ``alg: none``, a
key id Microsoft never published — the answer is 401, before anything of the body is used.
Authentication is off only in emulator mode: ``MERIDIAN_TEAMS_EMULATOR=1`` and no app id
(a blank one counts as none only then; without the flag a blank id stops start-up).
An activity whose ``serviceUrl`` is not a Bot Framework service URL (or, in emulator mode,
``MERIDIAN_TEAMS_EMULATOR_URL``) is refused with 400, so nothing is ever sent elsewhere.

The request is handled here rather than by ``CloudAdapter.process`` because in
botbuilder 4.17.1 ``process`` fails with a 500 on every invoke whose answer has a body
(an ``Action.Execute`` card, a task module): it serializes an already serialized dict.
Here the body is serialized only when it is still a model.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from botbuilder.core import serializer_helper
from botbuilder.integration.aiohttp import CloudAdapter
from botbuilder.schema import Activity
from botframework.connector.auth import ServiceClientCredentialsFactory
from msrest.exceptions import DeserializationError
from msrest.serialization import Model

from adapters.teams.bot import TeamsBot
from adapters.teams.chat import TeamsChat
from adapters.teams.connectors import KeptConnectors
from adapters.teams.files import ROUTE as FILES_ROUTE
from adapters.teams.files import UploadUrls, file_handler
from adapters.teams.service_urls import ServiceUrls
from adapters.teams.tab import ROUTE as TAB_ROUTE
from adapters.teams.tab import TabLinks, tab_handler
from adapters.web.server import RouteInstaller
from bot.kernel.app import Meridian
from bot.settings import Settings
from storage.db import make_engine
from storage.teams.repo import TeamsRepo

log = logging.getLogger("meridian.teams")

ROUTE = "/api/messages"
APP_TYPES = {"multitenant": "MultiTenant", "singletenant": "SingleTenant", "userassignedmsi": "UserAssignedMSI"}


class TeamsSettingsError(ValueError):
    """One line naming the Teams setting that is missing or wrong."""


@dataclass(frozen=True)
class TeamsConfig:
    """The configuration object botbuilder reads (its attribute names are fixed)."""

    APP_ID: str = ""
    APP_PASSWORD: str = field(default="", repr=False)
    APP_TYPE: str = "MultiTenant"
    APP_TENANTID: str = ""
    EMULATOR_URL: str = ""
    """The local Bot Connector, called only in emulator mode."""

    @property
    def emulator_mode(self) -> bool:
        return not self.APP_ID

    @property
    def service_urls(self) -> ServiceUrls:
        return ServiceUrls(self.EMULATOR_URL if self.emulator_mode else "")


def teams_config(settings: Settings) -> TeamsConfig:
    """``MicrosoftAppId``/``MicrosoftAppPassword``/``MicrosoftAppType``/``MicrosoftAppTenantId``, checked."""
    app_id = (settings.microsoft_app_id or "").strip()
    password = settings.microsoft_app_password or ""
    tenant = (settings.microsoft_app_tenant_id or "").strip()
    app_type = APP_TYPES.get((settings.microsoft_app_type or "MultiTenant").strip().lower())
    if app_type is None:
        raise TeamsSettingsError("MicrosoftAppType must be MultiTenant, SingleTenant or UserAssignedMSI")
    if not app_id and not settings.teams_emulator:
        raise TeamsSettingsError("MicrosoftAppId is blank: set the bot's app id, or MERIDIAN_TEAMS_EMULATOR=1 "
                                 "to run without authentication against a local Bot Connector")
    emulator_url = (settings.teams_emulator_url or "").strip()
    if not app_id and not emulator_url:
        raise TeamsSettingsError("MERIDIAN_TEAMS_EMULATOR_URL is required with MERIDIAN_TEAMS_EMULATOR=1: "
                                 "the local Bot Connector's URL, the only place Meridian will send to")
    if app_id and app_type != "UserAssignedMSI" and not password:
        raise TeamsSettingsError("MicrosoftAppPassword is required when MicrosoftAppId is set")
    if app_type in {"SingleTenant", "UserAssignedMSI"} and not tenant:
        raise TeamsSettingsError(f"MicrosoftAppTenantId is required when MicrosoftAppType is {app_type}")
    if app_type == "UserAssignedMSI" and not app_id:
        raise TeamsSettingsError("MicrosoftAppId is required when MicrosoftAppType is UserAssignedMSI")
    return TeamsConfig(app_id, password, app_type, tenant, emulator_url if not app_id else "")


def build_adapter(config: Any, credentials_factory: ServiceClientCredentialsFactory | None = None) -> CloudAdapter:
    """botbuilder's adapter, keeping its Bot Connector clients between proactive calls (``adapters.teams.connectors``)."""
    return CloudAdapter(KeptConnectors(config, credentials_factory=credentials_factory))


def _body(body: Any) -> Any:
    """An invoke answer's body as JSON data, whether the bot gave a model or plain data."""
    return serializer_helper(body) if isinstance(body, Model) else body


async def _activity(request: web.Request) -> tuple[Activity, str | None]:
    """The activity in the body, or an empty one and why the body is none (said only after authentication)."""
    if "application/json" not in request.headers.get("Content-Type", ""):
        return Activity(), "expected application/json"
    try:
        raw = await request.json()
        if not isinstance(raw, dict):
            return Activity(), "the body must be a JSON object"
        activity = Activity().deserialize(raw)
    except (ValueError, TypeError, AttributeError, DeserializationError):
        return Activity(), "the body is not a Bot Framework activity"
    if not isinstance(activity.type, str) or not activity.type:
        return Activity(), "an activity needs a type"
    return activity, None


def messages_handler(adapter: CloudAdapter, bot: TeamsBot,
                     service_urls: ServiceUrls) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def messages(request: web.Request) -> web.StreamResponse:
        activity, malformed = await _activity(request)
        try:
            auth = await adapter.bot_framework_authentication.authenticate_request(
                activity, request.headers.get("Authorization", ""))
        except Exception as err:  # botframework raises bare Exceptions for a bad algorithm or an unknown key
            log.warning("refused an unauthenticated Teams request: %s", type(err).__name__)
            return web.json_response({"error": "unauthorized"}, status=401)
        if malformed is not None:
            status = 415 if malformed.startswith("expected") else 400
            return web.json_response({"error": malformed}, status=status)
        if not service_urls.allows(activity.service_url):
            log.warning("refused a Teams activity whose serviceUrl is not a Bot Framework service URL")
            return web.json_response({"error": "serviceUrl is not a Bot Framework service URL"}, status=400)
        try:
            invoke = await adapter.process_activity(auth, activity, bot.on_turn)
        except Exception:
            log.exception("Teams activity %s failed", activity.type)
            return web.json_response({"error": "the bot failed to handle this activity"}, status=500)
        if invoke is None:
            return web.Response(status=201)
        body = _body(invoke.body)
        if body is None:
            return web.Response(status=int(invoke.status))
        return web.json_response(body, status=int(invoke.status))

    return messages


def installer(chat: TeamsChat, adapter: CloudAdapter, public_url: str = "") -> RouteInstaller:
    """A route installer for ``build_web_app``: mounts ``POST /api/messages``, the personal tab
    (``GET /teams/tab``) and the files linked from channels (``GET /teams/files/NAME``) on the running
    core. Links start with ``public_url``, else ``MERIDIAN_PUBLIC_URL``; with neither, people are told the
    tab is not set up, and files in channels are named without a link."""

    def install(web_app: web.Application, app: Meridian, settings: Any) -> None:
        base = public_url or (settings.public_url if isinstance(settings, Settings) else "")
        chat.public_url = chat.public_url or base
        links = TabLinks(app)
        web_app.router.add_post(ROUTE, messages_handler(adapter, TeamsBot(app, chat, links, base), chat.service_urls))
        web_app.router.add_get(TAB_ROUTE, tab_handler(app, links))
        web_app.router.add_get(FILES_ROUTE, file_handler(chat.files))

    return install


def build_teams(settings: Settings) -> tuple[TeamsChat, RouteInstaller]:
    """The Teams port and its route installer for ``meridian serve`` and ``meridian worker``.

    Conversation references live in the core's database (``DATABASE_URL``), beside its tables.
    """
    config = teams_config(settings)
    if config.emulator_mode:
        log.warning("Teams authentication is OFF (MERIDIAN_TEAMS_EMULATOR=1, no MicrosoftAppId): "
                    "only for a local Bot Connector at %s", config.EMULATOR_URL)
    elif settings.teams_emulator:
        log.warning("MERIDIAN_TEAMS_EMULATOR=1 is ignored: MicrosoftAppId is set, so authentication stays on")
    adapter = build_adapter(config)
    # In emulator mode a local OneDrive stand-in at the emulator's address takes uploads, as the connector does.
    chat = TeamsChat(adapter, TeamsRepo(make_engine(settings.database_url)), config.APP_ID, config.service_urls,
                     public_url=settings.public_url, upload_urls=UploadUrls(config.EMULATOR_URL))
    return chat, installer(chat, adapter)
