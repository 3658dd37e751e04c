"""POST /hooks/alertmanager and /hooks/mlflow over HTTP, with real webhook bodies."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from adapters.web.hooks import add_hook_routes, mlflow_signature
from bot.digests.sources import SourceSet
from bot.settings import Settings
from tests.digest_fakes import FakeMonitoring, FakeTracking, installed, make_app

NOW = datetime(2027, 3, 15, 9, 0, tzinfo=UTC)
TEAM = {"sources": {"tracking": [{"kind": "mlflow", "uri": "http://mlflow.test", "experiments": ["churn-*"],
                                  "metric": "val_auc"}],
                    "monitoring": [{"kind": "evidently", "url": "http://evidently.test"}],
                    "models": [{"name": "churn-model", "owner": "alice", "project": "churn"}],
                    "alertmanager": {"channel": "#ml-alerts"}},
        "digests": [{"kind": "experiments", "channel": "#ml-team", "at": "08:00 UTC"},
                    {"kind": "drift", "channel": "#ml-team", "at": "08:05 UTC"}]}


def alertmanager_body(status: str, ends_at: str = "0001-01-01T00:00:00Z") -> dict[str, Any]:
    """What Alertmanager 0.25 POSTs (webhook version 4)."""
    labels = {"alertname": "PredictionLatencyHigh", "model": "churn-model", "severity": "warning",
              "instance": "scorer-0:9100", "job": "churn-scorer"}
    return {
        "receiver": "meridian", "status": status, "version": "4",
        "groupKey": '{}/{severity="warning"}:{alertname="PredictionLatencyHigh"}', "truncatedAlerts": 0,
        "groupLabels": {"alertname": "PredictionLatencyHigh"}, "commonLabels": labels,
        "commonAnnotations": {"summary": "p95 latency above 500 ms"},
        "externalURL": "http://alertmanager:9093",
        "alerts": [{
            "status": status, "labels": labels, "annotations": {"summary": "p95 latency above 500 ms"},
            "startsAt": "2027-03-15T08:12:31.512345678Z", "endsAt": ends_at,
            "generatorURL": "http://prometheus:9090/graph?g0.expr=latency_p95+%3E+0.5",
            "fingerprint": "c8a1f0e7b3d2a9f4",
        }],
    }


@pytest.fixture
async def hooks(sqlite_store):
    app, _, chat, clock = make_app(sqlite_store, NOW)
    digests = installed(app, lambda config: SourceSet(monitoring={"evidently": FakeMonitoring()}))
    digests.registry.configure("acme-ml", TEAM)
    web_app = web.Application()
    add_hook_routes(web_app, app, Settings(webhook_token="tok3n", mlflow_webhook_secret="s3cret"), digests.registry)
    client = TestClient(TestServer(web_app))
    await client.start_server()
    yield client, chat, clock, app
    await client.close()


async def test_alertmanager_needs_the_bearer_token(hooks) -> None:
    client, chat, _, _ = hooks
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "tok3n"}):
        resp = await client.post("/hooks/alertmanager", json=alertmanager_body("firing"), headers=headers)
        assert resp.status == 401
    assert chat.sent == []


async def test_firing_then_resolved_updates_the_one_message(hooks) -> None:
    client, chat, clock, app = hooks
    auth = {"Authorization": "Bearer tok3n"}
    resp = await client.post("/hooks/alertmanager", json=alertmanager_body("firing"), headers=auth)
    assert resp.status == 202 and await resp.json() == {"alerts": 1, "queued": 1}
    assert chat.sent == [], "acknowledged first; posted from the queue"
    await client.post("/hooks/alertmanager", json=alertmanager_body("firing"), headers=auth)  # repeat_interval
    await app.engine.run_due()
    source = "Source (http://prometheus:9090/graph?g0.expr=latency_p95+%3E+0.5)"
    assert [(s.channel, s.message.fallback) for s in chat.sent] == [
        ("#ml-alerts", "🔥 FIRING PredictionLatencyHigh — churn-model: p95 latency above 500 ms (since 08:12)\n"
                       + source + "\nOver to alice (owner)")]  # the model's owner, not a member: named as text
    clock.current = NOW.replace(hour=10)
    resp = await client.post("/hooks/alertmanager", json=alertmanager_body("resolved", "2027-03-15T09:02:00Z"),
                             headers=auth)
    assert resp.status == 202
    await app.engine.run_due()
    assert len(chat.sent) == 1
    assert [(mid, m.fallback) for mid, m in chat.updates] == [
        ("1", "✅ RESOLVED PredictionLatencyHigh — churn-model: p95 latency above 500 ms (fired 08:12, lasted 49m)\n"
              + source)]


async def test_a_body_that_is_not_a_webhook_is_a_400(hooks) -> None:
    client, _, _, _ = hooks
    resp = await client.post("/hooks/alertmanager", json={"alerts": [{"status": "firing"}]},
                             headers={"Authorization": "Bearer tok3n"})
    assert resp.status == 400
    assert "fingerprint" in (await resp.json())["error"]


def signed(body: str, secret: str = "s3cret", stamp: int | None = None, delivery: str = "d-1") -> dict[str, str]:
    ts = str(stamp if stamp is not None else int(time.time()))
    return {"X-MLflow-Delivery-Id": delivery, "X-MLflow-Timestamp": ts,
            "X-MLflow-Signature": mlflow_signature(secret, delivery, ts, body), "Content-Type": "application/json"}


async def test_mlflow_hook_checks_signature_and_age_then_posts_promotions(hooks) -> None:
    client, chat, _, _ = hooks
    body = json.dumps({"entity": "model_version_alias", "action": "created", "timestamp": "2027-03-15T09:00:00Z",
                       "data": {"name": "churn-model", "alias": "champion", "version": "7"}})
    assert (await client.post("/hooks/mlflow", data=body, headers=signed(body, "other"))).status == 401
    assert (await client.post("/hooks/mlflow", data=body, headers=signed(body, stamp=int(time.time()) - 600))).status == 401
    tampered = body.replace('"7"', '"8"')
    assert (await client.post("/hooks/mlflow", data=tampered, headers=signed(body))).status == 401
    assert chat.sent == []
    resp = await client.post("/hooks/mlflow", data=body, headers=signed(body))
    assert resp.status == 200 and await resp.json() == {"posted": True}
    await client.post("/hooks/mlflow", data=body, headers=signed(body))  # a redelivery of the same id
    assert [(s.channel, s.message.fallback) for s in chat.sent] == [("#ml-team", "🏆 churn-model v7 promoted to champion.")]


async def test_trend_chart_is_served_as_a_png(sqlite_store) -> None:
    import struct
    import zlib

    from adapters.web.charts import served_charts

    app, _, _, _ = make_app(sqlite_store, NOW)
    settings = Settings(webhook_token="t", public_url="http://meridian.test/")
    assert served_charts(Settings(), app.store) is None, "no public address, no charts"
    charts = served_charts(settings, app.store)
    assert charts is not None
    url = charts.publish("acme-ml", [0.8, None, 0.82, 0.86])
    assert url is not None and url.startswith("http://meridian.test/charts/acme-ml/") and url.endswith(".png")
    web_app = web.Application()
    add_hook_routes(web_app, app, settings, installed(app, lambda config: SourceSet()).registry)
    client = TestClient(TestServer(web_app))
    await client.start_server()
    try:
        resp = await client.get(url.removeprefix("http://meridian.test"))
        assert resp.status == 200 and resp.content_type == "image/png"
        png = await resp.read()
        assert (await client.get("/charts/acme-ml/0000.png")).status == 404
    finally:
        await client.close()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    raw = zlib.decompress(png[png.index(b"IDAT") + 4:png.index(b"IEND") - 8])
    assert (width, height) == (420, 120) and len(raw) == height * (1 + 3 * width)

    def pixel(x: int, y: int) -> bytes:
        row = raw[y * (1 + 3 * width) + 1:(y + 1) * (1 + 3 * width)]
        return row[3 * x:3 * x + 3]

    slot = (width - 12) / 4
    bottom = height - 8
    assert pixel(round(6 + 0.5 * slot), bottom) == bytes((54, 110, 180)), "the first day has a bar"
    assert pixel(round(6 + 1.5 * slot), bottom) == bytes((255, 255, 255)), "a day without runs has none"
    assert pixel(round(6 + 3.5 * slot), 8) == bytes((230, 126, 34)), "the latest day is the tallest here"


def many_alerts(count: int) -> dict[str, Any]:
    body = alertmanager_body("firing")
    alert = body["alerts"][0]
    body["alerts"] = [{**alert, "fingerprint": f"{i:016x}",
                       "labels": {**alert["labels"], "alertname": f"Alert{i}"}} for i in range(count)]
    return body


async def test_a_delivery_past_the_alert_or_byte_limit_is_413_and_queues_nothing(hooks) -> None:
    from adapters.web.hooks import MAX_ALERTS, MAX_BODY_BYTES

    client, chat, _, app = hooks
    auth = {"Authorization": "Bearer tok3n"}
    resp = await client.post("/hooks/alertmanager", json=many_alerts(20_000), headers=auth)  # ~7 MB
    assert resp.status == 413 and str(MAX_ALERTS) in (await resp.json())["error"]
    resp = await client.post("/hooks/alertmanager", json=many_alerts(MAX_ALERTS + 1), headers=auth)
    assert resp.status == 413
    padded = alertmanager_body("firing")
    padded["commonAnnotations"]["summary"] = "x" * MAX_BODY_BYTES
    resp = await client.post("/hooks/alertmanager", json=padded, headers=auth)
    assert resp.status == 413
    # An unauthenticated caller is refused before its body is read, however large.
    resp = await client.post("/hooks/alertmanager", json=many_alerts(20_000))
    assert resp.status == 401
    assert app.store.next_due_at() is None and chat.sent == []
    await app.engine.run_due()
    assert chat.sent == []


async def test_a_full_delivery_is_acknowledged_at_once_and_posted_from_the_queue(hooks) -> None:
    from adapters.web.hooks import MAX_ALERTS

    client, chat, _, app = hooks
    resp = await client.post("/hooks/alertmanager", json=many_alerts(MAX_ALERTS),
                             headers={"Authorization": "Bearer tok3n"})
    assert resp.status == 202 and await resp.json() == {"alerts": MAX_ALERTS, "queued": MAX_ALERTS}
    assert chat.sent == [] and app.store.next_due_at() is not None
    assert await app.engine.run_due() == 1
    assert len(chat.sent) == MAX_ALERTS and len({s.message.fallback for s in chat.sent}) == MAX_ALERTS
    assert await app.engine.run_due() == 0, "handled once"


async def test_queued_alerts_survive_a_restart_and_are_posted_once(sqlite_store) -> None:
    app, _, chat, _ = make_app(sqlite_store, NOW)
    digests = installed(app, lambda config: SourceSet(monitoring={"evidently": FakeMonitoring()}))
    digests.registry.configure("acme-ml", TEAM)
    web_app = web.Application()
    add_hook_routes(web_app, app, Settings(webhook_token="tok3n"), digests.registry)
    client = TestClient(TestServer(web_app))
    await client.start_server()
    try:
        resp = await client.post("/hooks/alertmanager", json=many_alerts(3), headers={"Authorization": "Bearer tok3n"})
        assert resp.status == 202
    finally:
        await client.close()  # the process stops before the queue is worked
    assert chat.sent == []
    restarted, _, chat_after, _ = make_app(sqlite_store, NOW)
    installed(restarted, lambda config: SourceSet(monitoring={"evidently": FakeMonitoring()}))
    assert await restarted.engine.run_due() == 1
    assert sorted(s.message.fallback.split(" — ")[0] for s in chat_after.sent) == [
        "🔥 FIRING Alert0", "🔥 FIRING Alert1", "🔥 FIRING Alert2"]
    assert await restarted.engine.run_due() == 0


async def test_mlflow_prompt_events_are_not_model_news_and_mlflow_down_still_posts(sqlite_store) -> None:
    app, _, chat, _ = make_app(sqlite_store, NOW)
    down = FakeTracking(down=True)
    digests = installed(app, lambda config: SourceSet(tracking={"mlflow": down}))
    digests.registry.configure("acme-ml", TEAM)
    web_app = web.Application()
    add_hook_routes(web_app, app, Settings(mlflow_webhook_secret="s3cret"), digests.registry)
    client = TestClient(TestServer(web_app))
    await client.start_server()
    try:
        prompt = json.dumps({"entity": "prompt", "action": "created", "data": {"name": "p", "tags": {}}})
        resp = await client.post("/hooks/mlflow", data=prompt, headers=signed(prompt, delivery="d-p"))
        assert resp.status == 200 and await resp.json() == {"posted": False}
        body = json.dumps({"entity": "model_version", "action": "created",
                           "data": {"name": "churn-model", "version": "8", "run_id": "abc", "source": "models:/m-1",
                                    "tags": {}, "description": None}})
        resp = await client.post("/hooks/mlflow", data=body, headers=signed(body, delivery="d-v"))
        assert resp.status == 200 and await resp.json() == {"posted": True}
        assert chat.texts() == ["📦 churn-model v8 registered from run abc (metrics not read: MLflow did not answer)."]
    finally:
        await client.close()
