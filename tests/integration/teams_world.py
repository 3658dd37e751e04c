"""The real core and the real Teams adapter behind a real HTTP server, talking to a local Bot Connector.

Activities are POSTed to ``/api/messages`` as the Bot Framework sends them (``serviceUrl``
pointing at ``tests.emulators.teams``, no ``Authorization`` header in emulator mode);
everything Meridian says comes back as calls recorded by the connector emulator.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer

from adapters.teams.chat import TeamsChat
from adapters.teams.server import TeamsConfig, build_adapter, installer
from adapters.teams.service_urls import ServiceUrls
from adapters.web.server import build_web_app
from bot.bootstrap import build_core
from bot.kernel.clock import SimulatedClock
from bot.kernel.team import apply_team
from bot.kernel.teamfile import parse_team
from storage.kernel.repo import SqlStore
from storage.teams.repo import TeamsRepo
from tests.emulators.teams import ConnectorEmulator, TeamsClient


class TeamsWorld:
    def __init__(self, store: SqlStore, start: datetime, app_id: str = "") -> None:
        self.store = store
        self.clock = SimulatedClock(start)
        self.connector = ConnectorEmulator(clock=self.clock.now)
        config = TeamsConfig(app_id, "not-a-real-secret" if app_id else "")
        adapter = build_adapter(config)
        self.chat = TeamsChat(adapter, TeamsRepo(store.engine), app_id)
        self.app = build_core(store, self.clock, {"teams": self.chat}, worker="test", attach=[self.chat.attach])
        self.adapter = adapter
        self.http: TestClient | None = None

    async def __aenter__(self) -> TeamsWorld:
        await self.connector.start()
        # The local connector is the emulator URL Meridian is configured to answer on (emulator mode only).
        self.chat.service_urls = ServiceUrls(self.connector.url if not self.chat.app_id else "")
        self.web = build_web_app(self.app, None, installers=[installer(self.chat, self.adapter)])
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

    async def post(self, activity: dict[str, Any], headers: dict[str, str] | None = None) -> ClientResponse:
        assert self.http is not None
        return await self.http.post("/api/messages", json=activity, headers=headers or {})

    async def send(self, activity: dict[str, Any]) -> ClientResponse:
        """POST an activity and insist the bot took it."""
        response = await self.post(activity)
        assert response.status in {200, 201}, (response.status, await response.text())
        return response

    async def advance_to(self, instant: datetime) -> None:
        await self.app.engine.advance_to(instant, self.clock)
