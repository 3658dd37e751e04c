"""Evidently UI service → drift snapshots, over its REST API (no ``evidently`` import).

One ``data_series_batch`` call returns, for every snapshot in the window, the
drifted-columns share (``DriftedColumnsCount``) and each column's score with its method
and threshold (``ValueDrift``); the snapshot list tells which snapshots exist at all, so
a report without drift metrics is told apart from no report.

A column's verdict is not in the series (Evidently stores its score and threshold only), so
it is worked out here from the stat test that made it, by Evidently's own rule for that test:
``STAT_TESTS`` holds every test Evidently 0.7 registers (``evidently/legacy/calculations/
stattests``), keyed by its id and by its display name, since ``ValueDrift``'s ``method`` holds
the id when a report chose the test and the display name when Evidently chose it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from adapters.sources.http import HttpSource
from bot.digests.config import MonitoringConfig
from bot.digests.sources import DISTANCE, P_VALUE, ColumnDrift, DriftRule, DriftSnapshot, MissingData

P_VALUE_OR_EQUAL = DriftRule(below=True, or_equal=True)
ABOVE = DriftRule(below=False, or_equal=False)


@dataclass(frozen=True)
class StatTest:
    """One of Evidently's stat tests: its id, its display name, how its score reads, its default threshold."""

    name: str
    display_name: str
    rule: DriftRule | None
    """``None`` for the percentile text test: it compares the score with a bootstrap percentile, not the threshold."""
    default_threshold: float


_TESTS = (
    StatTest("ks", "K-S p_value", P_VALUE_OR_EQUAL, 0.05),
    StatTest("chisquare", "chi-square p_value", P_VALUE, 0.05),
    StatTest("z", "Z-test p_value", P_VALUE, 0.05),
    StatTest("anderson", "Anderson-Darling", P_VALUE, 0.1),
    StatTest("cramer_von_mises", "Cramer-von Mises", P_VALUE_OR_EQUAL, 0.1),
    StatTest("es", "Epps-Singleton", P_VALUE, 0.05),
    StatTest("fisher_exact", "Fisher's Exact test", P_VALUE, 0.1),
    StatTest("g_test", "g_test", P_VALUE, 0.1),
    StatTest("mannw", "Mann-Whitney U-rank test", P_VALUE, 0.05),
    StatTest("t_test", "t_test", P_VALUE, 0.05),
    StatTest("empirical_mmd", "empirical_mmd", P_VALUE, 0.1),
    StatTest("TVD", "Total-Variation-Distance", P_VALUE, 0.1),
    StatTest("wasserstein", "Wasserstein distance (normed)", DISTANCE, 0.1),
    StatTest("jensenshannon", "Jensen-Shannon distance", DISTANCE, 0.1),
    StatTest("psi", "PSI", DISTANCE, 0.1),
    StatTest("kl_div", "Kullback-Leibler divergence", DISTANCE, 0.1),
    StatTest("hellinger", "Hellinger distance", DISTANCE, 0.1),
    StatTest("ed", "Energy-distance", ABOVE, 0.1),
    StatTest("abs_text_content_drift", "Absolute text content drift", ABOVE, 0.55),
    StatTest("perc_text_content_drift", "Percentile text content drift", None, 0.95),
)
STAT_TESTS: dict[str, StatTest] = {key: t for t in _TESTS for key in (t.name, t.display_name)}
"""Evidently 0.7's stat tests by id and by display name (checked against the installed package in the tests)."""


def column_drift(column: str, method: str, score: float, threshold: float | None) -> ColumnDrift:
    """A column's drift as Evidently judged it; a test Meridian does not know (a custom one) has no verdict."""
    test = STAT_TESTS.get(method)
    if test is None:
        return ColumnDrift(column, method, score, threshold if threshold is not None else float("nan"), None)
    return ColumnDrift(column, test.display_name, score,
                       test.default_threshold if threshold is None else threshold, test.rule)


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
                threshold = params.get("threshold")
                columns.setdefault(i, []).append(column_drift(
                    str(params["column"]), str(params.get("method") or "unknown"), float(value),
                    None if threshold is None else float(threshold)))
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
        # The UI's own routes: /projects/:projectId and /projects/:projectId/reports/:snapshotId.
        project_url = f"{self.http.base_url}/projects/{quote(pid, safe='')}"
        return [replace(snap, project_url=project_url, url=f"{project_url}/reports/{quote(snap.snapshot_id, safe='')}")
                for snap in snapshots_from_series(listed, answer or {})]
