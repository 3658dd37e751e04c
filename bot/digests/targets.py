"""Targets per model (``sources.models[].targets``): each read, judged, shown, and its crossings told.

A target's value comes from Prometheus (one of the model's checks, or the target's own query) or
from the model registry: the metric the champion version (the latest version when there is no
champion) logged in the run that produced it. Each reading is met, not met, or unknown — with why
(the source is down, the metric is missing) — and never a guess: an unknown target keeps the state
it had, so an outage is not a crossing.

The drift check (on the drift digest's ``check_every``) compares each reading with the last state
it saw; a change between met and not met is posted once to the drift alerts channel (``crossing_message``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from urllib.parse import quote, urlencode

from bot.digests.config import ModelConfig, ModelTarget, TrackingConfig
from bot.digests.messages import message_of
from bot.digests.sources import (
    MetricsSource,
    ModelVersion,
    QueryError,
    RunRecord,
    SourceUnavailable,
    TrackingSource,
)
from bot.digests.text import clock, duration, number
from bot.kernel.messages import Inline, Link, Message, Section, Strong, rich

TargetState = Literal["met", "not met", "unknown"]
MARK: dict[TargetState, str] = {"met": "✅", "not met": "❌", "unknown": "❔"}


def graph_url(prometheus_url: str, query: str) -> str:
    """The Prometheus graph page for a query (its expression browser, table tab)."""
    return f"{prometheus_url.rstrip('/')}/graph?" + urlencode({"g0.expr": query, "g0.tab": "0"}, quote_via=quote)


@dataclass(frozen=True)
class TargetReading:
    model: str
    target: ModelTarget
    value: float | None
    state: TargetState
    why: str | None = None
    """Why the state is unknown, in words for the person on call."""
    origin: str = ""
    """Where the value was read: "Prometheus", "champion v6"."""
    links: tuple[Link, ...] = ()

    @property
    def metric(self) -> str:
        return self.target.metric


@dataclass(frozen=True)
class RegistryPick:
    """The version a model's registry targets are read from, and its run (or why there is none)."""

    label: str = ""
    version: ModelVersion | None = None
    run: RunRecord | None = None
    problem: str | None = None


async def pick_version(source: TrackingSource, cfg: TrackingConfig, name: str) -> RegistryPick:
    """The champion version (``cfg.champion_alias``), else the latest, with the run that produced it."""
    try:
        model = await source.registered_model(name)
        if model is None:
            return RegistryPick(problem=f"{source.name} has no registered model {name!r}")
        versions = {v.version: v for v in await source.model_versions(name)}
        chosen = model.aliases.get(cfg.champion_alias)
        label = f"{cfg.champion_alias} v{chosen}"
        if chosen is None:
            if not versions:
                return RegistryPick(problem=f"{name} has no versions in {source.name}")
            chosen = max(versions, key=lambda v: (len(v), v))  # numeric order for version numbers
            label = f"latest v{chosen}"
        version = versions.get(chosen)
        run = await source.run(version.run_id) if version is not None and version.run_id else None
        if run is None:
            return RegistryPick(label, version, problem=f"{name} {label} has no run to read metrics from")
        return RegistryPick(label, version, run)
    except SourceUnavailable as err:
        return RegistryPick(problem=f"{err.source} unavailable")


def _judged(model: str, target: ModelTarget, value: float | None, origin: str, links: tuple[Link, ...],
            missing: str) -> TargetReading:
    if value is None:
        return TargetReading(model, target, None, "unknown", missing, origin, links)
    if not math.isfinite(value):
        return TargetReading(model, target, None, "unknown", f"{target.metric} is {value}", origin, links)
    return TargetReading(model, target, value, "met" if target.target.met(value) else "not met", None, origin, links)


async def read_targets(model: ModelConfig, tracking: Mapping[str, TrackingSource],
                       configs: Mapping[str, TrackingConfig], metrics: MetricsSource | None, now: datetime,
                       prometheus_url: str | None = None) -> tuple[TargetReading, ...]:
    """Every target of ``model``, read now; the registry is read once per source however many targets use it."""
    picks: dict[str, RegistryPick] = {}
    out: list[TargetReading] = []
    for t in model.targets:
        if t.check is not None:
            links: tuple[Link, ...] = (Link(graph_url(prometheus_url, t.check.query), "graph"),) \
                if prometheus_url else ()
            if metrics is None:
                out.append(TargetReading(model.name, t, None, "unknown", "Prometheus is not configured",
                                         "Prometheus", links))
                continue
            try:
                value = await metrics.instant(t.check.query, now, t.check.choice)
            except SourceUnavailable as err:
                out.append(TargetReading(model.name, t, None, "unknown", f"{err.source} unavailable", "Prometheus",
                                         links))
                continue
            except QueryError as err:
                out.append(TargetReading(model.name, t, None, "unknown", str(err), "Prometheus", links))
                continue
            out.append(_judged(model.name, t, value, "Prometheus", links, f"no data for {t.check.query!r}"))
            continue
        source, cfg = tracking.get(t.tracking or ""), configs.get(t.tracking or "")
        if source is None or cfg is None:
            out.append(TargetReading(model.name, t, None, "unknown", f"tracking source {t.tracking!r} is not set up"))
            continue
        if cfg.name not in picks:
            picks[cfg.name] = await pick_version(source, cfg, model.registry_name)
        pick = picks[cfg.name]
        links = tuple(Link(url, text) for url, text in
                      ((pick.version.url if pick.version else None, f"{model.registry_name} {pick.label}"),
                       (pick.run.url if pick.run else None, "run")) if url)
        if pick.run is None:
            out.append(TargetReading(model.name, t, None, "unknown", pick.problem, pick.label, links))
            continue
        out.append(_judged(model.name, t, pick.run.metrics.get(t.metric), pick.label, links,
                           f"the run of {model.registry_name} {pick.label} logged no {t.metric}"))
    return tuple(out)


