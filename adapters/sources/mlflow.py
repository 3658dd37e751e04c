"""MLflow tracking server → digest records, over its REST API (no ``mlflow`` import).

Windows are filtered on the server (``attributes.end_time``) and one query is made per
status, because the search grammar accepts ``IN`` only on ``run_id``. The previous best run
is found by ordering on the configured metric on the server (one row), and every search
follows ``page_token``.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from adapters.sources.http import HttpSource
from bot.digests.config import Target, TrackingConfig
from bot.digests.sources import (
    ExperimentRecord,
    Goal,
    MetricPoint,
    ModelVersion,
    RegisteredModel,
    RunRecord,
    RunStatus,
)

API = "/api/2.0/mlflow"


def _ms(instant: datetime) -> int:
    return int(instant.timestamp() * 1000)


def _time(ms: Any) -> datetime | None:
    return datetime.fromtimestamp(int(ms) / 1000, tz=UTC) if ms not in (None, "", 0, "0") else None


def literal(text: str) -> str | None:
    """``text`` as a string MLflow's search filter reads back unchanged, or ``None`` when it cannot be written.

    MLflow's filter parser (``SearchUtils``: sqlparse tokens, then ``_strip_quotes``) takes off the outer
    quotes, single or double, and unescapes nothing: a backslash stays a backslash, ``''`` stays two
    quotes. So a name is written in the quote it does not contain; one holding both has no literal.
    """
    for mark in ("'", '"'):
        if mark not in text:
            return f"{mark}{text}{mark}"
    return None


def _like(pattern: str) -> str:
    """A LIKE pattern single-quoted, with what cannot be written as it is (``'``, and ``\\``, LIKE's escape
    character on PostgreSQL and MySQL stores) matched by ``_``: it may match more, never less."""
    return "'" + re.sub(r"['\\]", "_", pattern) + "'"


def like_pattern(glob: str) -> str:
    """A name glob as a quoted LIKE pattern (``churn-*`` → ``'churn-%'``); results are re-checked exactly."""
    return _like(re.sub(r"\[[^\]]*\]|\?", "_", glob).replace("*", "%"))


def name_filter(name: str) -> str:
    """A filter for ``name``: exact where MLflow can say it, else a LIKE matching it among others."""
    quoted = literal(name)
    return f"name = {quoted}" if quoted is not None else f"name LIKE {_like(name)}"


def order_clause(metric: str, goal: Goal) -> str:
    return f"metrics.`{metric}` {'DESC' if goal == 'max' else 'ASC'}"


class MLflowSource:
    name = "MLflow"

    def __init__(self, config: TrackingConfig, http: HttpSource | None = None) -> None:
        self.config = config
        self.base = config.url
        self.http = http or HttpSource(self.name, config.url, config.timeout.total_seconds())

    async def close(self) -> None:
        await self.http.close()

    def run_record(self, raw: dict[str, Any]) -> RunRecord:
        info, data = raw.get("info", {}), raw.get("data", {})
        metrics = data.get("metrics") or []
        stamps = [int(m["timestamp"]) for m in metrics if m.get("timestamp") is not None]
        run_id = info.get("run_id") or info.get("run_uuid")
        return RunRecord(
            run_id=run_id, name=info.get("run_name") or run_id[:8], experiment_id=str(info["experiment_id"]),
            user=info.get("user_id") or "unknown", status=info["status"],
            start_time=_time(info.get("start_time")) or datetime.fromtimestamp(0, tz=UTC),
            end_time=_time(info.get("end_time")),
            metrics={m["key"]: float(m["value"]) for m in metrics},
            tags={t["key"]: t.get("value", "") for t in data.get("tags") or []},
            last_metric_at=_time(max(stamps)) if stamps else None,
            url=f"{self.base}/#/experiments/{info['experiment_id']}/runs/{quote(str(run_id), safe='')}",
        )

    async def experiments(self, patterns: Sequence[str]) -> list[ExperimentRecord]:
        found: dict[str, ExperimentRecord] = {}
        for pattern in patterns:
            body: dict[str, Any] = {"max_results": 1000, "filter": f"name LIKE {like_pattern(pattern)}"}
            while True:
                page = await self.http.ok("POST", f"{API}/experiments/search", body=body) or {}
                for exp in page.get("experiments", []):
                    if fnmatch.fnmatchcase(exp["name"], pattern) and exp.get("lifecycle_stage", "active") == "active":
                        exp_id = str(exp["experiment_id"])
                        found[exp_id] = ExperimentRecord(exp_id, exp["name"], f"{self.base}/#/experiments/{exp_id}")
                if not page.get("next_page_token"):
                    break
                body["page_token"] = page["next_page_token"]
        return sorted(found.values(), key=lambda e: e.name)

    async def _search(self, experiment_ids: Sequence[str], where: str, order_by: list[str],
                      limit: int | None = None) -> list[RunRecord]:
        runs: list[RunRecord] = []
        page_size = min(self.config.page_size, limit) if limit else self.config.page_size
        body: dict[str, Any] = {"experiment_ids": list(experiment_ids), "filter": where, "max_results": page_size,
                                "order_by": order_by}
        while True:
            page = await self.http.ok("POST", f"{API}/runs/search", body=body) or {}
            runs.extend(self.run_record(r) for r in page.get("runs", []))
            token = page.get("next_page_token")
            if not token or (limit and len(runs) >= limit):
                return runs[:limit] if limit else runs
            body["page_token"] = token

    async def ended_runs(self, experiment_ids: Sequence[str], status: RunStatus, after: datetime,
                         until: datetime) -> list[RunRecord]:
        # Ordered by end time, not by the metric: every run in the window is fetched anyway (to be
        # counted), and MLflow's SQL store sorts on a metric per page — 8.5 s a page at 10,000 runs.
        where = (f"attributes.status = '{status}' AND attributes.end_time > {_ms(after)} "
                 f"AND attributes.end_time <= {_ms(until)}")
        return await self._search(experiment_ids, where, ["attributes.end_time ASC"])

    async def running_runs(self, experiment_ids: Sequence[str]) -> list[RunRecord]:
        return await self._search(experiment_ids, "attributes.status = 'RUNNING'", ["attributes.start_time ASC"])

    # --- the run-event feed (bot.digests.sources.RunFeed) ----------------------------------------
    # MLflow can search runs on start_time, end_time, status, user_id, run_name and run_id (RunInfo's searchable
    # attributes in 3.x), not on when a run last changed: each query below is bounded by one of them so that a
    # poll reads the runs that changed, not the experiment.

    async def ended_since(self, experiment_ids: Sequence[str], after: datetime) -> list[RunRecord]:
        # A run that has not ended has no end_time; NULL never compares, so this holds ended runs only.
        return await self._search(experiment_ids, f"attributes.end_time > {_ms(after)}",
                                  ["attributes.end_time ASC"])

    async def running_meeting(self, experiment_ids: Sequence[str], target: Target) -> list[RunRecord]:
        where = f"attributes.status = 'RUNNING' AND metrics.`{target.metric}` {target.comparison} {target.value!r}"
        return await self._search(experiment_ids, where, ["attributes.start_time ASC"])

    async def runs_by_id(self, experiment_ids: Sequence[str], run_ids: Sequence[str]) -> list[RunRecord]:
        found: list[RunRecord] = []
        ids = list(run_ids)
        for i in range(0, len(ids), 100):  # IN is the one list comparison MLflow takes, and only on run_id
            chunk = ", ".join(f"'{r}'" for r in ids[i:i + 100] if re.fullmatch(r"[0-9A-Za-z_-]+", r))
            if chunk:
                found.extend(await self._search(experiment_ids, f"attributes.run_id IN ({chunk})",
                                                ["attributes.start_time ASC"]))
        return found

    async def best_run(self, experiment_id: str, metric: str, goal: Goal, before: datetime) -> RunRecord | None:
        where = f"attributes.status = 'FINISHED' AND attributes.end_time <= {_ms(before)}"
        runs = await self._search([experiment_id], where, [order_clause(metric, goal)], limit=1)
        return runs[0] if runs and metric in runs[0].metrics else None

    async def run(self, run_id: str) -> RunRecord | None:
        page = await self.http.ok("GET", f"{API}/runs/get", params={"run_id": run_id}, missing_ok=True)
        return self.run_record(page["run"]) if page and "run" in page else None

    async def metric_history(self, run_id: str, metric: str) -> list[MetricPoint]:
        points: list[MetricPoint] = []
        params: dict[str, Any] = {"run_id": run_id, "metric_key": metric, "max_results": 25000}
        while True:
            page = await self.http.ok("GET", f"{API}/metrics/get-history", params=params, missing_ok=True) or {}
            points.extend(MetricPoint(int(m.get("step", 0)), float(m["value"]),
                                      _time(m.get("timestamp")) or datetime.fromtimestamp(0, tz=UTC))
                          for m in page.get("metrics", []))
            if not page.get("next_page_token"):
                return points
            params["page_token"] = page["next_page_token"]

    async def registered_model(self, name: str) -> RegisteredModel | None:
        page = await self.http.ok("GET", f"{API}/registered-models/get", params={"name": name}, missing_ok=True)
        if not page or "registered_model" not in page:
            return None
        model = page["registered_model"]
        return RegisteredModel(model["name"], {a["alias"]: str(a["version"]) for a in model.get("aliases", [])})

    async def model_versions(self, name: str) -> list[ModelVersion]:
        versions: list[ModelVersion] = []
        params: dict[str, Any] = {"filter": name_filter(name), "max_results": 1000}
        while True:
            page = await self.http.ok("GET", f"{API}/model-versions/search", params=params) or {}
            versions.extend(ModelVersion(v["name"], str(v["version"]),
                                         _time(v.get("creation_timestamp")) or datetime.fromtimestamp(0, tz=UTC),
                                         v.get("run_id") or None,
                                         f"{self.base}/#/models/{quote(name, safe='')}/versions/{v['version']}")
                            for v in page.get("model_versions", []) if v.get("name") == name)
            if not page.get("next_page_token"):
                return versions
            params["page_token"] = page["next_page_token"]
