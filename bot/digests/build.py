"""The experiments and drift digests: what ran, what improved, what broke, what drifts.

Two steps each, kept apart so both can be tested without a server:

* *gathering* asks the sources (``bot.digests.sources`` ports) for what happened in a window
  and returns a plain report plus the state to remember (watermark, bests, trends);
* *composing* turns reports into a ``DigestMessages``: one headline for the channel
  and the details for its thread.

The experiments window is (watermark − overlap, now]. Runs already reported inside
the overlap are remembered by id, so a run is never reported twice, and a run whose
end is recorded a little late is still caught rather than skipped.
"""

from __future__ import annotations

import asyncio
import fnmatch
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from bot.digests.config import ModelConfig, PromCheck, TrackingConfig
from bot.digests.sources import (
    ColumnDrift,
    DriftSnapshot,
    ExperimentRecord,
    Goal,
    MetricsSource,
    MissingData,
    MonitoringSource,
    RegisteredModel,
    RunRecord,
    SourceUnavailable,
    TrackingSource,
)
from bot.digests.text import clock, duration, number, percent, signed, sparkline
from bot.kernel.domain import Member
from bot.kernel.messages import (
    Context,
    Divider,
    Image,
    Inline,
    Mention,
    Message,
    Section,
    Strong,
    plain,
    rich,
)
from bot.kernel.timekeeping import local_date

OVERLAP = timedelta(minutes=10)
"""How far before the watermark each window starts, to catch runs whose end was recorded late."""
TREND_DAYS = 14
DRIFT_TREND_DAYS = 7
TOP_RUNS = 3
TOP_COLUMNS = 5
ALERT_LOOKBACK = timedelta(hours=24)


@dataclass(frozen=True)
class DigestMessages:
    """A headline for the channel and the messages that go in its thread."""

    headline: Message
    details: tuple[Message, ...] = ()

    def as_one(self) -> Message:
        """Everything in one message, for an on-demand reply or a dry run."""
        blocks = list(self.headline.blocks)
        texts = [self.headline.fallback]
        for detail in self.details:
            blocks.append(Divider())
            blocks.extend(detail.blocks)
            texts.append(detail.fallback)
        return Message(tuple(blocks), fallback="\n\n".join(texts))


def _message(sections: Sequence[Section | Context | Image]) -> Message:
    lines = [plain(s.text) if not isinstance(s, Image) else s.alt for s in sections]
    for s in sections:
        if isinstance(s, Section):
            lines.extend(plain(f) for f in s.fields)
    return Message(tuple(sections), fallback="\n".join(lines))


def better(a: float, b: float, goal: Goal) -> bool:
    return a > b if goal == "max" else a < b


def _ms(instant: datetime) -> int:
    return int(instant.timestamp() * 1000)


def _from_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


# =========================================================================================
# Experiments: state
# =========================================================================================

