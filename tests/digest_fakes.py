"""Ports for the digest tests: a chat that records, a clock the test moves, and fake sources."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.digests.install import Digests
from bot.digests.sources import (
    ChartPublisher,
    DriftSnapshot,
    ExperimentRecord,
    Goal,
    MetricPoint,
    ModelVersion,
    RegisteredModel,
    RunRecord,
    RunStatus,
    Sample,
    SeriesChoice,
    SourceFactory,
    SourceUnavailable,
)
from bot.kernel.app import Meridian
from bot.kernel.domain import Member, Workspace
from bot.kernel.messages import Form, Message
from bot.kernel.ports import ActivityOwners, Posted, Profile, Store


@dataclass
class Sent:
    channel: str
    message: Message
    thread: str | None
    id: str


class RecordingChat:
    platform = "console"

    def __init__(self) -> None:
        self.sent: list[Sent] = []
        self.updates: list[tuple[str, Message]] = []

    async def post(self, workspace: str, channel: str, message: Message, thread: str | None = None) -> Posted:
        self.sent.append(Sent(channel, message, thread, str(len(self.sent) + 1)))
        return Posted(channel, str(len(self.sent)))

    async def update(self, workspace: str, posted: Posted, message: Message) -> None:
        self.updates.append((posted.message_id, message))

    async def dm(self, member: Member, message: Message) -> Posted:
        return await self.post(member.workspace, f"dm:{member.id}", message)

    async def ephemeral(self, member: Member, channel: str, message: Message) -> None:
        return None

    async def open_form(self, member: Member, form: Form, trigger: str | None) -> bool:
        return False

    async def profile(self, member: Member) -> Profile | None:
        return None

    def texts(self) -> list[str]:
        return [s.message.fallback for s in self.sent]


class FrozenClock:
    def __init__(self, now: datetime) -> None:
        self.current = now

    def now(self) -> datetime:
        return self.current


def make_app(store: Store, now: datetime,
             members: Sequence[Member] = ()) -> tuple[Meridian, Store, RecordingChat, FrozenClock]:
    """The bare core (no other capability) on a real store, a recording chat and a clock the test moves."""
    chat, clock = RecordingChat(), FrozenClock(now)
    store.upsert_workspace(Workspace("acme-ml"))
    for m in members:
        store.upsert_member(m)
    app = Meridian(store, clock, {"console": chat})
    return app, store, chat, clock


def installed(app: Meridian, sources: SourceFactory, charts: ChartPublisher | None = None,
              owners: ActivityOwners | None = None) -> Digests:
    """The digests capability built with the given ports and installed on ``app``, as bootstrap does."""
    digests = Digests(sources, charts, owners)
    app.install([digests])
    return digests


@dataclass
class FakeTracking:
    """A tracking source over lists of records, answering the way the MLflow adapter does."""

    experiments_: list[ExperimentRecord] = field(default_factory=list)
    runs: list[RunRecord] = field(default_factory=list)
    models: dict[str, RegisteredModel] = field(default_factory=dict)
    versions: dict[str, list[ModelVersion]] = field(default_factory=dict)
    history: dict[str, list[MetricPoint]] = field(default_factory=dict)
    down: bool = False
    name: str = "MLflow"
    calls: list[str] = field(default_factory=list)

    def _check(self, call: str) -> None:
        self.calls.append(call)
        if self.down:
            raise SourceUnavailable(self.name, "connection refused")

    async def experiments(self, patterns: Sequence[str]) -> list[ExperimentRecord]:
        self._check("experiments")
        return [e for e in self.experiments_ if any(fnmatch.fnmatchcase(e.name, p) for p in patterns)]

    async def ended_runs(self, experiment_ids: Sequence[str], status: RunStatus, after: datetime,
                         until: datetime) -> list[RunRecord]:
        self._check(f"ended_runs:{status}")
        return [r for r in self.runs if r.experiment_id in experiment_ids and r.status == status
                and r.end_time is not None and after < r.end_time <= until]

    async def running_runs(self, experiment_ids: Sequence[str]) -> list[RunRecord]:
        self._check("running_runs")
        return [r for r in self.runs if r.experiment_id in experiment_ids and r.status == "RUNNING"]

    async def best_run(self, experiment_id: str, metric: str, goal: Goal, before: datetime) -> RunRecord | None:
        self._check("best_run")
        done = [r for r in self.runs if r.experiment_id == experiment_id and r.status == "FINISHED"
                and r.end_time is not None and r.end_time <= before and metric in r.metrics]
        if not done:
            return None
        pick = max if goal == "max" else min
        return pick(done, key=lambda r: r.metrics[metric])

    async def run(self, run_id: str) -> RunRecord | None:
        self._check("run")
        return next((r for r in self.runs if r.run_id == run_id), None)

    async def metric_history(self, run_id: str, metric: str) -> list[MetricPoint]:
        self._check("metric_history")
        return self.history.get(run_id, [])

    async def registered_model(self, name: str) -> RegisteredModel | None:
        self._check("registered_model")
        return self.models.get(name)

    async def model_versions(self, name: str) -> list[ModelVersion]:
        self._check("model_versions")
        return self.versions.get(name, [])

    async def close(self) -> None:
        return None


@dataclass
class FakeMonitoring:
    by_project: dict[str, list[DriftSnapshot]] = field(default_factory=dict)
    down: bool = False
    name: str = "Evidently"

    async def snapshots(self, project: str, after: datetime, until: datetime) -> list[DriftSnapshot]:
        if self.down:
            raise SourceUnavailable(self.name, "timed out")
        return [s for s in self.by_project.get(project, []) if after < s.taken_at <= until]

    async def close(self) -> None:
        return None


@dataclass
class FakeMetrics:
    values: dict[str, float | None] = field(default_factory=dict)
    name: str = "Prometheus"

    async def instant(self, query: str, at: datetime, choice: SeriesChoice | None = None) -> float | None:
        return self.values.get(query)

    async def series(self, query: str, start: datetime, end: datetime, step_seconds: int) -> list[Sample]:
        return []

    async def close(self) -> None:
        return None


# --- reading what a fake chat was sent -----------------------------------------------------------
def plain(text: str) -> str:
    """A message's text without the links' addresses, as the tests compare it."""
    return re.sub(r" \(http://[^ )]*\)", "", text)


def dms(chat: Any, member: str) -> list[str]:
    return [plain(s.message.fallback) for s in chat.sent if s.channel == f"dm:{member}"]


def channel(chat: Any) -> list[str]:
    return [plain(s.message.fallback) for s in chat.sent if s.channel == "#ml-team"]