def condition(reading: TargetReading) -> str:
    """``≥ 0.82`` — the target as people read it, without its metric."""
    return str(reading.target.target).removeprefix(f"{reading.metric} ")


def reading_line(reading: TargetReading, with_model: bool = False) -> tuple[Inline, ...]:
    """``✅ val_auc 0.91 (target ≥ 0.82) — churn-model champion v6 · run``, or ``❔ … unknown: why``."""
    who = f"{reading.model} " if with_model else ""
    if reading.state == "unknown":
        head = f"{MARK['unknown']} {who}{reading.metric} unknown (target {condition(reading)}): {reading.why}"
    else:
        head = (f"{MARK[reading.state]} {who}{reading.metric} {number(reading.value)} (target {condition(reading)}, "
                f"{reading.state})")
    parts: list[Inline] = [head]
    for i, link in enumerate(reading.links):
        parts.extend([" — " if i == 0 else " · ", link])
    if not reading.links and reading.origin and reading.state != "unknown":
        parts.append(f" — {reading.origin}")
    return rich(*parts)


def tally(readings: Sequence[TargetReading]) -> str:
    """``2 met · 1 not met`` (states with none are left out)."""
    counts = {s: sum(1 for r in readings if r.state == s) for s in MARK}
    return " · ".join(f"{n} {s}" for s, n in counts.items() if n)


def target_section(readings: Sequence[TargetReading], with_model: bool = False) -> Section:
    rows: list[Inline] = ["🎯 Targets:"]
    for reading in readings:
        rows.extend(["\n", *reading_line(reading, with_model)])
    return Section(tuple(rows))


def targets_message(readings: Sequence[TargetReading]) -> Message:
    """The experiments digest's thread message: each model's registry targets, read from its champion."""
    return message_of([target_section(readings, with_model=True)])


# --- crossings -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Crossing:
    reading: TargetReading
    since: datetime | None
    """When the target entered the state it has now left (the last crossing, or the first check)."""
    count: int
    """How many crossings this target has had, this one included: the post's key, so a retry posts nothing new."""


def crossing_of(reading: TargetReading, state: Mapping[str, Any] | None,
                now: datetime) -> tuple[Crossing | None, dict[str, Any]]:
    """Compare a reading with the stored state of its target: the crossing (if any) and the state to keep.

    Unknown readings change nothing; the first known reading is remembered without a post, and so is the first
    after the target's condition was changed in the team file (a new bar is not a crossing)."""
    kept = dict(state or {})
    if reading.state == "unknown":
        return None, kept
    met = reading.state == "met"
    bar = str(reading.target.target)
    if "met" not in kept or kept.get("target", bar) != bar:
        return None, {"met": met, "since": now.isoformat(), "count": int(kept.get("count", 0)), "target": bar}
    if kept["met"] == met:
        return None, kept
    since = datetime.fromisoformat(kept["since"]) if kept.get("since") else None
    count = int(kept.get("count", 0)) + 1
    return Crossing(reading, since, count), {"met": met, "since": now.isoformat(), "count": count, "target": bar}


def crossing_message(crossing: Crossing, tz: str, now: datetime) -> Message:
    """``❌ churn-model val_auc target no longer met: 0.79 (target ≥ 0.82)`` with its links; who it is over to
    is added by the caller (routed like drift alerts)."""
    r = crossing.reading
    was = ""
    if crossing.since is not None:
        was = f", {'not met' if r.state == 'met' else 'met'} since {clock(crossing.since, tz, now)} " \
              f"({duration(now - crossing.since)})"
    if r.state == "met":
        head = f"{MARK['met']} {r.model} {r.metric} target met again"
    else:
        head = f"{MARK['not met']} {r.model} {r.metric} target no longer met"
    parts: list[Inline] = [Strong(head), f": {number(r.value)} (target {condition(r)}{was})"]
    for i, link in enumerate(r.links):
        parts.extend([" — " if i == 0 else " · ", link])
    if not r.links and r.origin:
        parts.append(f" — {r.origin}")
    return message_of([Section(tuple(parts))])