@dataclass
class ExperimentsState:
    """What one tracking source's digest remembers between runs (stored as JSON)."""

    watermark: datetime | None = None
    recent: dict[str, int] = field(default_factory=dict)
    """Run id → end time (ms) of runs reported within the overlap before the watermark."""
    best: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Experiment id → {value, run_id, run}: the best finished run ever reported."""
    daily: dict[str, dict[str, float]] = field(default_factory=dict)
    """Experiment id → {local date: best metric that day}, the trend line."""
    aliases: dict[str, dict[str, str]] = field(default_factory=dict)
    """Model → {alias: version} as last reported, so alias moves are news once."""

    def to_json(self) -> dict[str, Any]:
        return {"watermark": self.watermark.isoformat() if self.watermark else None, "recent": self.recent,
                "best": self.best, "daily": self.daily, "aliases": self.aliases}

    @staticmethod
    def from_json(raw: Any) -> ExperimentsState:
        if not isinstance(raw, dict):
            return ExperimentsState()
        mark = raw.get("watermark")
        return ExperimentsState(watermark=datetime.fromisoformat(mark) if mark else None,
                                recent=dict(raw.get("recent") or {}), best=dict(raw.get("best") or {}),
                                daily={k: dict(v) for k, v in (raw.get("daily") or {}).items()},
                                aliases={k: dict(v) for k, v in (raw.get("aliases") or {}).items()})


# =========================================================================================
# Experiments: report
# =========================================================================================

@dataclass(frozen=True)
class RankedRun:
    run: RunRecord
    value: float
    change: float | None
    """Against the comparator (champion or previous best); ``None`` when there is none."""
    is_champion: bool = False


@dataclass(frozen=True)
class Comparator:
    label: str
    """"champion v3", "previous best"."""
    value: float
    run_id: str | None = None


@dataclass(frozen=True)
class ExperimentSummary:
    experiment: ExperimentRecord
    finished: int
    failed: tuple[RunRecord, ...]
    killed: tuple[RunRecord, ...]
    running: int
    stale: tuple[RunRecord, ...]
    top: tuple[RankedRun, ...]
    comparator: Comparator | None
    new_bests: tuple[tuple[RunRecord, float, float | None], ...]
    """(run, value, the best it beat) in the order they happened."""
    trend: tuple[float | None, ...]
    curve: tuple[float, ...] = ()
    """The metric's history over steps for the best new run, when there is a new best."""

    @property
    def quiet(self) -> bool:
        return not (self.finished or self.failed or self.killed or self.running)


@dataclass(frozen=True)
class RegistryNews:
    model: str
    new_versions: tuple[str, ...]
    alias_moves: tuple[tuple[str, str | None, str | None], ...]
    """(alias, from version, to version)."""


@dataclass(frozen=True)
class ExperimentsReport:
    source: str
    metric: str
    goal: Goal
    since: datetime
    until: datetime
    experiments: tuple[ExperimentSummary, ...] = ()
    registry: tuple[RegistryNews, ...] = ()
    unavailable_since: datetime | None = None
    """Set when the source could not answer; the rest of the report is then empty."""


@dataclass(frozen=True)
class People:
    """Tracking user names (MLflow ``user_id``, W&B user) mapped to team members."""

    by_account: Mapping[str, Member] = field(default_factory=dict)

    @staticmethod
    def of(members: Sequence[Member], platform: str) -> People:
        mapped: dict[str, Member] = {}
        for m in members:
            mapped.setdefault(m.id, m)
        for m in members:
            mapped[m.account(platform)] = m
        return People(mapped)

    def name(self, user: str) -> str:
        member = self.by_account.get(user)
        return member.name if member else user

    def inline(self, user: str) -> Inline:
        member = self.by_account.get(user)
        return Mention(member.id, member.name) if member else user


def _matches(name: str, patterns: Sequence[str]) -> bool:
    return any(fnmatch.fnmatchcase(name, p) for p in patterns)


def _daily_best(runs: Sequence[RunRecord], metric: str, goal: Goal, tz: str) -> dict[str, float]:
    days: dict[str, float] = {}
    for run in runs:
        value = run.metrics.get(metric)
        if value is None or run.end_time is None or not math.isfinite(value):
            continue
        day = local_date(run.end_time, tz).isoformat()
        if day not in days or better(value, days[day], goal):
            days[day] = value
    return days


