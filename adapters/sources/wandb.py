"""Weights & Biases public API → digest records, as GraphQL over HTTP (no ``wandb`` import).

W&B has projects where MLflow has experiments, run ``state`` where MLflow has status,
and no end time: a run's last heartbeat (``heartbeatAt``) stands for it.

Requests keep to what the public client documents (``wandb/apis/public/api.py``, ``Api.runs``):
filters only on the documented fields (``state``, ``createdAt``), times written as
``"2023-01-01T12:00:00Z"``, and order keys as the client writes them (``+created_at``,
``-heartbeat_at``, ``-summary_metrics.val_loss``). ``heartbeatAt`` is not a documented filter
field, so runs that ended in a window are read newest heartbeat first (a documented order) and
paging stops at the first run whose heartbeat is before the window.
W&B has no model registry here, so registry news is empty.

Run events (``RunFeed``) use the same documented filters: the runs that ended since the
watermark are read newest heartbeat first and paging stops at the first one before it (one
page when little changed); a target is a ``summary_metrics.<name>`` filter on running runs;
watched runs are read back by ``name`` (``$in``). W&B's Automations webhook
(``POST /hooks/wandb``) tells of a run at once; this poll is the fallback for a missed one.
"""

from __future__ import annotations

import base64
import fnmatch
import json
from collections.abc import AsyncIterator, Sequence
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
    SourceUnavailable,
)

STATES: dict[str, list[str]] = {"FINISHED": ["finished"], "FAILED": ["failed", "crashed"], "KILLED": ["killed"],
                                "RUNNING": ["running"]}
STATUS_OF = {state: status for status, states in STATES.items() for state in states}
ENDED_STATES = [state for status, states in STATES.items() if status != "RUNNING" for state in states]
FILTER_OP = {">=": "$gte", ">": "$gt", "<=": "$lte", "<": "$lt"}

RUN_FIELDS = "id name displayName state createdAt heartbeatAt summaryMetrics tags user { username }"
RUNS_QUERY = f"""query Runs($entity: String!, $project: String!, $cursor: String, $perPage: Int!,
    $order: String, $filters: JSONString) {{
  project(name: $project, entityName: $entity) {{
    runs(filters: $filters, after: $cursor, first: $perPage, order: $order) {{
      edges {{ node {{ {RUN_FIELDS} }} cursor }}
      pageInfo {{ endCursor hasNextPage }}
    }}
  }}
}}"""
RUN_QUERY = f"""query Run($entity: String!, $project: String!, $name: String!) {{
  project(name: $project, entityName: $entity) {{ run(name: $name) {{ {RUN_FIELDS} }} }}
}}"""
HISTORY_QUERY = """query History($entity: String!, $project: String!, $name: String!, $samples: Int) {
  project(name: $project, entityName: $entity) { run(name: $name) { history(samples: $samples) } }
}"""
PROJECTS_QUERY = """query Projects($entity: String!, $cursor: String) {
  models(entityName: $entity, after: $cursor, first: 100) {
    edges { node { id name } }
    pageInfo { endCursor hasNextPage }
  }
}"""


def _iso(instant: datetime) -> str:
    """The documented filter form: UTC, seconds, ``Z`` (``"2023-01-01T12:00:00Z"``)."""
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _time(text: Any) -> datetime | None:
    if not text:
        return None
    value = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _is_glob(pattern: str) -> bool:
    return any(ch in pattern for ch in "*?[")


