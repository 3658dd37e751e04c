"""What the digests need from tracking and monitoring systems: records and ports.

The digests read experiments from MLflow or W&B, drift from Evidently, live numbers
from Prometheus and alerts from Alertmanager. Each of those is an adapter in
``adapters/`` that turns the system's answers into the platform-neutral records below,
so the digest logic is written, and tested, once.

A source that is down, slow or answering errors raises ``SourceUnavailable``: the
digest turns it into one "unavailable since" line and a retry, never a crash.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

from bot.digests.config import Goal, SeriesChoice, SourcesConfig, Target

__all__ = ["Goal", "SeriesChoice"]

RunStatus = Literal["FINISHED", "FAILED", "KILLED", "RUNNING"]
ENDED_STATUSES: tuple[RunStatus, ...] = ("FINISHED", "FAILED", "KILLED")


class SourceUnavailable(Exception):
    """A source could not answer (down, timed out, 5xx). ``source`` is the name users know it by."""

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"{source} unavailable: {reason}")
        self.source = source
        self.reason = reason


class MissingData(Exception):
    """The source answered, but what the configuration names is not there (a project, a model)."""


class QueryError(MissingData):
    """The source answered, but not with one number for the query: a bad query, a range or histogram, or
    several series and no way to choose. The message is written for the person who wrote the query."""


@dataclass(frozen=True)
class ExperimentRecord:
    """An MLflow experiment or a W&B project."""

    id: str
    name: str
    url: str | None = None
    """Its page in the tracking system's UI."""


@dataclass(frozen=True)
class RunRecord:
    run_id: str
    name: str
    experiment_id: str
    user: str
    """The tracking system's user name (MLflow ``user_id``, W&B username)."""
    status: RunStatus
    start_time: datetime
    end_time: datetime | None
    metrics: Mapping[str, float] = field(default_factory=dict, hash=False, compare=False)
    tags: Mapping[str, str] = field(default_factory=dict, hash=False, compare=False)
    last_metric_at: datetime | None = None
    """When the run last logged any metric; how a stale running run is told apart."""
    url: str | None = None


@dataclass(frozen=True)
class MetricPoint:
    step: int
    value: float
    at: datetime


@dataclass(frozen=True)
class ModelVersion:
    model: str
    version: str
    created_at: datetime
    run_id: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class RegisteredModel:
    name: str
    aliases: Mapping[str, str] = field(default_factory=dict, hash=False, compare=False)
    """Alias (``champion``) to version number."""


class TrackingSource(Protocol):
    """Experiment tracking (MLflow, W&B). Times are aware UTC; windows are (after, until]."""

    name: str
    """How users know the source: "MLflow", "W&B"."""

    async def experiments(self, patterns: Sequence[str]) -> list[ExperimentRecord]:
        """Experiments whose name matches any pattern (``*`` and ``?`` globs, or exact names)."""
        ...

    async def ended_runs(self, experiment_ids: Sequence[str], status: RunStatus, after: datetime,
                         until: datetime) -> list[RunRecord]:
        """Every run with ``status`` that ended in the window (the digest counts them all and ranks them itself)."""
        ...

    async def running_runs(self, experiment_ids: Sequence[str]) -> list[RunRecord]: ...

    async def best_run(self, experiment_id: str, metric: str, goal: Goal, before: datetime) -> RunRecord | None:
        """The best finished run that ended at or before ``before`` (the previous best)."""
        ...

    async def run(self, run_id: str) -> RunRecord | None: ...

    async def metric_history(self, run_id: str, metric: str) -> list[MetricPoint]: ...

    async def registered_model(self, name: str) -> RegisteredModel | None:
        """The model and its aliases; ``None`` when the source has no registry or no such model."""
        ...

    async def model_versions(self, name: str) -> list[ModelVersion]: ...

    async def close(self) -> None:
        """Release the HTTP session (a CLI run ends its event loop after one digest)."""
        ...


class RunFeed(Protocol):
    """What run events need of a tracking source: the runs that changed, found without reading them all."""

    async def ended_since(self, experiment_ids: Sequence[str], after: datetime) -> list[RunRecord]:
        """Runs of any ended status whose end time is after ``after``."""
        ...

    async def running_meeting(self, experiment_ids: Sequence[str], target: Target) -> list[RunRecord]:
        """Running runs whose latest value of the target's metric meets it."""
        ...

    async def runs_by_id(self, experiment_ids: Sequence[str], run_ids: Sequence[str]) -> list[RunRecord]: ...


