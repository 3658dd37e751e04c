"""A local emulator of the W&B public GraphQL calls the W&B adapter makes.

It answers ``POST /graphql`` for exactly four operations (``Projects``, ``Runs``,
``Run``, ``History``), checks the Basic ``api:KEY`` authorization, and evaluates the
run filter language (``$and``, ``$or``, ``$in``, ``$gt``, ``$gte``, ``$lt``, ``$lte``,
``$eq``, ``$ne`` and equality) on the fields the public client documents for filters
(``wandb/apis/public/api.py``, ``Api.runs``), of which it knows ``state``, ``createdAt``,
``displayName``, ``name``, ``username`` and ``summary_metrics.<name>`` (a run without the metric
matches no comparison on it). It refuses, as a GraphQL error, what the client does
not document: a filter on another field (``heartbeatAt``), a time not written as
``"2023-01-01T12:00:00Z"``, an order key not in the client's form (``+created_at``,
``-heartbeat_at``, ``±summary_metrics.<name>``, ``±config.<name>.value``). Times in answers end
in ``Z``, as in the client's own tests. It does not parse GraphQL: it is a contract test of the
adapter's requests, not of W&B itself.

``automation_request`` builds what a W&B Automations webhook sends when a run's state changes:
the payload template the user pasted with its ``${…}`` variables filled in, ``Authorization:
Bearer <access token>`` when the webhook has one, and ``X-Wandb-Signature`` (base64 HMAC-SHA256
of the body with the webhook's secret) when it has a secret, as W&B's troubleshooting script
(``webhook_test.sh``) computes it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
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
        """A documented filter field's value (times as instants, to compare with the filter's)."""
        if key == "createdAt":
            return instant(self.created_at)
        if key.startswith("summary_metrics."):
            return self.summary.get(key.split(".", 1)[1])
        return {"state": self.state, "displayName": self.display_name or self.name, "name": self.name,
                "username": self.user}[key]

    def order_key(self, key: str) -> Any:
        return instant({"created_at": self.created_at, "heartbeat_at": self.heartbeat_at}[key])


DOCUMENTED_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z")
FILTER_FIELDS = {"state", "createdAt", "displayName", "name", "username"}
"""The documented filter fields this emulator evaluates (also documented: duration, group, host, jobType, tags,
config.*; the adapter uses none of them)."""
SUMMARY_FIELD = re.compile(r"summary_metrics\.\S+")
ORDER = re.compile(r"[+-]?(created_at|heartbeat_at|summary_metrics\.\S+|config\.\S+\.value)")


class Refused(ValueError):
    """A request the public client does not document; answered as a GraphQL error."""


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def _operand(key: str, arg: Any) -> Any:
    if key != "createdAt":
        return arg
    if isinstance(arg, list):
        return [_operand(key, a) for a in arg]
    if not isinstance(arg, str) or not DOCUMENTED_TIME.fullmatch(arg):
        raise Refused(f"createdAt filter {arg!r} is not an ISO 8601 time like \"2023-01-01T12:00:00Z\"")
    return instant(arg)


OPERATORS = {"$in": lambda v, a: v in a, "$gt": lambda v, a: v > a, "$gte": lambda v, a: v >= a,
             "$lt": lambda v, a: v < a, "$lte": lambda v, a: v <= a, "$eq": lambda v, a: v == a,
             "$ne": lambda v, a: v != a}


def check(flt: Any) -> None:
    """Refuse a filter using anything undocumented, whether or not any run would reach that part of it."""
    if not isinstance(flt, dict):
        raise Refused(f"a filter is an object, not {flt!r}")
    for key, cond in flt.items():
        if key in ("$and", "$or"):
            for part in cond:
                check(part)
            continue
        if key not in FILTER_FIELDS and not SUMMARY_FIELD.fullmatch(key):
            raise Refused(f"{key!r} is not a documented run filter field")
        for op, arg in (cond.items() if isinstance(cond, dict) else [("$eq", cond)]):
            if op not in OPERATORS:
                raise Refused(f"operator {op!r} is not supported here")
            _operand(key, arg)


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
        if value is None:  # a summary metric the run never logged: no comparison holds
            return False
        if not isinstance(cond, dict):
            if value != _operand(key, cond):
                return False
            continue
        for op, raw in cond.items():
            arg = _operand(key, raw)
            ok = OPERATORS[op](value, arg)
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
        self.refused: list[str] = []

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
        try:
            return web.json_response({"data": handler[operation](variables)})
        except Refused as err:
            self.refused.append(str(err))
            return web.json_response({"errors": [{"message": str(err)}], "data": None})

    def _projects(self, v: dict[str, Any]) -> dict[str, Any]:
        return {"models": {"edges": [{"node": {"id": n, "name": n}} for n in sorted(self.projects)],
                           "pageInfo": {"endCursor": None, "hasNextPage": False}}}

    def _runs(self, v: dict[str, Any]) -> dict[str, Any]:
        flt = json.loads(v.get("filters") or "{}")
        check(flt)
        runs = [r for r in self.projects.get(v["project"], []) if matches(r, flt)]
        order = v.get("order") or "+created_at"
        if not ORDER.fullmatch(order):
            raise Refused(f"order {order!r} is not written as the client writes it (+created_at, -summary_metrics.x)")
        descending, key = order.startswith("-"), order.lstrip("+-")
        if key.startswith("summary_metrics."):
            metric = key.split(".", 1)[1]
            have = sorted((r for r in runs if metric in r.summary), key=lambda r: r.summary[metric],
                          reverse=descending)
            runs = have + [r for r in runs if metric not in r.summary]
        else:
            runs = sorted(runs, key=lambda r: r.order_key(key), reverse=descending)
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


def render(template: Any, variables: dict[str, str]) -> Any:
    """A payload template with its ``${name}`` variables filled in, inside strings, as W&B fills them."""
    if isinstance(template, dict):
        return {k: render(v, variables) for k, v in template.items()}
    if isinstance(template, list):
        return [render(v, variables) for v in template]
    if isinstance(template, str):
        return re.sub(r"\$\{(\w+)\}", lambda m: variables.get(m.group(1), m.group(0)), template)
    return template


def automation_request(template: Any, variables: dict[str, str], access_token: str | None = None,
                       secret: str | None = None) -> tuple[bytes, dict[str, str]]:
    """The body and headers of one Automations webhook delivery."""
    body = json.dumps(render(template, variables)).encode()
    headers = {"Content-Type": "application/json"}
    if access_token:
        headers["Authorization"] = f"Bearer {access_token}"
    if secret:
        digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
        headers["X-Wandb-Signature"] = base64.b64encode(digest).decode()
    return body, headers
