"""The experiments digest: what ran, what improved, what broke, since the last digest.

Two steps, kept apart so both can be tested without a server:

* *gathering* asks a tracking source (``bot.digests.sources``) what happened in a window
  and returns a plain report plus the state to remember (watermark, bests, trends);
* *composing* turns reports into ``DigestMessages``: one headline for the channel
  and the details for its thread.

The window is (watermark − overlap, now]. Runs already reported inside the overlap are
remembered by id, so a run is never reported twice, and a run whose end is recorded a
little late is still caught rather than skipped.
"""

from __future__ import annotations

import asyncio
import fnmatch
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot.digests.config import Goal, TrackingConfig
from bot.digests.messages import ChartUrl, DigestMessages, message_of, unavailable_line
from bot.digests.sources import ExperimentRecord, RegisteredModel, RunRecord, TrackingSource
from bot.digests.targets import TargetReading, tally, targets_message
from bot.digests.text import clock, number, signed, sparkline
from bot.kernel.domain import Member
from bot.kernel.messages import Code, Context, Image, Inline, Link, Mention, Message, Section, Strong, rich
from bot.kernel.routing import presence
from bot.kernel.timekeeping import local_date

OVERLAP = timedelta(minutes=10)
"""How far before the watermark each window starts, to catch runs whose end was recorded late."""
TREND_DAYS = 14
TOP_RUNS = 3


def better(a: float, b: float, goal: Goal) -> bool:
    return a > b if goal == "max" else a < b


def _ms(instant: datetime) -> int:
    return int(instant.timestamp() * 1000)


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
    links: Mapping[str, str] = field(default_factory=dict, hash=False, compare=False)
    """Version to its page in the registry's UI."""


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
class TrackingUsers:
    """Tracking user names (MLflow ``user_id``, W&B user) mapped to team members."""

    by_account: Mapping[str, Member] = field(default_factory=dict)
    at: datetime | None = None
    """When set, a run's author is pinged only if in their working hours and not away then (``bot.kernel.routing``)."""

    @staticmethod
    def of(members: Sequence[Member], platform: str, at: datetime | None = None) -> TrackingUsers:
        mapped: dict[str, Member] = {}
        for m in members:
            mapped.setdefault(m.id, m)
        for m in members:
            mapped[m.account(platform)] = m
        return TrackingUsers(mapped, at)

    def name(self, user: str) -> str:
        member = self.by_account.get(user)
        return member.name if member else user

    def inline(self, user: str) -> Inline:
        member = self.by_account.get(user)
        if member is None:
            return user
        return Mention(member.id, member.name) if self.at is None or presence(member, self.at).in_hours else member.name


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
        links = {v.version: v.url for v in versions if v.version in fresh and v.url}
        before = state.aliases.get(name)
        current = dict(model.aliases)
        moves: list[tuple[str, str | None, str | None]] = []
        if before is not None:
            for alias in sorted(set(before) | set(current)):
                if before.get(alias) != current.get(alias):
                    moves.append((alias, before.get(alias), current.get(alias)))
        aliases[name] = current
        if fresh or moves:
            news.append(RegistryNews(name, fresh, tuple(moves), links))
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



def compose_experiments(reports: Sequence[ExperimentsReport], people: TrackingUsers, tz: str, now: datetime,
                        error_tag: str = "error", charts: ChartUrl | None = None,
                        targets: Sequence[TargetReading] = ()) -> DigestMessages:
    """One headline (a single line on a quiet day) and a thread message per experiment.

    ``targets`` are the models' registry targets, read from their champions: counted in the headline (the
    ones missed named) and listed in the thread after the registry news."""
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
    if targets:
        missed = [f"{t.model} {t.metric}" for t in targets if t.state == "not met"]
        lines.append(Section(rich(f"🎯 Targets: {tally(targets)}" + (f" ({', '.join(missed)})" if missed else ""))))
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
    if targets:
        details.append(targets_message(targets))
    return DigestMessages(message_of(lines), tuple(details))


def reports_metric(reports: Sequence[ExperimentsReport], summary: ExperimentSummary) -> str:
    return next((r.metric for r in reports if summary in r.experiments), "metric")


