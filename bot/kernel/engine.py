"""The due-work engine (DESIGN §7–8).

Capabilities register *planners* that turn their configuration into ``DueItem``s with
unique keys, and *handlers* for each kind of item. The engine

1. plans a rolling window ahead (idempotent: a key already planned is left alone),
2. claims what is due atomically in the database (so extra workers add safety, not
   duplicates), and runs it in due order,
3. records work older than the catch-up window as ``missed`` instead of sending it late,
4. retries a failed handler with backoff, and never lets one failure stop the loop.

Instants are computed by the capabilities from real zones (``bot.kernel.timekeeping``); the
engine never uses a cron trigger. APScheduler only calls ``tick`` on an interval.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import groupby

from bot.kernel import metrics
from bot.kernel.clock import SimulatedClock
from bot.kernel.ports import ClaimedItem, Clock, DueItem, Store

log = logging.getLogger("meridian.schedule")

PLANNED_THROUGH = "planned_through"
SYSTEM = "_system"
RETRY_BACKOFF = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=15))
MAX_HANDLER_ATTEMPTS = 4


@dataclass
class EngineSettings:
    """The engine's knobs (not secrets; those live in ``bot.settings``)."""

    catch_up: timedelta = timedelta(hours=2)
    """Work due longer ago than this after downtime is recorded as missed, not sent."""
    plan_horizon: timedelta = timedelta(hours=48)
    lease: timedelta = timedelta(minutes=5)
    """How long a claim holds an item when nothing is heard from its worker (no heartbeat table, old worker)."""
    heartbeat: timedelta = timedelta(seconds=10)
    """How often a worker records that it is alive (``Store.beat``)."""
    silent_after: timedelta = timedelta(seconds=30)
    """A worker whose latest heartbeat is older than this is presumed dead: others take over its claims
    (due items and outbox attempts) without waiting for the lease. Keep it a few heartbeats long."""
    retention_days: int = 365


BoundPlanner = Callable[[datetime, datetime], list[DueItem]]
BoundHandler = Callable[[ClaimedItem], Awaitable[None]]


