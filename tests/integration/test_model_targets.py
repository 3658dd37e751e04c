"""Targets per model through the composition the worker runs: the real core, the real source adapters (the
built-in demo registry, and Prometheus' HTTP API answered by a stand-in whose value the test moves), and the
drift checks run by the due-work engine on the drift digest's ``check_every``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

START = datetime(2027, 3, 15, 8, 0, tzinfo=UTC)
QUERY = "histogram_quantile(0.99, sum by (le) (rate(latency_ms_bucket[5m])))"


@dataclass
class Prometheus:
    """Answers ``/api/v1/query`` as Prometheus does (a one-series vector), or with a 503 while ``down``."""

    url: str = ""
    value: float = 180.0
    down: bool = False
    asked: list[str] = field(default_factory=list)

    async def query(self, request: web.Request) -> web.Response:
        self.asked.append(request.query["query"])
        if self.down:
            return web.json_response({"status": "error", "errorType": "unavailable", "error": "storage is down"},
                                     status=503)
        at = float(request.query["time"])
        return web.json_response({"status": "success", "data": {"resultType": "vector", "result": [
            {"metric": {"job": "churn-api"}, "value": [at, repr(self.value)]}]}})


@pytest.fixture
async def prometheus() -> AsyncIterator[Prometheus]:
    stand_in = Prometheus()
    app = web.Application()
    app.router.add_get("/api/v1/query", stand_in.query)
    server = TestServer(app)
    await server.start_server()
    stand_in.url = str(server.make_url("")).rstrip("/")
    yield stand_in
    await server.close()


def team(prometheus_url: str, auc: str = ">= 0.85") -> str:
    return f"""workspace: acme-ml
members:
  - {{id: alice, name: Alice, tz: UTC, hours: "00:00-23:59"}}
  - {{id: ravi, name: Ravi, tz: UTC, hours: "00:00-23:59", accounts: {{mlflow: ravi}}}}
raci:
  - {{activity: churn model retraining, R: [ravi], A: alice}}
sources:
  tracking: [{{kind: demo, experiments: ["churn-*"], metric: val_auc, models: [churn-model]}}]
  prometheus: {{url: "{prometheus_url}"}}
  models:
    - name: churn-model
      owner: ravi
      activity: churn model retraining
      prometheus: [{{name: latency_p99_ms, query: "{QUERY}"}}]
      targets: {{val_auc: "{auc}", latency_p99_ms: "<= 200"}}
digests:
  - {{kind: drift, channel: "#ml-team", at: "09:00 UTC", alerts_channel: "#ml-alerts", check_every: 15m}}
