"""The Prometheus adapter against a local stand-in answering in the HTTP API's documented shapes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from adapters.sources.prometheus import PrometheusSource
from bot.digests.config import PrometheusConfig
from bot.digests.sources import SourceUnavailable

AT = datetime(2027, 3, 15, 8, 0, tzinfo=UTC)


async def query(request: web.Request) -> web.Response:
    q = request.query["query"]
    if q == "latency_p95":
        assert float(request.query["time"]) == AT.timestamp()
        return web.json_response({"status": "success", "data": {"resultType": "vector", "result": [
            {"metric": {"model": "churn"}, "value": [AT.timestamp(), "0.42"]}]}})
    if q == "scalar(1)":
        return web.json_response({"status": "success", "data": {"resultType": "scalar",
                                                                "result": [AT.timestamp(), "1"]}})
    if q == "absent_metric":
        return web.json_response({"status": "success", "data": {"resultType": "vector", "result": []}})
    return web.json_response({"status": "error", "errorType": "bad_data", "error": "parse error at char 3"},
                             status=400)


async def query_range(request: web.Request) -> web.Response:
    start = float(request.query["start"])
    return web.json_response({"status": "success", "data": {"resultType": "matrix", "result": [
        {"metric": {}, "values": [[start, "1.5"], [start + 60, "NaN"], [start + 120, "2.5"]]}]}})


@pytest.fixture
async def prometheus():
    app = web.Application()
    app.router.add_get("/api/v1/query", query)
    app.router.add_get("/api/v1/query_range", query_range)
    server = TestServer(app)
    await server.start_server()
    source = PrometheusSource(PrometheusConfig(str(server.make_url("")).rstrip("/")))
    yield source
    await source.close()
    await server.close()


async def test_instant_values_empty_results_and_ranges(prometheus) -> None:
    assert await prometheus.instant("latency_p95", AT) == 0.42
    assert await prometheus.instant("scalar(1)", AT) == 1.0
    assert await prometheus.instant("absent_metric", AT) is None
    samples = await prometheus.series("rate(x[5m])", AT - timedelta(minutes=2), AT, 60)
    assert [s.value for s in samples] == [1.5, 2.5], "NaN samples are dropped"


async def test_a_bad_query_says_why(prometheus) -> None:
    with pytest.raises(SourceUnavailable, match="parse error at char 3"):
        await prometheus.instant("rate(", AT)
