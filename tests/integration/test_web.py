"""``meridian serve``'s own endpoints over real HTTP: health and Prometheus metrics."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from adapters.web.server import build_web_app
from bot.kernel.commands import Invocation


async def test_healthz_and_metrics(sqlite_harness: Any) -> None:
    h = sqlite_harness(datetime(2027, 3, 15, tzinfo=UTC))
    h.load("workspace: w\nmembers: [{id: a, tz: UTC}]\nstandups: [{name: d, channel: '#c'}]\n")
    await h.app.command(Invocation("w", h.store.get_member("w", "a"), "standup", "help"))
    async with TestClient(TestServer(build_web_app(h.app))) as client:
        health = await client.get("/healthz")
        assert health.status == 200 and (await health.json())["status"] == "ok"
        metrics = await client.get("/metrics")
        text = await metrics.text()
        assert metrics.status == 200 and metrics.content_type == "text/plain"
        assert "# TYPE meridian_commands_total counter" in text
        assert 'meridian_commands_total{family="standup"}' in text


async def test_healthz_reports_an_unreachable_database(sqlite_harness: Any) -> None:
    h = sqlite_harness()

    def broken(_ws: str) -> None:
        raise ConnectionError("database down")

    h.store.get_workspace = broken  # type: ignore[method-assign]
    async with TestClient(TestServer(build_web_app(h.app))) as client:
        response = await client.get("/healthz")
        assert response.status == 503 and (await response.json())["database"] == "unreachable"
