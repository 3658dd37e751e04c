"""A local emulator of the W&B public GraphQL calls the W&B adapter makes.

It answers ``POST /graphql`` for exactly four operations (``Projects``, ``Runs``,
``Run``, ``History``), checks the Basic ``api:KEY`` authorization, and evaluates the
run filter language the adapter uses (``$and``, ``$or``, ``$in``, ``$gt``, ``$gte``,
``$lt``, ``$lte`` and equality on ``state``, ``createdAt``, ``heartbeatAt``), ordering on
``createdAt`` or ``summary_metrics.<name>`` and cursor paging. It does not parse
GraphQL: it is a contract test of the adapter's requests, not of W&B itself.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class EmulatedRun:
    name: str
    state: str
    created_at: str
    heartbeat_at: str
    summary: dict[str, float] = field(default_factory=dict)
    user: str = "unknown"
    display_name: str | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)

    def node(self) -> dict[str, Any]:
        return {"id": self.name, "name": self.name, "displayName": self.display_name or self.name,
                "state": self.state, "createdAt": self.created_at, "heartbeatAt": self.heartbeat_at,
                "summaryMetrics": json.dumps(self.summary), "tags": self.tags, "user": {"username": self.user}}

    def field(self, key: str) -> Any:
        return {"state": self.state, "createdAt": self.created_at, "heartbeatAt": self.heartbeat_at}.get(key)


def matches(run: EmulatedRun, flt: dict[str, Any]) -> bool:
    for key, cond in flt.items():
        if key == "$and":
            if not all(matches(run, c) for c in cond):
                return False
            continue
        if key == "$or":
            if not any(matches(run, c) for c in cond):
                return False
            continue
        value = run.field(key)
        if not isinstance(cond, dict):
            if value != cond:
                return False
            continue
        for op, arg in cond.items():
            ok = {"$in": lambda v, a: v in a, "$gt": lambda v, a: v > a, "$gte": lambda v, a: v >= a,
                  "$lt": lambda v, a: v < a, "$lte": lambda v, a: v <= a, "$eq": lambda v, a: v == a,
                  "$ne": lambda v, a: v != a}[op](value, arg)
            if not ok:
                return False
    return True


class WandbEmulator:
    def __init__(self, entity: str, api_key: str) -> None:
        self.entity = entity
        self.api_key = api_key
        self.projects: dict[str, list[EmulatedRun]] = {}
        self.calls: list[dict[str, Any]] = []
        self.fail_with: int | None = None

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/graphql", self.graphql)
        return app

    async def graphql(self, request: web.Request) -> web.Response:
        if self.fail_with:
            return web.json_response({"error": "emulated failure"}, status=self.fail_with)
        expected = "Basic " + base64.b64encode(f"api:{self.api_key}".encode()).decode()
        if request.headers.get("Authorization") != expected:
            return web.json_response({"errors": [{"message": "unauthorized"}]}, status=401)
        body = await request.json()
        query, variables = body["query"], body.get("variables") or {}
        operation = query.split("(")[0].split()[-1]
        self.calls.append({"operation": operation, **variables})
        if variables.get("entity") != self.entity:
            return web.json_response({"data": {"project": None, "models": None}})
        handler = {"Projects": self._projects, "Runs": self._runs, "Run": self._run, "History": self._history}
        return web.json_response({"data": handler[operation](variables)})

    def _projects(self, v: dict[str, Any]) -> dict[str, Any]:
        return {"models": {"edges": [{"node": {"id": n, "name": n}} for n in sorted(self.projects)],
                           "pageInfo": {"endCursor": None, "hasNextPage": False}}}

    def _runs(self, v: dict[str, Any]) -> dict[str, Any]:
        runs = [r for r in self.projects.get(v["project"], []) if matches(r, json.loads(v.get("filters") or "{}"))]
        order = v.get("order") or "-createdAt"
        key = order[1:]
        if key.startswith("summary_metrics."):
            metric = key.split(".", 1)[1]
            have = sorted((r for r in runs if metric in r.summary), key=lambda r: r.summary[metric],
                          reverse=order[0] == "-")
            runs = have + [r for r in runs if metric not in r.summary]
        else:
            runs = sorted(runs, key=lambda r: r.field(key) or "", reverse=order[0] == "-")
        start = int(v.get("cursor") or 0)
        page = runs[start:start + int(v["perPage"])]
        end = start + len(page)
        return {"project": {"runs": {
            "edges": [{"node": r.node(), "cursor": str(start + i + 1)} for i, r in enumerate(page)],
            "pageInfo": {"endCursor": str(end), "hasNextPage": end < len(runs)}}}}

    def _find(self, v: dict[str, Any]) -> EmulatedRun | None:
        return next((r for r in self.projects.get(v["project"], []) if r.name == v["name"]), None)

    def _run(self, v: dict[str, Any]) -> dict[str, Any]:
        run = self._find(v)
        return {"project": {"run": run.node() if run else None}}

    def _history(self, v: dict[str, Any]) -> dict[str, Any]:
        run = self._find(v)
        return {"project": {"run": {"history": [json.dumps(h) for h in run.history]} if run else None}}