class WandbSource:
    name = "W&B"

    def __init__(self, config: TrackingConfig, api_key: str, http: HttpSource | None = None) -> None:
        if not config.entity:
            raise ValueError("a W&B source needs an entity")
        self.config = config
        self.entity = config.entity
        token = base64.b64encode(f"api:{api_key}".encode()).decode()
        self.http = http or HttpSource(self.name, config.url, config.timeout.total_seconds(),
                                       headers={"Authorization": f"Basic {token}"})

    async def close(self) -> None:
        await self.http.close()

    async def _graphql(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        answer = await self.http.ok("POST", "/graphql", body={"query": query, "variables": variables})
        if not isinstance(answer, dict) or answer.get("errors"):
            errors = answer.get("errors") if isinstance(answer, dict) else answer
            raise SourceUnavailable(self.name, f"GraphQL error: {errors}")
        data: dict[str, Any] = answer.get("data") or {}
        return data

    def run_record(self, project: str, node: dict[str, Any]) -> RunRecord:
        summary = node.get("summaryMetrics") or "{}"
        values = json.loads(summary) if isinstance(summary, str) else summary
        metrics = {k: float(v) for k, v in values.items()
                   if isinstance(v, int | float) and not isinstance(v, bool) and not k.startswith("_")}
        state = node.get("state", "running")
        status: RunStatus = STATUS_OF.get(state, "FAILED")  # type: ignore[assignment]
        heartbeat = _time(node.get("heartbeatAt"))
        created = _time(node.get("createdAt")) or datetime.fromtimestamp(0, tz=UTC)
        tags = {t: "" for t in node.get("tags") or []}
        if state == "crashed":
            tags.setdefault(self.config.error_tag, "crashed")
        return RunRecord(run_id=f"{project}/{node['name']}", name=node.get("displayName") or node["name"],
                         experiment_id=project, user=(node.get("user") or {}).get("username") or "unknown",
                         status=status, start_time=created, end_time=None if status == "RUNNING" else heartbeat,
                         metrics=metrics, tags=tags, last_metric_at=heartbeat,
                         url=f"{self.project_url(project)}/runs/{quote(str(node['name']), safe='')}")

    def project_url(self, project: str) -> str:
        """The project's page: wandb.ai for W&B's cloud API, the server itself when self-hosted."""
        ui = "https://wandb.ai" if self.config.url.rstrip("/") == "https://api.wandb.ai" else self.config.url.rstrip("/")
        return f"{ui}/{quote(self.entity, safe='')}/{quote(project, safe='')}"

    async def experiments(self, patterns: Sequence[str]) -> list[ExperimentRecord]:
        exact = [p for p in patterns if not _is_glob(p)]
        globs = [p for p in patterns if _is_glob(p)]
        found = {name: ExperimentRecord(name, name, self.project_url(name)) for name in exact}
        cursor: str | None = None
        while globs:
            data = await self._graphql(PROJECTS_QUERY, {"entity": self.entity, "cursor": cursor})
            page = data.get("models") or {}
            for edge in page.get("edges", []):
                name = edge["node"]["name"]
                if any(fnmatch.fnmatchcase(name, g) for g in globs):
                    found[name] = ExperimentRecord(name, name, self.project_url(name))
            info = page.get("pageInfo") or {}
            if not info.get("hasNextPage"):
                break
            cursor = info.get("endCursor")
        return sorted(found.values(), key=lambda e: e.name)

    async def _pages(self, project: str, filters: dict[str, Any], order: str,
                     per_page: int | None = None) -> AsyncIterator[list[RunRecord]]:
        """The runs a query matches, a page at a time (the caller stops when it has what it needs)."""
        cursor: str | None = None
        while True:
            data = await self._graphql(RUNS_QUERY, {"entity": self.entity, "project": project, "cursor": cursor,
                                                    "perPage": min(per_page or self.config.page_size, 1000),
                                                    "order": order, "filters": json.dumps(filters)})
            page = (data.get("project") or {}).get("runs") or {}
            yield [self.run_record(project, e["node"]) for e in page.get("edges", [])]
            info = page.get("pageInfo") or {}
            if not info.get("hasNextPage"):
                return
            cursor = info.get("endCursor")

    @staticmethod
    def _order(metric: str, goal: Goal) -> str:
        return f"{'-' if goal == 'max' else '+'}summary_metrics.{metric}"

    async def ended_runs(self, experiment_ids: Sequence[str], status: RunStatus, after: datetime,
                         until: datetime) -> list[RunRecord]:
        return await self._ended_between(experiment_ids, STATES[status], after, until)

    async def _ended_between(self, experiment_ids: Sequence[str], states: list[str], after: datetime,
                             until: datetime | None) -> list[RunRecord]:
        """Runs in ``states`` whose last heartbeat is in (after, until]: newest heartbeat first, paging stopped at
        the first one before the window (``heartbeatAt`` is an order key, not a documented filter field)."""
        filters: dict[str, Any] = {"state": {"$in": states}}
        if until is not None:
            filters = {"$and": [filters, {"createdAt": {"$lte": _iso(until)}}]}
        out: list[RunRecord] = []
        for project in experiment_ids:
            async for page in self._pages(project, filters, "-heartbeat_at"):
                out.extend(r for r in page if r.end_time is not None and after < r.end_time
                           and (until is None or r.end_time <= until))
                last = page[-1].end_time if page else None
                if last is not None and last <= after:
                    break
        return sorted(out, key=lambda r: (r.end_time or after, r.run_id))

    # --- RunFeed: what run events poll ------------------------------------------------------------
    async def ended_since(self, experiment_ids: Sequence[str], after: datetime) -> list[RunRecord]:
        """Runs finished, failed, crashed or killed with their last heartbeat after ``after``."""
        return await self._ended_between(experiment_ids, ENDED_STATES, after, None)

    async def running_meeting(self, experiment_ids: Sequence[str], target: Target) -> list[RunRecord]:
        """Running runs whose summary value of the target's metric meets it (a documented ``summary_metrics.*``
        filter; the summary holds a metric's latest value unless the run overrides it)."""
        filters = {"$and": [{"state": "running"},
                            {f"summary_metrics.{target.metric}": {FILTER_OP[target.comparison]: target.value}}]}
        out: list[RunRecord] = []
        for project in experiment_ids:
            async for page in self._pages(project, filters, "+created_at"):
                out.extend(r for r in page if target.metric in r.metrics and target.met(r.metrics[target.metric]))
        return out

    async def runs_by_id(self, experiment_ids: Sequence[str], run_ids: Sequence[str]) -> list[RunRecord]:
        """Runs by ``project/name`` id, read per project with ``name $in`` (100 a query)."""
        by_project: dict[str, list[str]] = {}
        for run_id in run_ids:
            project, _, name = run_id.partition("/")
            if project in experiment_ids and name:
                by_project.setdefault(project, []).append(name)
        out: list[RunRecord] = []
        for project, names in by_project.items():
            for i in range(0, len(names), 100):
                async for page in self._pages(project, {"name": {"$in": names[i:i + 100]}}, "+created_at"):
                    out.extend(page)
        return out

    async def running_runs(self, experiment_ids: Sequence[str]) -> list[RunRecord]:
        out: list[RunRecord] = []
        for project in experiment_ids:
            async for page in self._pages(project, {"state": "running"}, "+created_at"):
                out.extend(page)
        return out

    async def best_run(self, experiment_id: str, metric: str, goal: Goal, before: datetime) -> RunRecord | None:
        """The best finished run that ended by ``before``; runs are ranked by W&B, their end checked here."""
        filters = {"$and": [{"state": "finished"}, {"createdAt": {"$lte": _iso(before)}}]}
        async for page in self._pages(experiment_id, filters, self._order(metric, goal), per_page=50):
            for run in page:  # where runs without the metric sort is W&B's choice: skip them, wherever they are
                if metric in run.metrics and run.end_time is not None and run.end_time <= before:
                    return run
        return None

    async def run(self, run_id: str) -> RunRecord | None:
        project, _, name = run_id.partition("/")
        data = await self._graphql(RUN_QUERY, {"entity": self.entity, "project": project, "name": name})
        node = (data.get("project") or {}).get("run")
        return self.run_record(project, node) if node else None

    async def metric_history(self, run_id: str, metric: str) -> list[MetricPoint]:
        project, _, name = run_id.partition("/")
        data = await self._graphql(HISTORY_QUERY, {"entity": self.entity, "project": project, "name": name,
                                                   "samples": 500})
        rows = ((data.get("project") or {}).get("run") or {}).get("history") or []
        points = []
        for raw in rows:
            row = json.loads(raw) if isinstance(raw, str) else raw
            if metric in row and isinstance(row[metric], int | float):
                at = datetime.fromtimestamp(float(row.get("_timestamp", 0)), tz=UTC)
                points.append(MetricPoint(int(row.get("_step", 0)), float(row[metric]), at))
        return points

    async def registered_model(self, name: str) -> RegisteredModel | None:
        return None

    async def model_versions(self, name: str) -> list[ModelVersion]:
        return []
