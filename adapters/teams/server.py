"""``POST /api/messages``: where the Bot Framework delivers Teams activities to ``meridian serve``.

With ``MicrosoftAppId`` set, every request must carry a Bot Framework JWT (checked by
botbuilder's ``CloudAdapter``); without a valid one the answer is 401. With an empty
app id authentication is off: that is the local emulator mode.

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

import jwt
from aiohttp import web
from botbuilder.core import serializer_helper
from botbuilder.integration.aiohttp import CloudAdapter, ConfigurationBotFrameworkAuthentication
from botbuilder.schema import Activity
from msrest.serialization import Model

from adapters.teams.bot import TeamsBot
from adapters.teams.chat import TeamsChat
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

    @property
    def emulator_mode(self) -> bool:
        return not self.APP_ID


def teams_config(settings: Settings) -> TeamsConfig:
    """``MicrosoftAppId``/``MicrosoftAppPassword``/``MicrosoftAppType``/``MicrosoftAppTenantId``, checked."""
    app_id = (settings.microsoft_app_id or "").strip()
    password = settings.microsoft_app_password or ""
    tenant = (settings.microsoft_app_tenant_id or "").strip()
    app_type = APP_TYPES.get((settings.microsoft_app_type or "MultiTenant").strip().lower())
    if app_type is None:
        raise TeamsSettingsError("MicrosoftAppType must be MultiTenant, SingleTenant or UserAssignedMSI")
    if app_id and app_type != "UserAssignedMSI" and not password:
        raise TeamsSettingsError("MicrosoftAppPassword is required when MicrosoftAppId is set")
    if app_type in {"SingleTenant", "UserAssignedMSI"} and not tenant:
        raise TeamsSettingsError(f"MicrosoftAppTenantId is required when MicrosoftAppType is {app_type}")
    if app_type == "UserAssignedMSI" and not app_id:
        raise TeamsSettingsError("MicrosoftAppId is required when MicrosoftAppType is UserAssignedMSI")
    return TeamsConfig(app_id, password, app_type, tenant)


def build_adapter(config: TeamsConfig) -> CloudAdapter:
    return CloudAdapter(ConfigurationBotFrameworkAuthentication(config))


def _body(body: Any) -> Any:
    """An invoke answer's body as JSON data, whether the bot gave a model or plain data."""
    return serializer_helper(body) if isinstance(body, Model) else body


def messages_handler(adapter: CloudAdapter, bot: TeamsBot) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def messages(request: web.Request) -> web.StreamResponse:
        if "application/json" not in request.headers.get("Content-Type", ""):
            return web.json_response({"error": "expected application/json"}, status=415)
        try:
            activity = Activity().deserialize(await request.json())
        except ValueError:
            return web.json_response({"error": "the body is not JSON"}, status=400)
        if not activity.type:
            return web.json_response({"error": "an activity needs a type"}, status=400)
        try:
            auth = await adapter.bot_framework_authentication.authenticate_request(
                activity, request.headers.get("Authorization", ""))
        except (PermissionError, jwt.PyJWTError) as err:
            log.warning("refused an unauthenticated Teams request: %s", type(err).__name__)
            return web.json_response({"error": "unauthorized"}, status=401)
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


def installer(chat: TeamsChat, adapter: CloudAdapter) -> RouteInstaller:
    """A route installer for ``build_web_app``: mounts ``POST /api/messages`` on the running core."""

    def install(web_app: web.Application, app: Meridian, _settings: Any) -> None:
        web_app.router.add_post(ROUTE, messages_handler(adapter, TeamsBot(app, chat)))

    return install


def build_teams(settings: Settings) -> tuple[TeamsChat, RouteInstaller]:
    """The Teams port and its route installer for ``meridian serve`` and ``meridian worker``.

    Conversation references live in the core's database (``DATABASE_URL``), beside its tables.
    """
    config = teams_config(settings)
    adapter = build_adapter(config)
    chat = TeamsChat(adapter, TeamsRepo(make_engine(settings.database_url)), config.APP_ID)
    return chat, installer(chat, adapter)
