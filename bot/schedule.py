"""The due-work engine (DESIGN §7–8).

Capabilities register *planners* that turn their configuration into ``DueItem``s with
unique keys, and *handlers* for each kind of item. The engine

1. plans a rolling window ahead (idempotent: a key already planned is left alone),
2. claims what is due atomically in the database (so extra workers add safety, not
   duplicates), and runs it in due order,
3. records work older than the catch-up window as ``missed`` instead of sending it late,
4. retries a failed handler with backoff, and never lets one failure stop the loop.

Instants are computed by the capabilities from real zones (``bot.timekeeping``); the
engine never uses a cron trigger. APScheduler only calls ``tick`` on an interval.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from itertools import groupby
from typing import TYPE_CHECKING

from bot import metrics
from bot.clock import SimulatedClock
from bot.ports import ClaimedItem

if TYPE_CHECKING:
    from bot.app import Meridian

log = logging.getLogger("meridian.schedule")

PLANNED_THROUGH = "planned_through"
SYSTEM = "_system"
RETRY_BACKOFF = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=15))
MAX_HANDLER_ATTEMPTS = 4


class Engine:
    def __init__(self, app: Meridian, batch: int = 200, concurrency: int = 16) -> None:
        self.app = app
        self.batch = batch
        self._limit = asyncio.Semaphore(concurrency)

    # --- planning ---------------------------------------------------------------------
    def plan(self, force: bool = False) -> int:
        """Materialise the work of the coming window; cheap when the window is already planned."""
        now = self.app.now()
        horizon = self.app.settings.plan_horizon
        through_raw = self.app.store.kv_get(SYSTEM, PLANNED_THROUGH)
        through = datetime.fromisoformat(through_raw) if through_raw else None
        if not force and through is not None and through - now > horizon / 2:
            return 0
        start = now - self.app.settings.catch_up
        end = now + horizon
        new = 0
        for planner in self.app.planners:
            new += self.app.store.schedule(planner(self.app, start, end))
        self.app.store.kv_set(SYSTEM, PLANNED_THROUGH, end.isoformat())
        return new

    def replan(self) -> None:
        """Configuration changed (a stand-up, a person's zone): plan the whole window again."""
        self.app.store.kv_delete(SYSTEM, PLANNED_THROUGH)

    # --- running ----------------------------------------------------------------------
    async def run_due(self) -> int:
        """Claim and run everything due now, in due order; returns how many items were handled."""
        handled = 0
        while True:
            now = self.app.now()
            items = self.app.store.claim_due(now, self.app.worker_id, self.batch,
                                             self.app.settings.lease.total_seconds())
            if not items:
                return handled
            # Items due at the same instant (a fan-out of reminders) run side by side, so one slow or
            # rate-limited send does not hold up the rest; different instants still run in due order.
            for _due_at, group in groupby(items, key=lambda i: i.due_at):
                batch = list(group)
                await asyncio.gather(*(self._run_limited(item, now) for item in batch))
                handled += len(batch)

    async def _run_limited(self, item: ClaimedItem, now: datetime) -> None:
        async with self._limit:
            await self._run_one(item, now)

    async def _run_one(self, item: ClaimedItem, now: datetime) -> None:
        store = self.app.store
        if now - item.due_at > self.app.settings.catch_up:
            log.warning("missed %s (due %s, now %s)", item.key, item.due_at.isoformat(), now.isoformat())
            store.finish(item.id, "missed", f"older than the catch-up window at {now.isoformat()}")
            metrics.inc("meridian_due_items_total", kind=item.kind, outcome="missed")
            return
        handler = self.app.due_handlers.get(item.kind)
        if handler is None:
            store.finish(item.id, "failed", f"no handler for kind {item.kind}")
            return
        try:
            await handler(self.app, item)
        except Exception as err:
            log.exception("handling %s failed", item.key)
            if item.attempts >= MAX_HANDLER_ATTEMPTS:
                store.finish(item.id, "failed", f"{type(err).__name__}: {err}")
            else:
                delay = RETRY_BACKOFF[min(item.attempts - 1, len(RETRY_BACKOFF) - 1)]
                store.retry_later(item.id, now + delay, f"{type(err).__name__}: {err}")
            return
        store.finish(item.id, "done")
        metrics.inc("meridian_due_items_total", kind=item.kind, outcome="done")

    async def tick(self) -> int:
        """One pass: plan, run what is due, retry failed deliveries. Survives an unreachable database."""
        try:
            self.plan()
            handled = await self.run_due()
            await self.app.outbox.retry_pending()
            return handled
        except Exception:
            log.exception("scheduler tick failed; the next tick retries and catches up")
            return 0

    async def advance_to(self, target: datetime, clock: SimulatedClock) -> int:
        """Move a simulated clock to ``target``, running everything that falls due on the way, in order."""
        handled = 0
        while True:
            self.plan()
            handled += await self.run_due()
            await self.app.outbox.retry_pending()
            nxt = self.app.store.next_due_at()
            through_raw = self.app.store.kv_get(SYSTEM, PLANNED_THROUGH)
            step = target
            if through_raw:
                step = min(step, datetime.fromisoformat(through_raw) - self.app.settings.plan_horizon / 2)
            if nxt is not None:
                step = min(step, nxt)
            if step <= clock.now():
                step = clock.now() + timedelta(seconds=1) if step < target else target
            if clock.now() >= target:
                return handled
            clock.set(min(step, target))
