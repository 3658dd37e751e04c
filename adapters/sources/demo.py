"""The demo sources (``kind: demo``): recorded runs and drift reports shipped with Meridian.

They let the demo team's ``/experiments``, ``/drift`` and scheduled digests show something
in the console without any server. The recordings (``demo_data/runs.json`` and
``demo_data/drift.json``) hold one fortnight, laid out by day of a 14-day cycle that
starts on a Monday (``epoch``), and are replayed every fortnight on whatever dates the
digests ask about: the sources have no clock, and a digest only ever asks for a window.
The tracked metric improves a little each day, so a new best turns up now and then.

Every message built from these sources says it is demo data (the digests add that line,
from the ``kind``), so nobody mistakes them for the team's own numbers.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from importlib import resources
from typing import Any

from adapters.sources.evidently import column_drift
from bot.digests.config import MonitoringConfig, TrackingConfig
from bot.digests.sources import (
    DriftSnapshot,
    ExperimentRecord,
    Goal,
    MetricPoint,
    MissingData,
    ModelVersion,
    RegisteredModel,
    RunRecord,
    RunStatus,
)

DEMO_NAME = "Demo data"
"""How the demo sources are named in what people read."""


@cache
def recording(name: str) -> Mapping[str, Any]:
    """One of the shipped recordings (package data), read once."""
    text = resources.files("adapters.sources").joinpath("demo_data", name).read_text(encoding="utf-8")
    loaded: Mapping[str, Any] = json.loads(text)
    return loaded


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def _days(after: datetime, until: datetime) -> Iterator[date]:
    """Every UTC date a run or report in (after, until] can fall on (a run may end the day after it starts)."""
    day = after.astimezone(UTC).date() - timedelta(days=1)
    last = until.astimezone(UTC).date()
    while day <= last:
        yield day
        day += timedelta(days=1)


@dataclass(frozen=True)
class Cycle:
    """Maps calendar dates onto the recording's days."""

    epoch: date
    length: int

    def day_of(self, on: date) -> int:
        return (on - self.epoch).days % self.length

    def days_since_epoch(self, on: date) -> int:
        return (on - self.epoch).days