async def gather_experiments(source: TrackingSource, cfg: TrackingConfig, state: ExperimentsState,
                             now: datetime, tz: str = "UTC",
                             only: str | None = None) -> tuple[ExperimentsReport, ExperimentsState]:
    """Ask the source what happened since the watermark; return the report and the state to keep.

    Raises ``SourceUnavailable`` when the source cannot answer; the caller keeps the
    old state so the next attempt covers the same window.
    """
    since = state.watermark or now - cfg.lookback
    query_after = since - OVERLAP
    experiments = await source.experiments(cfg.experiments)
    if only:
        experiments = [e for e in experiments if e.name == only or _matches(e.name, [only])]
    ids = [e.id for e in experiments]
    ended: dict[str, list[RunRecord]] = {"FINISHED": [], "FAILED": [], "KILLED": []}
    running: list[RunRecord] = []
    if ids:
        # One query per status (the search grammar has no IN on status), all in flight at once.
        *by_status, running = await asyncio.gather(
            *(source.ended_runs(ids, status, query_after, now) for status in ended),  # type: ignore[arg-type]
            source.running_runs(ids))
        for status, runs in zip(ended, by_status, strict=True):
            ended[status] = [r for r in runs if r.run_id not in state.recent]

    registry, champions, aliases = await _registry(source, cfg, state, since, now)

    new_state = ExperimentsState(watermark=now, best=dict(state.best), daily={k: dict(v) for k, v in state.daily.items()},
                                 aliases=aliases)
    keep_after = _ms(now - OVERLAP)
    new_state.recent = {k: v for k, v in state.recent.items() if v > keep_after}
    for status_runs in ended.values():
        for run in status_runs:
            if run.end_time and _ms(run.end_time) > keep_after:
                new_state.recent[run.run_id] = _ms(run.end_time)

    by_experiment: dict[str, dict[str, list[RunRecord]]] = {e.id: {s: [] for s in ended} for e in experiments}
    for status, runs in ended.items():
        for run in runs:
            by_experiment.get(run.experiment_id, {}).setdefault(status, []).append(run)
    live: dict[str, list[RunRecord]] = {}
    for run in running:
        live.setdefault(run.experiment_id, []).append(run)
    summaries = list(await asyncio.gather(*(
        _summarise(source, cfg, exp, by_experiment[exp.id], live.get(exp.id, []), champions.get(exp.id), state,
                   new_state, since, now, tz) for exp in experiments)))
    report = ExperimentsReport(source=source.name, metric=cfg.metric, goal=cfg.goal, since=since, until=now,
                               experiments=tuple(summaries), registry=tuple(registry))
    return report, new_state


async def _registry(source: TrackingSource, cfg: TrackingConfig, state: ExperimentsState, since: datetime,
                    now: datetime) -> tuple[list[RegistryNews], dict[str, Comparator], dict[str, dict[str, str]]]:
    """Registry news since the watermark, and each experiment's champion to compare against."""
    news: list[RegistryNews] = []
    champions: dict[str, Comparator] = {}
    aliases: dict[str, dict[str, str]] = dict(state.aliases)
    for name in cfg.models:
        model: RegisteredModel | None = await source.registered_model(name)
        if model is None:
            continue
        versions = await source.model_versions(name)
        fresh = tuple(v.version for v in sorted(versions, key=lambda v: int(v.version) if v.version.isdigit() else 0)
                      if since < v.created_at <= now)
        before = state.aliases.get(name)
        current = dict(model.aliases)
        moves: list[tuple[str, str | None, str | None]] = []
        if before is not None:
            for alias in sorted(set(before) | set(current)):
                if before.get(alias) != current.get(alias):
                    moves.append((alias, before.get(alias), current.get(alias)))
        aliases[name] = current
        if fresh or moves:
            news.append(RegistryNews(name, fresh, tuple(moves)))
        champion_version = current.get(cfg.champion_alias)
        run_id = next((v.run_id for v in versions if v.version == champion_version), None)
        if run_id:
            run = await source.run(run_id)
            value = run.metrics.get(cfg.metric) if run else None
            if run is not None and value is not None:
                champions.setdefault(run.experiment_id, Comparator(f"{cfg.champion_alias} {name} v{champion_version}",
                                                                   value, run.run_id))
    return news, champions, aliases