def linked(label: str, url: str | None, strong: bool = False) -> Inline:
    """A run, experiment or model version by name, linking to its page when the source gave one."""
    if url:
        return Link(url, label)
    return Strong(label) if strong else label


def _runs(runs: Sequence[RunRecord]) -> list[Inline]:
    """Run names, comma-separated, each linking to its page."""
    out: list[Inline] = []
    for i, run in enumerate(runs):
        out.extend([", "] if i else [])
        out.append(linked(run.name, run.url))
    return out


def _best_line(summary: ExperimentSummary, run: RunRecord, value: float, beaten: float | None, metric: str,
               people: TrackingUsers) -> tuple[Inline, ...]:
    gain = f" ({signed(value - beaten)} over {number(beaten)})" if beaten is not None else " (first result)"
    return rich(f"🏆 New best in {summary.experiment.name}: ", linked(run.name, run.url, strong=True),
                f" {metric} {number(value)}{gain} by ", people.inline(run.user))


def _experiment_detail(s: ExperimentSummary, report: ExperimentsReport, people: TrackingUsers, tz: str, now: datetime,
                       error_tag: str, charts: ChartUrl | None) -> Message:
    metric = report.metric
    blocks: list[Section | Context | Image] = [Section(
        rich(linked(s.experiment.name, s.experiment.url, strong=True),
             f" — {s.finished} finished · {len(s.failed)} failed · {len(s.killed)} killed · {s.running} running"))]
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
            rows.extend(["\n", f"{i}. ", linked(ranked.run.name, ranked.run.url, strong=True),
                         f" {number(ranked.value)}{change} — ",
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
            rows.extend(["\n• ", linked(run.name, run.url),
                         f" ({people.name(run.user)}): " + (tag if tag else f"no `{error_tag}` tag")])
        blocks.append(Section(tuple(rows)))
    if s.killed:
        blocks.append(Section(rich("Killed: ", *_runs(s.killed))))
    if s.stale:
        stale: list[Inline] = ["⏳ Running with no metric for a while: "]
        for i, r in enumerate(s.stale):
            stale.extend([*(["; "] if i else []), linked(r.name, r.url),
                          f" ({people.name(r.user)}, last metric {clock(r.last_metric_at or r.start_time, tz, now)})"])
        blocks.append(Section(tuple(stale)))
    known = [v for v in s.trend if v is not None]
    if known:
        blocks.append(Context(rich(f"Best {metric} per day, last {len(s.trend)} days: {sparkline(s.trend)} "
                                   f"({number(known[0])} → {number(known[-1])})")))
        url = charts(s.trend) if charts and len(known) > 1 else None
        if url:
            blocks.append(Image(url, f"Best {metric} per day in {s.experiment.name}, last {len(s.trend)} days"))
    return message_of(blocks)


def _registry_detail(news: Sequence[RegistryNews]) -> Message:
    rows: list[Inline] = ["Model registry:"]
    for n in news:
        for version in n.new_versions:
            rows.extend(["\n📦 ", linked(f"{n.model} v{version}", n.links.get(version)), " registered"])
        for alias, old, new in n.alias_moves:
            if new is None:
                rows.append(f"\n🔀 {n.model}@{alias} removed (was v{old})")
            elif old is None:
                rows.append(f"\n🔀 {n.model}@{alias} → v{new}")
            else:
                rows.append(f"\n🔀 {n.model}@{alias} moved v{old} → v{new}")
    return message_of([Section(tuple(rows))])



REGISTRY_EVENTS = {("registered_model", "created"), ("model_version", "created"), ("model_version_tag", "set"),
                   ("model_version_tag", "deleted"), ("model_version_alias", "created"),
                   ("model_version_alias", "deleted")}
"""The model-registry events MLflow 3.x sends (``mlflow.entities.webhook.VALID_ENTITY_ACTIONS``); its prompt and
budget-policy events are not model news."""


@dataclass(frozen=True)
class VersionStanding:
    """A model version's metric against the champion's, read when a registry event names the version."""

    metric: str
    goal: Goal
    value: float | None
    champion: str | None
    """The version the comparison is with (the champion, or the one a promotion replaced); ``None`` when none."""
    champion_value: float | None = None
    url: str | None = None
    """The version's page in the registry UI."""
    unavailable: str | None = None
    """The source that could not be read, when the metrics are missing for that reason."""
    former: bool = False
    """The comparison is with the champion a promotion replaced (named already, so not called champion)."""


def _finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def standing_text(version: str, s: VersionStanding) -> str:
    """`` — val_auc 0.912 against 0.899 for champion v7 (+0.013, better)``, or what is known of it."""
    if s.unavailable:
        return f" (metrics not read: {s.unavailable} did not answer)"
    mine = f"{s.metric} {number(s.value)}" if _finite(s.value) else f"no {s.metric} logged by its run"
    if s.champion is None:
        return f" — {mine}; no champion to compare with"
    if s.champion == version:
        return f" — {mine}"
    other = f"v{s.champion}" if s.former else f"champion v{s.champion}"
    if not _finite(s.champion_value):
        return f" — {mine}; {other} has no {s.metric}"
    if not _finite(s.value):
        return f" — {mine}; {other} has {number(s.champion_value)}"
    assert s.value is not None and s.champion_value is not None
    delta = s.value - s.champion_value
    verdict = "level" if delta == 0 else "better" if (delta > 0) == (s.goal == "max") else "worse"
    return f" — {mine} against {number(s.champion_value)} for {other} ({signed(delta)}, {verdict})"


def registry_event_message(entity: str, action: str, data: Mapping[str, Any], champion: set[str],
                           standing: VersionStanding | None = None, previous: str | None = None) -> Message | None:
    """An MLflow registry webhook event as one line of news; ``None`` for events that are not model news.

    ``previous`` is the version an alias pointed to before (as Meridian last heard), for promotions and removals.
    """
    if (entity, action) not in REGISTRY_EVENTS:
        return None
    name, version, alias = _text(data, "name"), _text(data, "version"), _text(data, "alias")
    if not name:
        return None
    label: Inline = linked(f"{name} v{version}", standing.url if standing else None)
    tail = standing_text(version, standing) if standing and version else ""
    parts: list[Inline]
    if entity == "registered_model":
        parts = [f"🆕 {name} created in the model registry."]
    elif not version and entity != "model_version_alias":
        return None
    elif entity == "model_version":
        run = _text(data, "run_id")
        parts = ["📦 ", label, f" registered{f' from run {run}' if run else ''}{tail}."]
    elif entity == "model_version_tag":
        key = _text(data, "key")
        if action == "set":
            parts = ["🏷 ", label, " tagged ", Code(f"{key}={_text(data, 'value')}"), f"{tail}."]
        else:
            parts = ["🏷 ", label, ": tag ", Code(key), " removed."]
    elif action == "created" and version and alias:
        was = f" (was v{previous})" if previous and previous != version else ""
        if alias in champion:
            parts = ["🏆 ", label, f" promoted to {alias}{was}{tail}."]
        else:
            parts = [f"🔀 {name}@{alias} now points to ", linked(f"v{version}", standing.url if standing else None),
                     f"{was}{tail}."]
    elif action == "deleted" and alias:
        parts = [f"🔀 {name}@{alias} removed{f' (was v{previous})' if previous else ''}."]
    else:
        return None
    return message_of([Section(tuple(parts))])


def _text(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    return "" if value is None or isinstance(value, dict | list) else str(value)


async def version_standing(source: TrackingSource, cfg: TrackingConfig, name: str, version: str,
                           run_id: str | None, champion: str | None, former: bool = False) -> VersionStanding:
    """Read the version's run (found through the registry when the event does not name it) and the champion's."""
    versions = {v.version: v for v in await source.model_versions(name)}
    mine = versions.get(version)
    run_id = run_id or (mine.run_id if mine else None)
    theirs = versions.get(champion) if champion else None
    runs = await asyncio.gather(*(source.run(r) if r else _none() for r in (run_id, theirs.run_id if theirs else None)))
    value = runs[0].metrics.get(cfg.metric) if runs[0] else None
    champion_value = runs[1].metrics.get(cfg.metric) if runs[1] else None
    if champion == version:
        champion_value = value
    return VersionStanding(cfg.metric, cfg.goal, value, champion, champion_value, mine.url if mine else None,
                           former=former)


async def _none() -> None:
    return None
