"""The real core and the real Teams adapter behind a real HTTP server, talking to a local Bot Framework.

Authentication is on: the bot has an app id, every activity is POSTed to ``/api/messages``
with a JWT signed by the test run's own Bot Framework key (``tests.emulators.teams``), and
botbuilder's own token validation checks it against the OpenID metadata and keys that
local token service publishes. Everything Meridian says comes back as calls recorded by
the connector emulator, which insists on the bot's own token in turn.

Pointing botbuilder at that token service is done here, with a configuration object of the
tests' own (``LocalBotFramework``): production builds its configuration from settings in
``adapters.teams.server.teams_config``, which has no way to name any of these URLs.
``app_id=""`` is the emulator mode instead (no authentication), for the tests of that mode.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer
from botbuilder.integration.aiohttp import CloudAdapter

from adapters.teams.chat import TeamsChat
from adapters.teams.files import UploadUrls
from adapters.teams.server import TeamsConfig, build_adapter, installer
from adapters.teams.service_urls import ServiceUrls
from adapters.web.server import build_web_app
from bot.bootstrap import build_core
from bot.kernel.clock import SimulatedClock
from bot.kernel.team import apply_team
from bot.kernel.teamfile import parse_team
from storage.kernel.repo import SqlStore
from storage.teams.repo import TeamsRepo
from tests.emulators.teams import (
    CHANNEL_ISSUER,
    BotFrameworkIssuer,
    Call,
    ConnectorEmulator,
    TeamsClient,
    TeamsUser,
    bot_framework,
    dialog_answer,
)

APP_ID = "3f9c1e52-7b1d-4c8e-9a57-2d0b6e4f8a13"
"""The bot's Microsoft app id in the tests (any GUID: the token service is local)."""
PUBLIC_URL = "https://meridian.example.com"
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
"""The tenant every Teams test's team lives in."""
ML_TEAM = "19:ml-team@thread.tacv2"
"""The team's channel conversation."""
"""Where ``meridian serve`` says it is reached (``MERIDIAN_PUBLIC_URL``): links to the personal tab start here."""
NO_AUTHORIZATION: dict[str, str] = {}
"""``headers=`` for a request sent without any ``Authorization`` header."""


@dataclass(frozen=True)
class LocalBotFramework(TeamsConfig):
    """botbuilder's settings for a Bot Framework other than Microsoft's: the channel's OpenID metadata here."""

    TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL: str = ""
    TO_BOT_FROM_EMULATOR_OPENID_METADATA_URL: str = ""
    TO_BOT_FROM_CHANNEL_TOKEN_ISSUER: str = CHANNEL_ISSUER
    TO_CHANNEL_FROM_BOT_OAUTH_SCOPE: str = CHANNEL_ISSUER
    TO_CHANNEL_FROM_BOT_LOGIN_URL: str = ""
    OAUTH_URL: str = ""
    CALLER_ID: str = "urn:botframework:azure"
    VALIDATE_AUTHORITY: bool = False


def local_adapter(app_id: str, issuer: BotFrameworkIssuer) -> CloudAdapter:
    """The adapter production builds, with its token checks pointed at the local token service."""
    config = LocalBotFramework(app_id, "not-a-real-secret", TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL=issuer.metadata_url,
                               TO_BOT_FROM_EMULATOR_OPENID_METADATA_URL=issuer.metadata_url,
                               TO_CHANNEL_FROM_BOT_LOGIN_URL=f"{issuer.url}/botframework.com",
                               OAUTH_URL=f"{issuer.url}/oauth")
    return build_adapter(config, credentials_factory=issuer.credentials(app_id))