async def _summarise(source: TrackingSource, cfg: TrackingConfig, exp: ExperimentRecord,
                     ended: dict[str, list[RunRecord]], running: list[RunRecord], champion: Comparator | None,
                     state: ExperimentsState, new_state: ExperimentsState, since: datetime, now: datetime,
                     tz: str) -> ExperimentSummary:
    metric, goal = cfg.metric, cfg.goal
    finished = ended["FINISHED"]
    scored = [(r, r.metrics[metric]) for r in finished if metric in r.metrics and math.isfinite(r.metrics[metric])]

    previous = state.best.get(exp.id)
    if previous is None:
        earlier = await source.best_run(exp.id, metric, goal, since - OVERLAP)
        if earlier is not None and metric in earlier.metrics:
            previous = {"value": earlier.metrics[metric], "run_id": earlier.run_id, "run": earlier.name}
    comparator = champion or (Comparator("previous best", previous["value"], previous["run_id"]) if previous else None)

    ranked = sorted(scored, key=lambda rv: rv[1], reverse=goal == "max")[:TOP_RUNS]
    top = tuple(RankedRun(r, v, v - comparator.value if comparator else None,
                          is_champion=bool(comparator and comparator.run_id == r.run_id)) for r, v in ranked)

    best_value = previous["value"] if previous else None
    new_bests: list[tuple[RunRecord, float, float | None]] = []
    for run, value in sorted(scored, key=lambda rv: rv[0].end_time or now):
        if best_value is None or better(value, best_value, goal):
            new_bests.append((run, value, best_value))
            best_value = value
            new_state.best[exp.id] = {"value": value, "run_id": run.run_id, "run": run.name}
    if previous and exp.id not in new_state.best:
        new_state.best[exp.id] = previous

    daily = new_state.daily.setdefault(exp.id, {})
    for day, value in _daily_best(finished, metric, goal, tz).items():
        if day not in daily or better(value, daily[day], goal):
            daily[day] = value
    today = local_date(now, tz)
    days = [(today - timedelta(days=i)).isoformat() for i in range(TREND_DAYS - 1, -1, -1)]
    for old in [d for d in daily if d < days[0]]:
        del daily[old]
    trend = tuple(daily.get(d) for d in days)

    curve: tuple[float, ...] = ()
    if new_bests:
        history = await source.metric_history(new_bests[-1][0].run_id, metric)
        curve = tuple(p.value for p in sorted(history, key=lambda p: (p.step, p.at)))

    stale_before = now - cfg.stale_after
    stale = tuple(r for r in running if (r.last_metric_at or r.start_time) < stale_before)
    return ExperimentSummary(experiment=exp, finished=len(finished), failed=tuple(ended["FAILED"]),
                             killed=tuple(ended["KILLED"]), running=len(running), stale=stale, top=top,
                             comparator=comparator, new_bests=tuple(new_bests), trend=trend, curve=curve)


# =========================================================================================
# Experiments: messages
# =========================================================================================

def unavailable_line(source: str, since: datetime, tz: str, now: datetime) -> str:
    return f"⚠️ {source} unavailable since {clock(since, tz, now)} — retrying with backoff."


ChartUrl = Callable[[Sequence[float | None]], str | None]


