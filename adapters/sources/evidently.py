"""Evidently UI service → drift snapshots, over its REST API (no ``evidently`` import).

One ``data_series_batch`` call returns, for every snapshot in the window, the
drifted-columns share (``DriftedColumnsCount``) and each column's score with its method
and threshold (``ValueDrift``); the snapshot list tells which snapshots exist at all, so
a report without drift metrics is told apart from no report.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from adapters.sources.http import HttpSource
from bot.digests.config import MonitoringConfig
from bot.digests.sources import ColumnDrift, DriftSnapshot, MissingData

DRIFT_COUNT = "evidently:metric_v2:DriftedColumnsCount"
VALUE_DRIFT = "evidently:metric_v2:ValueDrift"


def _instant(text: str) -> datetime:
    """Evidently writes naive UTC timestamps."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _naive(instant: datetime) -> str:
    return instant.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds")


def snapshots_from_series(listed: list[dict[str, Any]], answer: dict[str, Any]) -> list[DriftSnapshot]:
    """Join the snapshot list and the series answer into one ``DriftSnapshot`` per snapshot, oldest first."""
    sources = answer.get("sources", [])
    index = {str(s["snapshot_id"]): i for i, s in enumerate(sources)}
    shares: dict[int, float] = {}
    thresholds: dict[int, float] = {}
    columns: dict[int, list[ColumnDrift]] = {}
    for series in answer.get("series", []):
        params = series.get("params", {})
        for i, value in enumerate(series.get("values", [])):
            if value is None:
                continue
            if series.get("metric_type") == DRIFT_COUNT and params.get("value_type") == "share":
                shares[i] = float(value)
                if params.get("drift_share") is not None:
                    thresholds[i] = float(params["drift_share"])
            elif series.get("metric_type") == VALUE_DRIFT and "column" in params:
                columns.setdefault(i, []).append(ColumnDrift(params["column"], params.get("method", "unknown"),
                                                             float(value), float(params.get("threshold", 0.05))))
    out = []
    for snap in listed:
        pos = index.get(str(snap["id"]), -1)
        out.append(DriftSnapshot(str(snap["id"]), _instant(snap["timestamp"]), shares.get(pos), thresholds.get(pos),
                                 tuple(sorted(columns.get(pos, []), key=lambda c: c.column))))
    return sorted(out, key=lambda s: s.taken_at)


class EvidentlySource:
    name = "Evidently"

    def __init__(self, config: MonitoringConfig, http: HttpSource | None = None) -> None:
        self.config = config
        self.http = http or HttpSource(self.name, config.url, config.timeout.total_seconds())
        self._projects: dict[str, str] = {}

    async def close(self) -> None:
        await self.http.close()

    async def project_id(self, project: str) -> str:
        if project not in self._projects:
            listed = await self.http.ok("GET", "/api/projects") or []
            self._projects = {p["name"]: str(p["id"]) for p in listed if p.get("name")}
            self._projects.update({str(p["id"]): str(p["id"]) for p in listed})
        if project not in self._projects:
            raise MissingData(f"{self.name} has no project named {project!r}")
        return self._projects[project]

    async def snapshots(self, project: str, after: datetime, until: datetime) -> list[DriftSnapshot]:
        pid = await self.project_id(project)
        listed = await self.http.ok("GET", f"/api/projects/{pid}/snapshots") or []
        listed = [s for s in listed if after < _instant(s["timestamp"]) <= until]
        if not listed:
            return []
        body = {"series_filter": [{"metric": m, "metric_labels": {}, "tags": [], "metadata": {}}
                                  for m in (DRIFT_COUNT, VALUE_DRIFT)]}
        answer = await self.http.ok("POST", f"/api/v2/snapshots/{pid}/data_series_batch", body=body,
                                    params={"timestamp_start": _naive(after), "timestamp_end": _naive(until)})
        return snapshots_from_series(listed, answer or {})