class TeamsWorld:
    def __init__(self, store: SqlStore, start: datetime, app_id: str = APP_ID, public_url: str = PUBLIC_URL) -> None:
        self.store = store
        self.clock = SimulatedClock(start)
        self.issuer = bot_framework()
        self.connector = ConnectorEmulator(clock=self.clock.now, app_id=app_id, issuer=self.issuer)
        adapter = local_adapter(app_id, self.issuer) if app_id else build_adapter(TeamsConfig())
        self.chat = TeamsChat(adapter, TeamsRepo(store.engine), app_id)
        self.app = build_core(store, self.clock, {"teams": self.chat}, worker="test", attach=[self.chat.attach])
        self.adapter = adapter
        self.app_id = app_id
        self.public_url = public_url
        self.http: TestClient | None = None

    async def __aenter__(self) -> TeamsWorld:
        await self.connector.start()
        # The local connector is the one service URL Meridian answers on besides Microsoft's.
        self.chat.service_urls = ServiceUrls(self.connector.url)
        self.chat.files.uploads = UploadUrls(self.connector.url)  # its OneDrive stand-in takes uploads
        self.web = build_web_app(self.app, None, installers=[installer(self.chat, self.adapter,
                                                                               self.public_url)])
        self.http = TestClient(TestServer(self.web, host="127.0.0.1"))
        await self.http.start_server()
        return self

    async def __aexit__(self, *_exc: Any) -> None:
        assert self.http is not None
        await self.http.close()
        await self.connector.close()

    def tenant(self, tenant: str) -> TeamsClient:
        return TeamsClient(self.connector.url, tenant)

    def load(self, team_yaml: str) -> None:
        apply_team(self.app, parse_team(team_yaml, "team.yaml", self.app.sections), platform="teams")

    def token(self, activity: dict[str, Any]) -> str:
        """The Bot Framework's JWT for this activity: for this bot, from the activity's service URL."""
        return self.issuer.channel_token(self.app_id, str(activity.get("serviceUrl", "")))

    async def post(self, activity: dict[str, Any], headers: dict[str, str] | None = None) -> ClientResponse:
        """POST as the Bot Framework does, with its token; ``headers`` replace that (``NO_AUTHORIZATION``: none)."""
        assert self.http is not None
        if headers is None:
            headers = {"Authorization": f"Bearer {self.token(activity)}"} if self.app_id else {}
        return await self.http.post("/api/messages", json=activity, headers=headers)

    async def send(self, activity: dict[str, Any]) -> ClientResponse:
        """POST an activity and insist the bot took it."""
        response = await self.post(activity)
        assert response.status in {200, 201}, (response.status, await response.text())
        return response

    async def dialog(self, activity: dict[str, Any]) -> Call:
        """POST a ``task/fetch`` or ``task/submit`` invoke and read the dialog Teams would show from the answer."""
        response = await self.send(activity)
        assert response.status == 200, response.status
        return dialog_answer(await response.json())

    async def advance_to(self, instant: datetime) -> None:
        await self.app.engine.advance_to(instant, self.clock)


RAVI_DM = "a:personal-29:ravi"


async def a_day_begins(w: TeamsWorld, tenant: str, team: str) -> tuple[TeamsClient, TeamsUser, TeamsUser, Call]:
    """Alice adds Meridian to the team and says ``standup help`` in its channel, Ravi installs it in Kolkata;
    Ravi's 09:30 reminder of Monday 15 March 2027 arrives (04:00Z). The world starts that day, its team loaded."""
    t = w.tenant(tenant)
    alice = w.connector.add_user("29:alice", "Alice", "aad-alice", tenant=tenant)
    ravi = w.connector.add_user("29:ravi", "Ravi", "aad-ravi", tenant=tenant)
    await w.send(t.installed_in_team(alice))
    await w.send(t.channel(alice, team, "ml-team", "standup help"))
    await w.send(t.installed_personally(ravi, zone="Asia/Kolkata"))
    await w.advance_to(datetime(2027, 3, 15, 4, 1, tzinfo=UTC))
    reminder = next(c for c in w.connector.delivered("send", RAVI_DM) if "Stand-up" in c.card_text)
    return t, alice, ravi, reminder