class Engine:
    """Plans and runs due work. The app hands it its registries (kept live: a capability installed
    later is seen) and the way to retry deliveries; the engine knows nothing else of the app."""

    def __init__(self, store: Store, clock: Clock, settings: EngineSettings, worker_id: str,
                 planners: Sequence[BoundPlanner], handlers: Mapping[str, BoundHandler],
                 retry_deliveries: Callable[[], Awaitable[int]], batch: int = 200, concurrency: int = 16,
                 release_deliveries: Callable[[], int] | None = None) -> None:
        self.store = store
        self.clock = clock
        self.settings = settings
        self.worker_id = worker_id
        self.planners = planners
        self.handlers = handlers
        self._retry_deliveries = retry_deliveries
        self._release_deliveries = release_deliveries
        self._running: set[int] = set()
        """Items being handled in this process now: never handed back while they run."""
        self._lost_contact = False
        """The database failed this worker mid-pass: it may hold claims nobody is working on."""
        self.batch = batch
        self._limit = asyncio.Semaphore(concurrency)

    # --- planning ---------------------------------------------------------------------
    def plan(self, force: bool = False) -> int:
        """Materialise the work of the coming window; cheap when the window is already planned."""
        now = self.clock.now()
        horizon = self.settings.plan_horizon
        through_raw = self.store.kv_get(SYSTEM, PLANNED_THROUGH)
        through = datetime.fromisoformat(through_raw) if through_raw else None
        if not force and through is not None and through - now > horizon / 2:
            return 0
        start = now - self.settings.catch_up
        end = now + horizon
        new = 0
        for planner in self.planners:
            new += self.store.schedule(planner(start, end))
        self.store.kv_set(SYSTEM, PLANNED_THROUGH, end.isoformat())
        return new

    def replan(self) -> None:
        """Configuration changed (a stand-up, a person's zone): plan the whole window again."""
        self.store.kv_delete(SYSTEM, PLANNED_THROUGH)

    # --- running ----------------------------------------------------------------------
    async def run_due(self) -> int:
        """Claim and run everything due now, in due order; returns how many items were handled."""
        handled = 0
        while True:
            now = self.clock.now()
            items = await self.store.off_loop(self.store.claim_due, now, self.worker_id, self.batch,
                                              self.settings.lease.total_seconds(),
                                              silent_since=now - self.settings.silent_after)
            if not items:
                return handled
            # Items due at the same instant (a fan-out of reminders) run side by side, so one slow or
            # rate-limited send does not hold up the rest; different instants still run in due order.
            for _due_at, group in groupby(items, key=lambda i: i.due_at):
                batch = list(group)
                await asyncio.gather(*(self._run_limited(item, now) for item in batch))
                handled += len(batch)
                if self._lost_contact:  # claim nothing more: what is left is handed back at the next pass
                    return handled

    async def _run_limited(self, item: ClaimedItem, now: datetime) -> None:
        async with self._limit:
            if self._lost_contact:  # the database failed a sibling: leave the rest claimed, handed back next pass
                return
            await self._run_one(item, now)

    async def _run_one(self, item: ClaimedItem, now: datetime) -> None:
        """Handle one item and record its outcome; never raises, so no sibling is left running unawaited.

        When the database fails on the way (the handler met an outage, or the outcome could
        not be written) the item stays claimed by this worker; the next pass hands it back
        (``release_stranded``) and it runs again, at once and without a backoff: the work is
        not at fault, and every handler is idempotent (the outbox's keys).
        """
        self._running.add(item.id)
        try:
            await self._handle(item, now)
        except Exception as err:
            self._lost_contact = True
            if self.store.outage(err):
                log.warning("%s cut short: the database is unavailable (%s); it runs again at the next pass",
                            item.key, type(err).__name__)
            else:
                log.exception("recording the outcome of %s failed; it runs again at the next pass", item.key)
        finally:
            self._running.discard(item.id)

    async def _handle(self, item: ClaimedItem, now: datetime) -> None:
        store = self.store
        if now - item.due_at > self.settings.catch_up:
            log.warning("missed %s (due %s, now %s)", item.key, item.due_at.isoformat(), now.isoformat())
            await store.off_loop(store.finish, item.id, "missed", f"older than the catch-up window at {now.isoformat()}")
            metrics.inc("meridian_due_items_total", kind=item.kind, outcome="missed")
            return
        handler = self.handlers.get(item.kind)
        if handler is None:
            await store.off_loop(store.finish, item.id, "failed", f"no handler for kind {item.kind}")
            return
        try:
            await handler(item)
        except Exception as err:
            if store.outage(err):
                raise
            log.exception("handling %s failed", item.key)
            if item.attempts >= MAX_HANDLER_ATTEMPTS:
                await store.off_loop(store.finish, item.id, "failed", f"{type(err).__name__}: {err}")
            else:
                delay = RETRY_BACKOFF[min(item.attempts - 1, len(RETRY_BACKOFF) - 1)]
                await store.off_loop(store.retry_later, item.id, now + delay, f"{type(err).__name__}: {err}")
            return
        await store.off_loop(store.finish, item.id, "done")
        metrics.inc("meridian_due_items_total", kind=item.kind, outcome="done")

    def beat(self) -> None:
        """Record that this worker is alive, so that its claims are not taken over (``EngineSettings.silent_after``)."""
        self.store.beat(self.worker_id, self.clock.now())

    async def heartbeat(self) -> None:
        """The periodic heartbeat (``EngineSettings.heartbeat``); an unreachable database is retried next beat."""
        try:
            self.beat()
        except Exception as err:
            log.warning("heartbeat not recorded: %s", type(err).__name__)

    def release_stranded(self) -> None:
        """Hand back what the database failed this worker on: claimed items it is not running, and
        (the outbox's part) sends left ``sending``. Cheap when nothing failed: no query at all."""
        if self._lost_contact:
            released = self.store.release_claims(self.worker_id, keep=set(self._running))
            self._lost_contact = False
            if released:
                log.warning("%d scheduled items cut short by the database were handed back", released)
        if self._release_deliveries is not None:
            self._release_deliveries()

    async def tick(self) -> int:
        """One pass: plan, run what is due, retry failed deliveries. Survives an unreachable database:
        what a failing database cut short is handed back at the first pass that reaches it again."""
        try:
            self.beat()
            self.release_stranded()
            self.plan()
            handled = await self.run_due()
            await self._retry_deliveries()
            return handled
        except Exception as err:
            self._lost_contact = True
            if self.store.outage(err):
                log.warning("scheduler pass stopped: the database is unavailable (%s); the next pass retries",
                            type(err).__name__)
            else:
                log.exception("scheduler tick failed; the next tick retries and catches up")
            return 0

    async def advance_to(self, target: datetime, clock: SimulatedClock) -> int:
        """Move a simulated clock to ``target``, running everything that falls due on the way, in order."""
        handled = 0
        while True:
            self.release_stranded()
            self.plan()
            handled += await self.run_due()
            await self._retry_deliveries()
            nxt = self.store.next_due_at()
            through_raw = self.store.kv_get(SYSTEM, PLANNED_THROUGH)
            step = target
            if through_raw:
                step = min(step, datetime.fromisoformat(through_raw) - self.settings.plan_horizon / 2)
            if nxt is not None:
                step = min(step, nxt)
            if step <= clock.now():
                step = clock.now() + timedelta(seconds=1) if step < target else target
            if clock.now() >= target:
                return handled
            clock.set(min(step, target))