def compose_experiments(reports: Sequence[ExperimentsReport], people: People, tz: str, now: datetime,
                        error_tag: str = "error", charts: ChartUrl | None = None) -> DigestMessages:
    """One headline (a single line on a quiet day) and a thread message per experiment."""
    live = [r for r in reports if r.unavailable_since is None]
    down = [r for r in reports if r.unavailable_since is not None]
    summaries = [s for r in live for s in r.experiments]
    since = min((r.since for r in live), default=now)
    finished = sum(s.finished for s in summaries)
    failed = sum(len(s.failed) for s in summaries)
    killed = sum(len(s.killed) for s in summaries)
    running = sum(s.running for s in summaries)
    stale = sum(len(s.stale) for s in summaries)
    # In the channel, one line per experiment: its best now against the best before the window.
    bests = [(s, (s.new_bests[-1][0], s.new_bests[-1][1], s.new_bests[0][2])) for s in summaries if s.new_bests]
    news = [n for r in live for n in r.registry]

    lines: list[Section | Context | Image] = []
    when = f"since {clock(since, tz, now)}"
    if live:
        if all(s.quiet for s in summaries) and not news:
            lines.append(Section(rich(f"🧪 Experiments {when}: quiet — no runs finished, failed, "
                                      "were killed or are running.")))
        else:
            parts = [f"{finished} finished", f"{failed} failed", f"{killed} killed",
                     f"{running} running" + (f" ({stale} stale)" if stale else "")]
            extra = []
            if bests:
                extra.append(f"🏆 {len(bests)} new best" + ("s" if len(bests) > 1 else ""))
            versions = sum(len(n.new_versions) for n in news)
            if versions:
                extra.append(f"📦 {versions} new model version" + ("s" if versions > 1 else ""))
            moves = sum(len(n.alias_moves) for n in news)
            if moves:
                extra.append(f"🔀 {moves} alias move" + ("s" if moves > 1 else ""))
            text = f"🧪 Experiments {when}: " + " · ".join(parts + extra)
            lines.append(Section(rich(Strong(text))))
            for summary, (run, value, beaten) in bests:
                lines.append(Section(_best_line(summary, run, value, beaten, reports_metric(live, summary), people)))
            if any(not s.quiet for s in summaries) or news:
                lines.append(Context(rich("Details in the thread.")))
    for r in down:
        assert r.unavailable_since is not None
        lines.append(Section(rich(unavailable_line(r.source, r.unavailable_since, tz, now))))

    details: list[Message] = []
    for report in live:
        for s in report.experiments:
            if not s.quiet:
                details.append(_experiment_detail(s, report, people, tz, now, error_tag, charts))
        if report.registry:
            details.append(_registry_detail(report.registry))
    return DigestMessages(_message(lines), tuple(details))


def reports_metric(reports: Sequence[ExperimentsReport], summary: ExperimentSummary) -> str:
    return next((r.metric for r in reports if summary in r.experiments), "metric")


def _best_line(summary: ExperimentSummary, run: RunRecord, value: float, beaten: float | None, metric: str,
               people: People) -> tuple[Inline, ...]:
    gain = f" ({signed(value - beaten)} over {number(beaten)})" if beaten is not None else " (first result)"
    return rich(f"🏆 New best in {summary.experiment.name}: ", Strong(run.name), f" {metric} {number(value)}{gain} by ",
                people.inline(run.user))


def _experiment_detail(s: ExperimentSummary, report: ExperimentsReport, people: People, tz: str, now: datetime,
                       error_tag: str, charts: ChartUrl | None) -> Message:
    metric = report.metric
    blocks: list[Section | Context | Image] = [Section(
        rich(Strong(s.experiment.name), f" — {s.finished} finished · {len(s.failed)} failed · "
             f"{len(s.killed)} killed · {s.running} running"))]
    if s.top:
        goal = "highest" if report.goal == "max" else "lowest"
        against = f" vs {s.comparator.label} ({number(s.comparator.value)})" if s.comparator else ""
        rows: list[Inline] = [f"Top runs by {metric} ({goal} first){against}:"]
        for i, ranked in enumerate(s.top, 1):
            change = ""
            if ranked.is_champion:
                change = " (the champion)"
            elif ranked.change is not None:
                change = f" ({signed(ranked.change)})"
            rows.extend(["\n", f"{i}. ", Strong(ranked.run.name), f" {number(ranked.value)}{change} — ",
                         people.name(ranked.run.user)])
        blocks.append(Section(tuple(rows)))
    for run, value, beaten in s.new_bests:
        blocks.append(Section(_best_line(s, run, value, beaten, metric, people)))
    if s.curve:
        blocks.append(Context(rich(f"{s.new_bests[-1][0].name} {metric} over its steps: {sparkline(s.curve)} "
                                   f"({number(s.curve[0])} → {number(s.curve[-1])})")))
    if s.failed:
        rows = ["Failures:"]
        for run in s.failed:
            tag = run.tags.get(error_tag)
            rows.append(f"\n• {run.name} ({people.name(run.user)}): " + (tag if tag else f"no `{error_tag}` tag"))
        blocks.append(Section(tuple(rows)))
    if s.killed:
        blocks.append(Section(rich("Killed: " + ", ".join(r.name for r in s.killed))))
    if s.stale:
        hours = [f"{r.name} ({people.name(r.user)}, last metric {clock(r.last_metric_at or r.start_time, tz, now)})"
                 for r in s.stale]
        blocks.append(Section(rich("⏳ Running with no metric for a while: " + "; ".join(hours))))
    known = [v for v in s.trend if v is not None]
    if known:
        blocks.append(Context(rich(f"Best {metric} per day, last {len(s.trend)} days: {sparkline(s.trend)} "
                                   f"({number(known[0])} → {number(known[-1])})")))
        url = charts(s.trend) if charts and len(known) > 1 else None
        if url:
            blocks.append(Image(url, f"Best {metric} per day in {s.experiment.name}, last {len(s.trend)} days"))
    return _message(blocks)