@dataclass(frozen=True)
class DriftRule:
    """How one stat test turns a column's score and threshold into a verdict.

    P-value tests drift when the score is small (``below``), distances when it is large; some
    tests count a score equal to the threshold as drift and some do not (``or_equal``). The
    monitoring adapter knows which rule each of its tests follows; the digest only applies it.
    """

    below: bool
    or_equal: bool

    def drifted(self, score: float, threshold: float) -> bool:
        if score == threshold:
            return self.or_equal
        return score < threshold if self.below else score > threshold

    @property
    def sign(self) -> str:
        """The comparison that means drift, as people read it (``score < threshold``)."""
        return ("≤" if self.or_equal else "<") if self.below else ("≥" if self.or_equal else ">")


P_VALUE = DriftRule(below=True, or_equal=False)
DISTANCE = DriftRule(below=False, or_equal=True)


@dataclass(frozen=True)
class ColumnDrift:
    column: str
    method: str
    """The stat test as people know it ("K-S p_value", "Wasserstein distance (normed)")."""
    score: float
    threshold: float
    rule: DriftRule | None
    """``None`` when the verdict cannot be told from the score and threshold (an unknown or custom test)."""

    @property
    def drifted(self) -> bool:
        return self.rule is not None and self.rule.drifted(self.score, self.threshold)

    @property
    def strength(self) -> float:
        """How far past its threshold a column is, comparable across methods (1.0 = at the threshold)."""
        if self.rule is not None and self.rule.below:
            return max(self.threshold, 1e-300) / max(self.score, 1e-300)
        return self.score / self.threshold if self.threshold > 0 else float("inf")


@dataclass(frozen=True)
class DriftSnapshot:
    """One drift report of one project (model), as the monitoring system stored it."""

    snapshot_id: str
    taken_at: datetime
    drifted_share: float | None
    share_threshold: float | None
    columns: tuple[ColumnDrift, ...] = ()
    url: str | None = None
    """The report's page in the monitoring UI (Evidently: ``/projects/{id}/reports/{snapshot id}``)."""
    project_url: str | None = None
    """The project's page in the monitoring UI (Evidently: ``/projects/{id}``)."""


class MonitoringSource(Protocol):
    """Data drift monitoring (Evidently)."""

    name: str

    async def snapshots(self, project: str, after: datetime, until: datetime) -> list[DriftSnapshot]:
        """Drift snapshots of a project taken in the window, oldest first."""
        ...

    async def close(self) -> None: ...


@dataclass(frozen=True)
class Sample:
    at: datetime
    value: float


@dataclass(frozen=True)
class InstantSample:
    """One series of an instant query's answer: its labels and its value (``None`` for NaN or ±Inf)."""

    labels: Mapping[str, str]
    value: float | None
    histogram: bool = False
    """A native-histogram sample: it has no single value."""


def labels_text(labels: Mapping[str, str]) -> str:
    return "{" + ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"


COMBINE: dict[str, Callable[[list[float]], float]] = {
    "sum": lambda v: float(sum(v)), "avg": lambda v: sum(v) / len(v), "min": min, "max": max}


def choose(samples: Sequence[InstantSample], choice: SeriesChoice, query: str) -> float | None:
    """The number a check means among the series a query answered with (``None`` when there is none)."""
    chosen = [s for s in samples if all(s.labels.get(k) == v for k, v in choice.labels.items())]
    histogram = next((s for s in chosen if s.histogram), None)
    if histogram is not None:
        raise QueryError(f"{query!r} answers with a native histogram ({labels_text(histogram.labels)}), not a "
                         "number: read one from it, e.g. histogram_quantile(0.95, …) or histogram_count(…)")
    values = [s.value for s in chosen if s.value is not None]
    if choice.aggregate is not None:
        if not values:
            return None
        return COMBINE[choice.aggregate](values)
    if len(chosen) > 1:
        which = f"{len(chosen)} series with {labels_text(choice.labels)}" if choice.labels \
            else f"{len(chosen)} series"
        shown = ", ".join(labels_text(s.labels) for s in chosen[:3]) + (", …" if len(chosen) > 3 else "")
        raise QueryError(f"{query!r} answers with {which} ({shown}): name the series with `labels:` "
                         "or combine them with `aggregate: sum|avg|min|max`")
    return chosen[0].value if chosen else None


