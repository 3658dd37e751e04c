"""The drift digest and drift alerts: each model OK, WARN or ALERT, and why.

A model's health comes from its monitoring source (the drifted share of its latest
report against the threshold, the columns that drifted, whether they drifted before),
its Prometheus checks, and the Alertmanager alerts about it. Missing data is itself a
WARN: a model nobody can see is not OK.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from bot.digests.alerts import AlertRecord
from bot.digests.config import ModelConfig, PromCheck
from bot.digests.messages import DigestMessages, message_of
from bot.digests.sources import (
    ColumnDrift,
    DriftSnapshot,
    MetricsSource,
    MissingData,
    MonitoringSource,
    QueryError,
    SourceUnavailable,
)
from bot.digests.targets import TargetReading, graph_url, tally, target_section
from bot.digests.text import clock, duration, number, percent, sparkline
from bot.kernel.messages import Context, Image, Inline, Link, Message, Section, Strong, plain, rich
from bot.kernel.routing import Routing, named
from bot.kernel.timekeeping import local_date

DRIFT_TREND_DAYS = 7
TOP_COLUMNS = 5
ALERT_LOOKBACK = timedelta(hours=24)

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
    problem: str | None = None
    """Why there is no value when the query, not the data, is at fault."""


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
    undecided: tuple[ColumnDrift, ...] = ()
    """Columns of the latest report whose stat test gives no verdict Meridian can read (a custom test)."""
    checks: tuple[CheckReading, ...] = ()
    alerts: tuple[AlertRecord, ...] = ()
    report_url: str | None = None
    """The latest drift report's page in the monitoring UI."""
    project_url: str | None = None
    targets: tuple[TargetReading, ...] = ()


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
                       down: Mapping[str, datetime] | None = None,
                       targets: Sequence[TargetReading] = ()) -> ModelHealth:
    """OK / WARN / ALERT for one model, with the reasons. Missing data is itself a WARN, and so is a target
    not met or that cannot be read (``targets``, read by ``bot.digests.targets``)."""
    statuses: list[Status] = []
    reasons: list[str] = []
    share = threshold = None
    trend: tuple[float | None, ...] = ()
    latest_at = None
    report_url = project_url = None
    findings: tuple[ColumnFinding, ...] = ()
    undecided: tuple[ColumnDrift, ...] = ()
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
                report_url, project_url = latest.url, latest.project_url
                if latest.taken_at < now - model.stale_after:
                    statuses.append("WARN")
                    reasons.append(f"no drift report since {clock(latest.taken_at, tz, now)}")
                drifted = [c for c in latest.columns if c.drifted]
                undecided = tuple(c for c in latest.columns if c.rule is None)
                decided = len(latest.columns) - len(undecided)
                share = latest.drifted_share
                if share is None and decided:
                    share = len(drifted) / decided
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
            value = await metrics.instant(check.query, now, check.choice)
        except SourceUnavailable as err:
            since = (down or {}).get(err.source, now)
            readings.append(CheckReading(check, None, "WARN"))
            reasons.append(f"{err.source} unavailable since {clock(since, tz, now)}")
            statuses.append("WARN")
            continue
        except QueryError as err:
            readings.append(CheckReading(check, None, "WARN", problem=str(err)))
            reasons.append(f"{check.name}: query needs fixing")
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
    for target in targets:
        if target.state == "met":
            continue
        statuses.append("WARN")
        if target.state == "not met":
            reasons.append(f"{target.metric} {number(target.value)} misses its target ({target.target.target})")
            continue
        source = (target.why or "").removesuffix(" unavailable")
        reason = f"{source} unavailable since {clock((down or {}).get(source, now), tz, now)}" \
            if target.why and target.why.endswith(" unavailable") else f"{target.metric} target unknown"
        if reason not in reasons:
            reasons.append(reason)
    return ModelHealth(model=model, status=worst(*statuses), reasons=tuple(reasons), share=share,
                       threshold=threshold, trend=trend, latest_at=latest_at, columns=findings, undecided=undecided,
                       checks=tuple(readings), alerts=mine, report_url=report_url, project_url=project_url,
                       targets=tuple(targets))


def column_text(finding: ColumnFinding) -> str:
    c = finding.drift
    sign = c.rule.sign if c.rule is not None else "vs"
    age = "persistent" if finding.persistent else "new"
    return f"{c.column}: {c.method} {number(c.score)} {sign} {number(c.threshold)} ({age})"


def health_line(h: ModelHealth) -> str:
    why = f" — {'; '.join(h.reasons)}" if h.reasons and h.status != "OK" else ""
    share = f" — drifted share {percent(h.share)}" if h.status == "OK" and h.share is not None else ""
    return f"{ICON[h.status]} {h.model.name} {h.status}{why}{share}"


