"""When digests are due, and what happens when they are: planning and the due-work handlers.

A digest occurrence is keyed by kind, workspace, channel and local day, so planning the
same days twice schedules nothing new. An experiments digest whose tracking source was
down schedules retries with backoff; when the source answers again, what the digest
missed is posted in its thread.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta

from bot.digests.alerts import ALERTS_RECEIVED, SILENCED_CHECK, event_from_json
from bot.digests.config import DigestSchedule, SourcesConfig
from bot.digests.events import RUN_EVENTS, plan_polls
from bot.digests.messages import DigestMessages
from bot.digests.service import DigestRegistry, DigestService, ExperimentsRun
from bot.kernel.app import Meridian
from bot.kernel.messages import Message, Section, rich
from bot.kernel.ports import ClaimedItem, DueItem
from bot.kernel.timekeeping import at_local, iso_z, local_date

RETRY_BACKOFF = (timedelta(minutes=5), timedelta(minutes=15), timedelta(minutes=45), timedelta(hours=2))

EXPERIMENTS = "digest.experiments"
EXPERIMENTS_RETRY = "digest.experiments-retry"
DRIFT = "digest.drift"
DRIFT_CHECK = "digest.drift-check"


def occurrence_key(workspace: str, schedule: DigestSchedule, day: str) -> str:
    return f"digest:{schedule.kind}:{workspace}:{schedule.channel}:{day}"


def plan_digests(workspace: str, config: SourcesConfig, start: datetime, end: datetime) -> list[DueItem]:
    """Digest occurrences and drift checks in [start, end); keys are unique per occurrence."""
    items: list[DueItem] = []
    for schedule in config.digests:
        first = local_date(start, schedule.tz) - timedelta(days=1)
        last = local_date(end, schedule.tz) + timedelta(days=1)
        day = first
        while day <= last:
            instant = at_local(day, schedule.at, schedule.tz)
            if start <= instant < end and day.strftime("%a").lower() in schedule.days:
                items.append(DueItem(occurrence_key(workspace, schedule, day.isoformat()), f"digest.{schedule.kind}",
                                     workspace, instant, {"channel": schedule.channel, "day": day.isoformat(),
                                                          "tz": schedule.tz}))
            day += timedelta(days=1)
        if schedule.kind == "drift":
            step = int(schedule.check_every.total_seconds())
            tick = (int(start.timestamp()) + step - 1) // step * step
            while tick < end.timestamp():
                instant = datetime.fromtimestamp(tick, tz=start.tzinfo)
                items.append(DueItem(f"drift-check:{workspace}:{iso_z(instant)}", DRIFT_CHECK, workspace,
                                     instant, {}))
                tick += step
    return items


async def post_experiments_digest(service: DigestService, key: str, channel: str,
                                  sources: Sequence[str] = ()) -> ExperimentsRun:
    """Build, post and commit one experiments digest; the run tells which tracking sources were down."""
    run = await service.experiments(sources=sources)
    await service.post_digest(key, channel, run.digest)
    service.commit(run)
    return run


def _schedule_retry(service: DigestService, item_key: str, channel: str, down: Sequence[str], attempt: int) -> None:
    if not down or attempt > len(RETRY_BACKOFF):
        return
    due = service.app.now() + RETRY_BACKOFF[attempt - 1]
    service.app.store.schedule([DueItem(f"{item_key}:retry:{attempt}", EXPERIMENTS_RETRY, service.workspace,
                                        due, {"channel": channel, "parent": item_key, "sources": list(down),
                                              "attempt": attempt})])


class DigestJobs:
    """The planner and the due-work handlers, over every workspace's digests."""

    def __init__(self, registry: DigestRegistry) -> None:
        self.registry = registry
        self._alert_books: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        """One queued delivery at a time per workspace: each reads and rewrites the workspace's alert book."""

    def plan(self, app: Meridian, start: datetime, end: datetime) -> list[DueItem]:
        items: list[DueItem] = []
        for ws in app.store.list_workspaces():
            service = self.registry.get(ws.id)
            if service is not None:
                items.extend(plan_digests(ws.id, service.config, start, end))
                items.extend(plan_polls(ws.id, service.config.tracking, start, end))
        return items

    def _service(self, workspace: str) -> DigestService:
        service = self.registry.get(workspace)
        if service is None:
            raise LookupError(f"workspace {workspace} has no digest configuration")
        return service

    async def experiments(self, app: Meridian, item: ClaimedItem) -> None:
        service = self._service(item.workspace)
        channel = item.payload["channel"]
        schedule = service.config.digest("experiments")
        run = await post_experiments_digest(service, item.key, channel, schedule.sources if schedule else ())
        _schedule_retry(service, item.key, channel, run.down, 1)

    async def experiments_retry(self, app: Meridian, item: ClaimedItem) -> None:
        """Try the sources that were down again; post what they have in the digest's thread once they answer."""
        service = self._service(item.workspace)
        payload = item.payload
        run = await service.experiments(sources=payload["sources"])
        digest, down = run.digest, run.down
        back = [s for s in payload["sources"] if s not in down]
        if back:
            names = ", ".join(back)
            headline = Message((Section(rich(f"✅ {names} answered again; here is what it missed:")),
                                *digest.headline.blocks),
                               fallback=f"✅ {names} answered again.\n{digest.headline.fallback}")
            await service.post_digest(item.key, payload["channel"], DigestMessages(headline, digest.details),
                                      thread_key=payload["parent"])
            service.commit(run)
        _schedule_retry(service, payload["parent"], payload["channel"], down, int(payload["attempt"]) + 1)

    async def drift(self, app: Meridian, item: ClaimedItem) -> None:
        service = self._service(item.workspace)
        await service.post_digest(item.key, item.payload["channel"], await service.drift())

    async def drift_check(self, app: Meridian, item: ClaimedItem) -> None:
        await self._service(item.workspace).check_drift()

    async def run_events(self, app: Meridian, item: ClaimedItem) -> None:
        await self._service(item.workspace).run_events(item.payload["source"], item.due_at)

    async def alerts(self, app: Meridian, item: ClaimedItem) -> None:
        """A queued Alertmanager delivery, posted (posts are keyed, so a retry after a crash sends nothing twice)."""
        async with self._alert_books[item.workspace]:
            await self._service(item.workspace).post_alerts([event_from_json(a) for a in item.payload["alerts"]])

    async def silenced(self, app: Meridian, item: ClaimedItem) -> None:
        """A look in Alertmanager at an alert muted by a silence from Meridian (it may have resolved unseen)."""
        async with self._alert_books[item.workspace]:
            await self._service(item.workspace).check_silenced(item.payload["key"], item.payload["silence"])

    def install(self, app: Meridian) -> None:
        app.on_due(ALERTS_RECEIVED, self.alerts)
        app.on_due(SILENCED_CHECK, self.silenced)
        app.on_due(EXPERIMENTS, self.experiments)
        app.on_due(EXPERIMENTS_RETRY, self.experiments_retry)
        app.on_due(DRIFT, self.drift)
        app.on_due(DRIFT_CHECK, self.drift_check)
        app.on_due(RUN_EVENTS, self.run_events)
        app.add_planner(self.plan)