"""


def crossings(harness) -> list[str]:
    return [m.text for m in harness.chat.in_channel("#ml-alerts") if "target" in m.text]


async def test_each_crossing_is_posted_once_to_the_models_people_and_survives_a_restart(
        sqlite_harness, prometheus: Prometheus) -> None:
    h = sqlite_harness(START)
    h.load(team(prometheus.url))
    await h.advance_to(START + timedelta(minutes=15))
    assert prometheus.asked, "the drift check read the target's Prometheus check"
    assert crossings(h) == [], "the first reading is remembered, not told"

    prometheus.value = 250.0
    await h.advance_to(START + timedelta(minutes=30))
    await h.advance_to(START + timedelta(minutes=60))
    posted = crossings(h)
    assert len(posted) == 1, "one post per crossing, none while nothing changes"
    assert posted[0].startswith("❌ churn-model latency_p99_ms target no longer met: 250 (target ≤ 200, met since "
                                "08:00 (30m)) — graph (")
    assert "Over to @Ravi (R), @Alice (A)" in posted[0], "routed like a drift alert"

    prometheus.down = True
    await h.advance_to(START + timedelta(minutes=90))
    assert len(crossings(h)) == 1, "an unknown reading is no crossing"

    # A restart: a new core on the same database; nothing is told again.
    prometheus.down = False
    again = sqlite_harness(START + timedelta(minutes=90))
    await again.advance_to(START + timedelta(minutes=120))
    assert crossings(again) == []

    prometheus.value = 150.0
    await again.advance_to(START + timedelta(minutes=135))
    back, = crossings(again)
    assert back.startswith("✅ churn-model latency_p99_ms target met again: 150 (target ≤ 200, not met since 08:30 "
                           "(1h 45m))")


async def test_a_check_rerun_after_a_crash_before_its_state_was_kept_posts_nothing_twice(
        sqlite_harness, prometheus: Prometheus) -> None:
    h = sqlite_harness(START)
    h.load(team(prometheus.url))
    await h.advance_to(START + timedelta(minutes=15))
    before = h.store.kv_get("acme-ml", "digests:target:churn-model:latency_p99_ms")
    prometheus.value = 250.0
    await h.advance_to(START + timedelta(minutes=30))
    assert len(crossings(h)) == 1
    h.store.kv_set("acme-ml", "digests:target:churn-model:latency_p99_ms", before)  # the state write was lost
    again = sqlite_harness(START + timedelta(minutes=30))
    await again.advance_to(START + timedelta(minutes=45))
    assert crossings(again) == [], "the post's key is the crossing's number: the outbox already holds it"
    assert h.store.kv_get("acme-ml", "digests:target:churn-model:latency_p99_ms")["met"] is False


async def test_the_drift_digest_shows_each_target_met_not_met_or_unknown_with_why(
        sqlite_harness, prometheus: Prometheus) -> None:
    h = sqlite_harness(START)
    h.load(team(prometheus.url, auc=">= 0.86"))
    await h.advance_to(START + timedelta(hours=1, minutes=1))
    posts = h.chat.in_channel("#ml-team")
    headline = posts[0].text
    assert "Demo data" in headline, "a value read from the demo registry says so"
    assert "🎯 Targets: 1 met · 1 not met" in headline
    assert "val_auc 0.853 misses its target (val_auc ≥ 0.86)" in headline
    detail = next(m.text for m in posts if "🎯 Targets:\n" in m.text)
    assert "🎯 Targets:\n❌ val_auc 0.853 (target ≥ 0.86, not met) — champion v6\n" \
           "✅ latency_p99_ms 180 (target ≤ 200, met) — graph (" in detail

    prometheus.down = True
    await h.advance_to(START + timedelta(days=1, hours=1, minutes=1))
    detail = next(m.text for m in h.chat.in_channel("#ml-team")[len(posts):] if "🎯" in m.text and "❔" in m.text)
    assert "❔ latency_p99_ms unknown (target ≤ 200): Prometheus unavailable — graph (" in detail


async def test_a_changed_condition_is_a_new_bar_not_a_crossing(sqlite_harness, prometheus: Prometheus) -> None:
    h = sqlite_harness(START)
    h.load(team(prometheus.url))
    await h.advance_to(START + timedelta(minutes=15))
    h.load(team(prometheus.url).replace('latency_p99_ms: "<= 200"', 'latency_p99_ms: "<= 150"'))
    await h.advance_to(START + timedelta(minutes=45))
    assert crossings(h) == []
    prometheus.value = 120.0
    await h.advance_to(START + timedelta(minutes=60))
    back, = crossings(h)
    assert back.startswith("✅ churn-model latency_p99_ms target met again: 120 (target ≤ 150, not met since 08:30")


async def test_the_experiments_digest_shows_the_champions_registry_targets(sqlite_harness,
                                                                          prometheus: Prometheus) -> None:
    h = sqlite_harness(START)
    h.load(team(prometheus.url, auc=">= 0.86").replace(
        'digests:\n', 'digests:\n  - {kind: experiments, channel: "#ml-team", at: "08:30 UTC"}\n'))
    await h.advance_to(START + timedelta(minutes=31))
    posts = [m.text for m in h.chat.in_channel("#ml-team")]
    assert "🎯 Targets: 1 not met (churn-model val_auc)" in posts[0]
    assert posts[-1].endswith("🎯 Targets:\n❌ churn-model val_auc 0.853 (target ≥ 0.86, not met) — champion v6"), \
        "the registry targets only: latency is production health, in the drift digest"


@pytest.mark.services
async def test_registry_targets_read_the_champions_run_on_a_real_mlflow_server(mlflow_server, sqlite_store) -> None:
    from mlflow import MlflowClient

    from adapters.sources.factory import source_factory
    from bot.kernel.domain import WEEKDAYS, Hours, Member
    from bot.kernel.ports import ClaimedItem
    from bot.settings import Settings
    from tests.digest_fakes import installed, make_app
    from tests.integration.services import finished_runs

    client = MlflowClient(tracking_uri=mlflow_server.url, registry_uri=mlflow_server.url)
    exp = client.create_experiment("targets-churn")
    runs = finished_runs(client, exp, {"t-v1": 0.80, "t-v2": 0.88})
    for model in ("targets-churn-model", "targets-fraud-model"):
        client.create_registered_model(model)
    client.create_model_version("targets-churn-model", f"runs:/{runs['t-v1']}/model", run_id=runs["t-v1"])
    client.create_model_version("targets-churn-model", f"runs:/{runs['t-v2']}/model", run_id=runs["t-v2"])
    client.set_registered_model_alias("targets-churn-model", "champion", "1")
    client.create_model_version("targets-fraud-model", f"runs:/{runs['t-v2']}/model", run_id=runs["t-v2"])

    noor = Member("acme-ml", "noor", "Noor", hours=Hours(time(0), time(23, 59)), workdays=frozenset(WEEKDAYS))
    app, _, chat, clock = make_app(sqlite_store, datetime.now(UTC), [noor])
    url = mlflow_server.url
    service = installed(app, source_factory(Settings())).registry.configure("acme-ml", {
        "sources": {"tracking": [{"kind": "mlflow", "uri": url, "experiments": ["targets-*"], "metric": "val_auc",
                                  "models": ["targets-churn-model", "targets-fraud-model"]}],
                    "models": [{"name": "targets-churn-model", "owner": "noor",
                                "targets": {"val_auc": ">= 0.82", "val_loss": "<= 0.3"}},
                               {"name": "fraud", "owner": "noor", "registered_model": "targets-fraud-model",
                                "targets": {"val_auc": ">= 0.85"}}]},
        "digests": [{"kind": "experiments", "channel": "#ml-team", "at": "08:00 UTC"},
                    {"kind": "drift", "channel": "#ml-team", "at": "08:05 UTC", "alerts_channel": "#ml-alerts"}]})

    def due(kind: str, key: str) -> ClaimedItem:
        return ClaimedItem(1, key, kind, "acme-ml", app.now(), {"channel": "#ml-team"}, 0)

    try:
        await app.due_handlers["digest.experiments"](app, due("digest.experiments", "digest:experiments:day-1"))
        headline, *details = (s.message.fallback for s in chat.sent)
        assert "🎯 Targets: 1 met · 1 not met · 1 unknown (targets-churn-model val_auc)" in headline
        churn_v1 = f"{url}/#/models/targets-churn-model/versions/1"
        run_v1 = f"{url}/#/experiments/{exp}/runs/{runs['t-v1']}"
        assert details[-1].splitlines() == [
            "🎯 Targets:",
            f"❌ targets-churn-model val_auc 0.8 (target ≥ 0.82, not met) — targets-churn-model champion v1 ({churn_v1})"
            f" · run ({run_v1})",
            "❔ targets-churn-model val_loss unknown (target ≤ 0.3): the run of targets-churn-model champion v1 logged no "
            f"val_loss — targets-churn-model champion v1 ({churn_v1}) · run ({run_v1})",
            f"✅ fraud val_auc 0.88 (target ≥ 0.85, met) — targets-fraud-model latest v1 "
            f"({url}/#/models/targets-fraud-model/versions/1) · run ({url}/#/experiments/{exp}/runs/{runs['t-v2']})",
        ]

        sent = len(chat.sent)
        await app.due_handlers["digest.drift-check"](app, due("digest.drift-check", "drift-check:1"))
        assert len(chat.sent) == sent, "the first check remembers each target's state"
        client.set_registered_model_alias("targets-churn-model", "champion", "2")  # the better version is promoted
        clock.current = clock.current + timedelta(minutes=15)
        await app.due_handlers["digest.drift-check"](app, due("digest.drift-check", "drift-check:2"))
        await app.due_handlers["digest.drift-check"](app, due("digest.drift-check", "drift-check:3"))
        crossing, = (s for s in chat.sent[sent:] if s.channel == "#ml-alerts")
        assert crossing.message.fallback.startswith(
            "✅ targets-churn-model val_auc target met again: 0.88 (target ≥ 0.82, not met since ")
        assert f"targets-churn-model champion v2 ({url}/#/models/targets-churn-model/versions/2)" in \
            crossing.message.fallback
        assert crossing.message.fallback.endswith("Over to @Noor (owner)")
    finally:
        await service.close()