def _registry_detail(news: Sequence[RegistryNews]) -> Message:
    rows: list[Inline] = ["Model registry:"]
    for n in news:
        for version in n.new_versions:
            rows.append(f"\n📦 {n.model} v{version} registered")
        for alias, old, new in n.alias_moves:
            if new is None:
                rows.append(f"\n🔀 {n.model}@{alias} removed (was v{old})")
            elif old is None:
                rows.append(f"\n🔀 {n.model}@{alias} → v{new}")
            else:
                rows.append(f"\n🔀 {n.model}@{alias} moved v{old} → v{new}")
    return _message([Section(tuple(rows))])


# =========================================================================================
# Drift
# =========================================================================================

Status = Literal["OK", "WARN", "ALERT"]
_RANK: dict[Status, int] = {"OK": 0, "WARN": 1, "ALERT": 2}
ICON: dict[Status, str] = {"OK": "🟢", "WARN": "🟡", "ALERT": "🔴"}


def worst(*statuses: Status) -> Status:
    return max(statuses, key=lambda s: _RANK[s], default="OK")


@dataclass(frozen=True)
class ColumnFinding:
    drift: ColumnDrift
    persistent: bool
    """Drifted in the previous snapshot too."""


@dataclass(frozen=True)
class CheckReading:
    check: PromCheck
    value: float | None
    status: Status


@dataclass(frozen=True)
class AlertRecord:
    """An Alertmanager alert as the drift digest shows it."""

    fingerprint: str
    name: str
    status: Literal["firing", "resolved"]
    starts_at: datetime
    ends_at: datetime | None
    summary: str = ""
    model: str | None = None


@dataclass(frozen=True)
class ModelHealth:
    model: ModelConfig
    status: Status
    reasons: tuple[str, ...]
    share: float | None = None
    threshold: float | None = None
    trend: tuple[float | None, ...] = ()
    latest_at: datetime | None = None
    columns: tuple[ColumnFinding, ...] = ()
    checks: tuple[CheckReading, ...] = ()
    alerts: tuple[AlertRecord, ...] = ()


def _check_status(check: PromCheck, value: float | None) -> Status:
    if value is None:
        return "WARN"
    if (check.alert_above is not None and value > check.alert_above) or (
            check.alert_below is not None and value < check.alert_below):
        return "ALERT"
    if (check.warn_above is not None and value > check.warn_above) or (
            check.warn_below is not None and value < check.warn_below):
        return "WARN"
    return "OK"