class DemoTracking:
    """MLflow-like experiments, runs and a model registry, replayed from ``demo_data/runs.json``."""

    name = DEMO_NAME

    def __init__(self, config: TrackingConfig, data: Mapping[str, Any] | None = None) -> None:
        self.config = config
        self.data = data if data is not None else recording("runs.json")
        self.cycle = Cycle(date.fromisoformat(self.data["epoch"]), int(self.data["cycle_days"]))
        self.keep = timedelta(days=int(self.data.get("keep_days", 28)))
        self._fixed = {r["id"]: self._fixed_run(r) for r in self.data.get("fixed_runs", [])}

    async def close(self) -> None:
        return None

    # --- the recording, laid on the calendar ------------------------------------------------
    def _metrics(self, raw: Mapping[str, float], on: date) -> dict[str, float]:
        improves = self.data.get("improves") or {}
        metrics = {k: float(v) for k, v in raw.items()}
        key = improves.get("metric")
        if key in metrics:
            lift = float(improves.get("per_day", 0.0)) * self.cycle.days_since_epoch(on)
            metrics[key] = round(min(0.999, metrics[key] + lift), 4)
        return metrics

    def _record(self, raw: Mapping[str, Any], run_id: str, ended: datetime, metrics: Mapping[str, float]
                ) -> RunRecord:
        status: RunStatus = raw["status"]
        started = ended - timedelta(minutes=int(raw.get("minutes", 60)))
        return RunRecord(run_id=run_id, name=raw["name"], experiment_id=str(raw["experiment"]), user=raw["user"],
                         status=status, start_time=started, end_time=ended, metrics=metrics,
                         tags=dict(raw.get("tags") or {}), last_metric_at=ended if metrics else None)

    def _fixed_run(self, raw: Mapping[str, Any]) -> RunRecord:
        ended = _instant(raw["ended"])
        return self._record(raw, raw["id"], ended, {k: float(v) for k, v in raw["metrics"].items()})

    def runs_on(self, on: date) -> list[RunRecord]:
        """The recording's runs of the cycle day ``on`` falls on, ending on that UTC date."""
        day = self.cycle.day_of(on)
        out = []
        for raw in self.data["runs"]:
            if int(raw["day"]) != day:
                continue
            ended = datetime.combine(on, time.fromisoformat(raw["end"]), tzinfo=UTC)
            out.append(self._record(raw, f"{raw['id']}-{on:%Y%m%d}", ended, self._metrics(raw["metrics"], on)))
        return out

    def _between(self, experiment_ids: Sequence[str], after: datetime, until: datetime) -> list[RunRecord]:
        wanted = set(experiment_ids)
        runs = [r for day in _days(after, until) for r in self.runs_on(day)]
        return sorted((r for r in runs if r.experiment_id in wanted and r.end_time and after < r.end_time <= until),
                      key=lambda r: r.end_time or after)

    # --- TrackingSource ---------------------------------------------------------------------
    async def experiments(self, patterns: Sequence[str]) -> list[ExperimentRecord]:
        return [ExperimentRecord(str(e["id"]), e["name"]) for e in self.data["experiments"]
                if any(fnmatch.fnmatchcase(e["name"], p) for p in patterns)]

    async def ended_runs(self, experiment_ids: Sequence[str], status: RunStatus, after: datetime,
                         until: datetime) -> list[RunRecord]:
        return [r for r in self._between(experiment_ids, after, until) if r.status == status]

    async def running_runs(self, experiment_ids: Sequence[str]) -> list[RunRecord]:
        return []  # a recording has no live runs

    async def best_run(self, experiment_id: str, metric: str, goal: Goal, before: datetime) -> RunRecord | None:
        candidates = [r for r in self._between([experiment_id], before - self.keep, before)
                      if r.status == "FINISHED" and metric in r.metrics]
        if not candidates:
            return None
        pick = max if goal == "max" else min
        return pick(candidates, key=lambda r: r.metrics[metric])

    async def run(self, run_id: str) -> RunRecord | None:
        if run_id in self._fixed:
            return self._fixed[run_id]
        _, _, stamp = run_id.rpartition("-")
        try:
            on = datetime.strptime(stamp, "%Y%m%d").replace(tzinfo=UTC).date()
        except ValueError:
            return None
        return next((r for r in self.runs_on(on) if r.run_id == run_id), None)

    async def metric_history(self, run_id: str, metric: str) -> list[MetricPoint]:
        """A learning curve rising to the run's final value (the recording keeps final values only)."""
        run = await self.run(run_id)
        if run is None or metric not in run.metrics or run.end_time is None:
            return []
        final, steps = run.metrics[metric], 10
        span = run.end_time - run.start_time
        return [MetricPoint(step, round(final - 0.2 * final * (0.55 ** step), 4),
                            run.start_time + span * (step + 1) / steps) for step in range(steps)]

    async def registered_model(self, name: str) -> RegisteredModel | None:
        model = (self.data.get("registry") or {}).get(name)
        if model is None:
            return None
        return RegisteredModel(name, {k: str(v) for k, v in model.get("aliases", {}).items()})

    async def model_versions(self, name: str) -> list[ModelVersion]:
        model = (self.data.get("registry") or {}).get(name)
        if model is None:
            return []
        return [ModelVersion(name, str(v["version"]), _instant(v["created"]), v.get("run"))
                for v in model.get("versions", [])]


class DemoMonitoring:
    """Evidently-like data drift reports, replayed from ``demo_data/drift.json``."""

    name = DEMO_NAME

    def __init__(self, config: MonitoringConfig, data: Mapping[str, Any] | None = None) -> None:
        self.config = config
        self.data = data if data is not None else recording("drift.json")
        self.cycle = Cycle(date.fromisoformat(self.data["epoch"]), int(self.data["cycle_days"]))

    async def close(self) -> None:
        return None

    async def snapshots(self, project: str, after: datetime, until: datetime) -> list[DriftSnapshot]:
        projects = self.data["projects"]
        if project not in projects:
            raise MissingData(f"the demo data has no project named {project!r} (it has: {', '.join(projects)})")
        recorded = projects[project]
        by_day = {int(d["day"]): d for d in recorded["days"]}
        out = []
        for on in _days(after, until):
            raw = by_day.get(self.cycle.day_of(on))
            if raw is None:
                continue
            taken = datetime.combine(on, time.fromisoformat(raw["taken"]), tzinfo=UTC)
            if not after < taken <= until:
                continue
            columns = tuple(column_drift(c["column"], c["method"], float(c["score"]), float(c["threshold"]))
                            for c in raw["columns"])
            out.append(DriftSnapshot(f"{project}-{on:%Y%m%d}", taken, float(raw["drifted_share"]),
                                     float(recorded["drift_share"]), tuple(sorted(columns, key=lambda c: c.column))))
        return out
