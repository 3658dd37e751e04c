"""Teams' documented limits, kept before sending rather than learnt from 429s.

Microsoft publishes them (Teams platform docs, "Optimize your bot with rate limiting"): a bot
may send to one conversation 7 times a second, 8 in 2 s, 60 in 30 s and 1,800 an hour, and an
app 50 requests a second in a tenant. Every connector call of the Teams chat port waits here
for both its conversation's and its tenant's turn; a 429 still arrives now and then (the values
"are subject to change") and holds the whole tenant back for its ``Retry-After``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from adapters.pacing import WindowLimits

PER_CONVERSATION = ((7, 1.0), (8, 2.0), (60, 30.0), (1800, 3600.0))
PER_TENANT = ((50, 1.0),)
MAX_CONVERSATIONS = 4096
"""Conversation lanes kept before the quiet ones are dropped (a fan-out touches one per person)."""


class TeamsPacer:
    def __init__(self, clock: Callable[[], float] | None = None,
                 per_conversation: tuple[tuple[int, float], ...] = PER_CONVERSATION,
                 per_tenant: tuple[tuple[int, float], ...] = PER_TENANT) -> None:
        self._clock = clock
        self._per_conversation = per_conversation
        self._per_tenant = per_tenant
        self.conversations: dict[tuple[str, str], WindowLimits] = {}
        self.tenants: dict[str, WindowLimits] = {}
        self.paused_until: dict[str, float] = {}

    def now(self) -> float:
        return self._clock() if self._clock is not None else asyncio.get_running_loop().time()

    def _lane(self, tenant: str, conversation: str) -> WindowLimits:
        lane = self.conversations.get((tenant, conversation))
        if lane is None:
            if len(self.conversations) >= MAX_CONVERSATIONS:
                now = self.now()
                for key in [k for k, v in self.conversations.items() if not v.busy(now)]:
                    del self.conversations[key]
            lane = self.conversations[(tenant, conversation)] = WindowLimits(self._per_conversation)
        return lane

    def wait_needed(self, tenant: str, conversation: str | None, now: float) -> float:
        tenant_lane = self.tenants.setdefault(tenant, WindowLimits(self._per_tenant))
        wait = max(self.paused_until.get(tenant, 0.0) - now, tenant_lane.wait_needed(now))
        if conversation is not None:
            wait = max(wait, self._lane(tenant, conversation).wait_needed(now))
        return wait

    async def turn(self, tenant: str, conversation: str | None) -> None:
        """Wait until a call to ``conversation`` (``None``: creating one) keeps within every limit."""
        while (wait := self.wait_needed(tenant, conversation, self.now())) > 0:
            await asyncio.sleep(wait)
        now = self.now()
        self.tenants[tenant].started(now)
        if conversation is not None:
            self._lane(tenant, conversation).started(now)

    def refused(self, tenant: str, retry_after: float) -> None:
        now = self.now()
        self.paused_until[tenant] = max(self.paused_until.get(tenant, 0.0), now + retry_after)