def drift_trend(snapshots: Sequence[DriftSnapshot], now: datetime, tz: str,
                days: int = DRIFT_TREND_DAYS) -> tuple[float | None, ...]:
    """The last drifted share of each local day, oldest day first."""
    by_day: dict[str, float] = {}
    for snap in sorted(snapshots, key=lambda s: s.taken_at):
        if snap.drifted_share is not None:
            by_day[local_date(snap.taken_at, tz).isoformat()] = snap.drifted_share
    today = local_date(now, tz)
    return tuple(by_day.get((today - timedelta(days=i)).isoformat()) for i in range(days - 1, -1, -1))


async def assess_model(model: ModelConfig, monitoring: MonitoringSource | None, metrics: MetricsSource | None,
                       alerts: Sequence[AlertRecord], now: datetime, tz: str = "UTC",
                       down: Mapping[str, datetime] | None = None) -> ModelHealth:
    """OK / WARN / ALERT for one model, with the reasons. Missing data is itself a WARN."""
    statuses: list[Status] = []
    reasons: list[str] = []
    share = threshold = None
    trend: tuple[float | None, ...] = ()
    latest_at = None
    findings: tuple[ColumnFinding, ...] = ()
    if monitoring is not None:
        try:
            snaps = await monitoring.snapshots(model.project, now - timedelta(days=DRIFT_TREND_DAYS), now)
        except SourceUnavailable as err:
            statuses.append("WARN")
            since = (down or {}).get(err.source, now)
            reasons.append(f"{err.source} unavailable since {clock(since, tz, now)}")
            snaps = None
        except MissingData as err:
            statuses.append("WARN")
            reasons.append(str(err))
            snaps = None
        if snaps is not None:
            trend = drift_trend(snaps, now, tz)
            latest = snaps[-1] if snaps else None
            if latest is None:
                statuses.append("WARN")
                reasons.append(f"no drift report in the last {DRIFT_TREND_DAYS} days")
            else:
                latest_at = latest.taken_at
                if latest.taken_at < now - model.stale_after:
                    statuses.append("WARN")
                    reasons.append(f"no drift report since {clock(latest.taken_at, tz, now)}")
                drifted = [c for c in latest.columns if c.drifted]
                share = latest.drifted_share
                if share is None and latest.columns:
                    share = len(drifted) / len(latest.columns)
                threshold = model.drift_share if model.drift_share is not None else latest.share_threshold
                threshold = 0.5 if threshold is None else threshold
                previous = {c.column for c in snaps[-2].columns if c.drifted} if len(snaps) > 1 else set()
                findings = tuple(ColumnFinding(c, c.column in previous)
                                 for c in sorted(drifted, key=lambda c: c.strength, reverse=True))
                if share is None:
                    statuses.append("WARN")
                    reasons.append("the latest report has no drift metrics")
                elif share >= threshold:
                    statuses.append("ALERT")
                    reasons.append(f"{percent(share)} of columns drifted (threshold {percent(threshold)})")
                elif drifted:
                    statuses.append("WARN")
                    reasons.append(f"{len(drifted)} column{'s' if len(drifted) > 1 else ''} drifted "
                                   f"({percent(share)}, below the {percent(threshold)} threshold)")
    readings: list[CheckReading] = []
    for check in model.prometheus:
        if metrics is None:
            continue
        try:
            value = await metrics.instant(check.query, now)
        except SourceUnavailable as err:
            since = (down or {}).get(err.source, now)
            readings.append(CheckReading(check, None, "WARN"))
            reasons.append(f"{err.source} unavailable since {clock(since, tz, now)}")
            statuses.append("WARN")
            continue
        status = _check_status(check, value)
        readings.append(CheckReading(check, value, status))
        statuses.append(status)
        if value is None:
            reasons.append(f"no data for {check.name}")
        elif status != "OK":
            reasons.append(f"{check.name} is {number(value)}")
    mine = tuple(a for a in alerts if a.model == model.name and (a.ends_at is None or a.ends_at > now - ALERT_LOOKBACK
                                                                  or a.status == "firing"))
    firing = [a for a in mine if a.status == "firing"]
    if firing:
        statuses.append("WARN")
        reasons.append(f"{len(firing)} alert{'s' if len(firing) > 1 else ''} firing")
    return ModelHealth(model=model, status=worst(*statuses), reasons=tuple(reasons), share=share,
                       threshold=threshold, trend=trend, latest_at=latest_at, columns=findings,
                       checks=tuple(readings), alerts=mine)


