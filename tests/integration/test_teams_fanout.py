"""A first-day fan-out on Teams: many new 1:1 chats at once, with authentication on and a slow connector."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from adapters.teams.connectors import KeptConnectors
from bot.kernel.domain import Member
from bot.kernel.messages import Message
from tests.integration.teams_world import TeamsWorld

TENANT = "tenant-a"
START = datetime(2027, 3, 15, 8, 0, tzinfo=UTC)
PEOPLE = 30
LATENCY = 0.3
"""Teams answering each call this late keeps every call of the fan-out's first second in flight together."""

Handler = Callable[[web.Request], Coroutine[Any, Any, web.Response]]


class InFlight:
    """Counts the calls the connector is answering at once."""

    def __init__(self) -> None:
        self.now = 0
        self.most = 0

    def slow(self, handler: Handler) -> Handler:
        async def answer(request: web.Request) -> web.Response:
            self.now += 1
            self.most = max(self.most, self.now)
            try:
                await asyncio.sleep(LATENCY)
                return await handler(request)
            finally:
                self.now -= 1
        return answer


async def test_a_first_day_fan_out_keeps_calls_in_flight_together_on_one_client_and_sends_each_dm_once(
        sqlite_store: Any) -> None:
    world = TeamsWorld(sqlite_store, START)
    flight = InFlight()
    world.connector._create = flight.slow(world.connector._create)  # type: ignore[method-assign,assignment]
    world.connector._send = flight.slow(world.connector._send)  # type: ignore[method-assign,assignment]
    async with world as w:
        t = w.tenant(TENANT)
        await w.send(t.installed_in_team(w.connector.add_user("29:alice", "Alice", "aad-alice", tenant=TENANT)))
        w.store.upsert_members([Member(TENANT, f"p{n}", f"Person {n}", accounts={"teams": f"29:p{n}"})
                                for n in range(PEOPLE)])
        sent = await asyncio.gather(*(w.app.outbox.dm(f"test:first-day:p{n}", TENANT, f"p{n}", Message.text("hi"))
                                      for n in range(PEOPLE)))
        assert all(p is not None for p in sent)
        per_chat = Counter(c.conversation for c in w.connector.delivered("send") if (c.conversation or "").startswith("a:"))
        assert per_chat == {f"a:personal-29:p{n}": 1 for n in range(PEOPLE)}
        assert len(w.connector.delivered("create")) == PEOPLE and w.connector.rejected() == []
        # 30 creates fit in Teams' 50 a second: all in flight at once, not six at a time (the loop's default
        # executor on two cores), and every call went through one kept client with the bot's token.
        assert flight.most >= PEOPLE
        authentication = w.adapter.bot_framework_authentication
        assert isinstance(authentication, KeptConnectors)
        assert len(authentication.connectors) == 1