def compose_drift(healths: Sequence[ModelHealth], tz: str, now: datetime,
                  prometheus_url: str | None = None, names: Mapping[str, str] | None = None) -> DigestMessages:
    """The drift digest; ``names`` turns owners' member ids into the names people know them by."""
    counts = {s: sum(1 for h in healths if h.status == s) for s in ("ALERT", "WARN", "OK")}
    if healths and counts["OK"] == len(healths):
        n = len(healths)
        targets = [t for h in healths for t in h.targets]
        met = f" 🎯 All {len(targets)} target{'s' if len(targets) > 1 else ''} met." if targets else ""
        return DigestMessages(Message.text(f"🌊 Drift: all {n} model{'s' if n > 1 else ''} OK.{met}"))
    summary = " · ".join(f"{n} {s}" for s, n in counts.items() if n)
    lines: list[Section | Context | Image] = [Section(rich(Strong(f"🌊 Drift: {summary or 'no models configured'}")))]
    ordered = sorted(healths, key=lambda h: (-_RANK[h.status], h.model.name))
    lines.extend(Section(rich(health_line(h))) for h in ordered)
    targets = [t for h in ordered for t in h.targets]
    if targets:
        lines.append(Section(rich(f"🎯 Targets: {tally(targets)}")))
    lines.append(Context(rich("Details in the thread.")))
    return DigestMessages(message_of(lines), tuple(_drift_detail(h, tz, now, prometheus_url, names or {})
                                                          for h in ordered))


def _drift_detail(h: ModelHealth, tz: str, now: datetime, prometheus_url: str | None = None,
                  names: Mapping[str, str] | None = None) -> Message:
    owner = f" · owner {(names or {}).get(h.model.owner, h.model.owner)}" if h.model.owner else ""
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
    if h.undecided:
        shown = ", ".join(f"{c.column} ({c.method} {number(c.score)})" for c in h.undecided[:TOP_COLUMNS])
        more = f" and {len(h.undecided) - TOP_COLUMNS} more" if len(h.undecided) > TOP_COLUMNS else ""
        blocks.append(Context(rich(f"No per-column verdict for {shown}{more}: the report does not say how "
                                   "that stat test's score reads.")))
    for reading in h.checks:
        value = number(reading.value) if reading.value is not None else reading.problem or "no data"
        graph: tuple[Inline, ...] = (" · ", Link(graph_url(prometheus_url, reading.check.query), "graph")) \
            if prometheus_url else ()
        blocks.append(Section(rich(f"{ICON[reading.status]} {reading.check.name}: {value}", *graph)))
    if h.targets:
        blocks.append(target_section(h.targets))
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
        when = clock(h.latest_at, tz, now)
        latest: Inline = Link(h.report_url, f"Latest drift report {when}") if h.report_url \
            else f"Latest drift report {when}"
        project: tuple[Inline, ...] = (" · ", Link(h.project_url, "Evidently project")) if h.project_url else ()
        blocks.append(Context(rich(latest, *project)))
    return message_of(blocks)


@dataclass(frozen=True)
class DriftAlert:
    """A state change the drift check posted (or would post, in a dry run)."""

    model: str
    status: str
    message: Message


def alert_message(health: ModelHealth, who: Routing, others: Sequence[tuple[str, str]] = ()) -> Message:
    """The drift ALERT post: the reasons, the top columns, and who it is over to (roles in brackets).

    ``who`` is routed (``bot.kernel.routing``): only people in their working hours and not away are
    pinged; the others are named with why, and a delegate stands in for someone away. ``others`` are
    owners who are not members (a name and a role), shown as text."""
    name = health.model.name
    head: list[Inline] = [Strong(f"{ICON['ALERT']} {name} drift ALERT"), ": " + "; ".join(health.reasons)]
    blocks: list[Section | Context] = [Section(tuple(head))]
    if health.columns:
        blocks.append(Section(rich("Top drifted columns:",
                                   *(f"\n• {column_text(c)}" for c in health.columns[:TOP_COLUMNS]))))
    if who.people or others:
        parts: list[Inline] = ["Over to ", *named(who.people, roles=True)]
        for i, (person, role) in enumerate(others):
            parts.append(f"{', ' if i or who.people else ''}{person} ({role})")
        blocks.append(Section(tuple(parts)))
    return Message(tuple(blocks), fallback="\n".join(plain(b.text) for b in blocks))


def back_to_ok(name: str, since: datetime, tz: str, now: datetime) -> Message:
    return Message.text(f"✅ {name} is back to OK (was ALERT since {clock(since, tz, now)}, {duration(now - since)}).")