def column_text(finding: ColumnFinding) -> str:
    c = finding.drift
    sign = "<" if c.is_p_value else "≥"
    age = "persistent" if finding.persistent else "new"
    return f"{c.column}: {c.method} {number(c.score)} {sign} {number(c.threshold)} ({age})"


def health_line(h: ModelHealth) -> str:
    why = f" — {'; '.join(h.reasons)}" if h.reasons and h.status != "OK" else ""
    share = f" — drifted share {percent(h.share)}" if h.status == "OK" and h.share is not None else ""
    return f"{ICON[h.status]} {h.model.name} {h.status}{why}{share}"


def compose_drift(healths: Sequence[ModelHealth], tz: str, now: datetime) -> DigestMessages:
    counts = {s: sum(1 for h in healths if h.status == s) for s in ("ALERT", "WARN", "OK")}
    if healths and counts["OK"] == len(healths):
        n = len(healths)
        return DigestMessages(Message.text(f"🌊 Drift: all {n} model{'s' if n > 1 else ''} OK."))
    summary = " · ".join(f"{n} {s}" for s, n in counts.items() if n)
    lines: list[Section | Context | Image] = [Section(rich(Strong(f"🌊 Drift: {summary or 'no models configured'}")))]
    ordered = sorted(healths, key=lambda h: (-_RANK[h.status], h.model.name))
    lines.extend(Section(rich(health_line(h))) for h in ordered)
    lines.append(Context(rich("Details in the thread.")))
    return DigestMessages(_message(lines), tuple(_drift_detail(h, tz, now) for h in ordered))


def _drift_detail(h: ModelHealth, tz: str, now: datetime) -> Message:
    owner = f" · owner {h.model.owner}" if h.model.owner else ""
    blocks: list[Section | Context | Image] = [Section(rich(Strong(f"{ICON[h.status]} {h.model.name}"),
                                                            f" {h.status}{owner}"))]
    if h.share is not None:
        known = [v for v in h.trend if v is not None]
        trend = f", {DRIFT_TREND_DAYS}-day trend {sparkline(h.trend)}" if len(known) > 1 else ""
        blocks.append(Section(rich(f"Drifted share {percent(h.share)} (threshold {percent(h.threshold)}){trend}")))
    if h.columns:
        rows: list[Inline] = ["Top drifted columns:"]
        rows.extend(f"\n• {column_text(c)}" for c in h.columns[:TOP_COLUMNS])
        if len(h.columns) > TOP_COLUMNS:
            rows.append(f"\n…and {len(h.columns) - TOP_COLUMNS} more")
        blocks.append(Section(tuple(rows)))
    for reading in h.checks:
        value = number(reading.value) if reading.value is not None else "no data"
        blocks.append(Section(rich(f"{ICON[reading.status]} {reading.check.name}: {value}")))
    if h.alerts:
        rows = ["Alerts, last 24 h:"]
        for a in sorted(h.alerts, key=lambda a: a.starts_at):
            if a.status == "firing":
                rows.append(f"\n🔥 {a.name} firing for {duration(now - a.starts_at)}")
            else:
                span = duration((a.ends_at or now) - a.starts_at)
                rows.append(f"\n✅ {a.name} {clock(a.starts_at, tz, now)}, resolved after {span}")
            if a.summary:
                rows.append(f": {a.summary}")
        blocks.append(Section(tuple(rows)))
    if h.reasons and h.status != "OK":
        blocks.append(Context(rich("Why: " + "; ".join(h.reasons))))
    if h.latest_at:
        blocks.append(Context(rich(f"Latest drift report {clock(h.latest_at, tz, now)}")))
    return _message(blocks)
