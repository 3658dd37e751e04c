"""The Prometheus adapter against a local stand-in answering in the HTTP API's documented shapes.

The shapes are those of Prometheus' ``docs/querying/api.md``: a ``vector`` whose series hold
``value`` or, for native histograms, ``histogram``; ``scalar``; ``string``; and ``matrix`` for a
range selector. Several series come in no promised order, so the stand-in shuffles them.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from adapters.sources.prometheus import PrometheusSource
from bot.digests.config import PrometheusConfig, SeriesChoice
from bot.digests.sources import QueryError, SourceUnavailable

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
    if q == "latency_p99":
        series = [{"metric": {"__name__": "latency_p99", "instance": f"api-{i}"}, "value": [AT.timestamp(), v]}
                  for i, v in ((1, "0.2"), (2, "0.4"), (3, "NaN"))]
        random.shuffle(series)
        return web.json_response({"status": "success", "data": {"resultType": "vector", "result": series}})
    if q == "latency[5m]":
        return web.json_response({"status": "success", "data": {"resultType": "matrix", "result": [
            {"metric": {"__name__": "latency"}, "values": [[AT.timestamp() - 60, "0.1"], [AT.timestamp(), "0.2"]]}]}})
    if q == "request_duration_seconds":
        return web.json_response({"status": "success", "data": {"resultType": "vector", "result": [
            {"metric": {"__name__": "request_duration_seconds", "job": "api"},
             "histogram": [AT.timestamp(), {"count": "10", "sum": "3.2",
                                            "buckets": [[0, "0.25", "0.5", "6"], [0, "0.5", "1", "4"]]}]},
            {"metric": {"__name__": "request_duration_seconds", "job": "batch"}, "value": [AT.timestamp(), "7"]}]}})
    if q == 'label_replace(vector(1), "x", "y", "", "")':
        return web.json_response({"status": "success", "data": {"resultType": "string",
                                                                "result": [AT.timestamp(), "hello"]}})
    if q == "a * on() group_left b":
        return web.json_response({"status": "error", "errorType": "execution",
                                  "error": "multiple matches for labels: many-to-one matching must be explicit"},
                                 status=422)
    if q == "down":
        return web.json_response({"status": "error", "errorType": "unavailable", "error": "storage is down"},
                                 status=503)
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


async def test_a_bad_query_says_why_and_is_not_an_outage(prometheus) -> None:
    with pytest.raises(QueryError, match="Prometheus refused 'rate\\(': parse error at char 3"):
        await prometheus.instant("rate(", AT)
    with pytest.raises(QueryError, match="many-to-one matching must be explicit"):
        await prometheus.instant("a * on() group_left b", AT)
    with pytest.raises(SourceUnavailable, match="HTTP 503"):
        await prometheus.instant("down", AT)


async def test_several_series_are_chosen_by_labels_or_aggregated_never_by_order(prometheus) -> None:
    for _ in range(5):  # the stand-in shuffles the series each time
        assert await prometheus.instant("latency_p99", AT, SeriesChoice({"instance": "api-2"})) == 0.4
        assert await prometheus.instant("latency_p99", AT, SeriesChoice(aggregate="max")) == 0.4
        assert await prometheus.instant("latency_p99", AT, SeriesChoice(aggregate="sum")) == pytest.approx(0.6)
        assert await prometheus.instant("latency_p99", AT, SeriesChoice(aggregate="avg")) == pytest.approx(0.3)
    assert await prometheus.instant("latency_p99", AT, SeriesChoice({"instance": "api-3"})) is None, "NaN: no data"
    assert await prometheus.instant("latency_p99", AT, SeriesChoice({"instance": "api-9"})) is None
    with pytest.raises(QueryError, match=r"'latency_p99' answers with 3 series \(.*instance=\"api-.*name the series "
                                         r"with `labels:` or combine them with `aggregate: sum\|avg\|min\|max`"):
        await prometheus.instant("latency_p99", AT)


async def test_ranges_histograms_and_text_get_a_clear_message_not_a_key_error(prometheus) -> None:
    with pytest.raises(QueryError, match=r"a range of samples .* max_over_time"):
        await prometheus.instant("latency[5m]", AT)
    with pytest.raises(QueryError, match=r'native histogram \(\{__name__="request_duration_seconds", job="api"\}\)'
                                         r".*histogram_quantile"):
        await prometheus.instant("request_duration_seconds", AT)
    assert await prometheus.instant("request_duration_seconds", AT, SeriesChoice({"job": "batch"})) == 7.0
    with pytest.raises(QueryError, match="answers with text"):
        await prometheus.instant('label_replace(vector(1), "x", "y", "", "")', AT)