class MetricsSource(Protocol):
    """Live service metrics (Prometheus)."""

    name: str

    async def instant(self, query: str, at: datetime, choice: SeriesChoice | None = None) -> float | None:
        """The query's value at ``at``, chosen among several series as ``choice`` says; ``None`` when empty.

        Raises ``QueryError`` when the answer is not one number (``choose``), ``SourceUnavailable`` on outages.
        """
        ...

    async def series(self, query: str, start: datetime, end: datetime, step_seconds: int) -> list[Sample]: ...

    async def close(self) -> None: ...


@dataclass(frozen=True)
class AlertEvent:
    """One alert from an Alertmanager webhook; ``fingerprint`` is stable from firing to resolved."""

    fingerprint: str
    status: Literal["firing", "resolved"]
    name: str
    labels: Mapping[str, str] = field(default_factory=dict, hash=False, compare=False)
    annotations: Mapping[str, str] = field(default_factory=dict, hash=False, compare=False)
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    url: str | None = None


class SilenceRefused(Exception):
    """Alertmanager refused a silence (its 400 answer, in its words)."""


@dataclass(frozen=True)
class Silence:
    """A silence as Alertmanager's API v2 keeps it."""

    id: str
    state: Literal["active", "pending", "expired"]
    ends_at: datetime
    created_by: str = ""


class Silences(Protocol):
    """Alertmanager's silences (API v2): what the alert buttons create, read and lift.

    Outages (unreachable, timeout, 5xx) raise ``SourceUnavailable``; a refusal raises ``SilenceRefused``.
    """

    async def create(self, matchers: Mapping[str, str], starts_at: datetime, ends_at: datetime,
                     created_by: str, comment: str) -> str:
        """Silence alerts carrying exactly these labels; returns the silence id."""
        ...

    async def get(self, silence_id: str) -> Silence | None:
        """The silence, or ``None`` when Alertmanager no longer knows it."""
        ...

    async def expire(self, silence_id: str) -> None: ...

    async def firing(self, labels: Mapping[str, str]) -> bool:
        """Whether Alertmanager still holds an unresolved alert with exactly these labels, muted or not."""
        ...

    async def close(self) -> None: ...


@dataclass
class SourceSet:
    """The adapters behind a workspace's configured sources, by the names the team file gives them."""

    tracking: dict[str, TrackingSource] = field(default_factory=dict)
    monitoring: dict[str, MonitoringSource] = field(default_factory=dict)
    metrics: MetricsSource | None = None
    silences: Silences | None = None
    feeds: dict[str, RunFeed] = field(default_factory=dict)
    """Tracking sources (by team-file name) whose run events are polled; each is also in ``tracking``."""

    async def close(self) -> None:
        for tracking in self.tracking.values():
            await tracking.close()
        for monitoring in self.monitoring.values():
            await monitoring.close()
        if self.metrics is not None:
            await self.metrics.close()
        if self.silences is not None:
            await self.silences.close()


SourceFactory = Callable[[SourcesConfig], SourceSet]
"""The port the composition root fills: a workspace's ``sources:`` in, its adapters out.

It raises ``SourcesConfigError`` for what only the adapters can check (a W&B source with no API key).
"""


class ChartPublisher(Protocol):
    def publish(self, workspace: str, values: Sequence[float | None]) -> str | None:
        """Keep the series and return the URL its chart is served at; ``None`` when charts are not served."""
        ...


class WebhookReceiver(Protocol):
    """What ``meridian serve``'s webhooks hand one workspace's digests: alerts as they fire, registry news."""

    async def alerts_received(self, events: Sequence[AlertEvent]) -> int:
        """Queue Alertmanager alerts durably (returns how many); they are posted from the due work, a firing
        one once, updated when it resolves."""
        ...

    async def registry_event(self, entity: str, action: str, data: Mapping[str, Any], delivery_id: str) -> bool:
        """Post MLflow registry news; ``False`` for events that are not news."""
        ...

    async def run_changed(self, kind: str, entity: str | None, project: str, run_id: str | None) -> int | None:
        """A tracking system says a run changed (W&B's Automations webhook): read it back and tell its events
        as a poll would (a poll of the project when ``run_id`` is ``None``). Returns how many messages went to
        the outbox, or ``None`` when no source with run events watches that project. Raises
        ``SourceUnavailable`` when the source cannot be read (the next poll catches up)."""
        ...


class WebhookReceivers(Protocol):
    """The workspaces' receivers, by workspace id (the digests' registry offers this to the web adapter)."""

    def get(self, workspace: str) -> WebhookReceiver | None: ...

    def configured(self) -> list[str]:
        """The workspaces that have sources."""
        ...

