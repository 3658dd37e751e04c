"""The experiments digest against a real MLflow tracking server filled by the real ``mlflow`` client."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from adapters.sources.factory import source_factory
from adapters.web.hooks import add_hook_routes
from bot.digests.sources import SourceUnavailable
from bot.kernel.domain import WEEKDAYS, Hours, Member, Workspace
from bot.kernel.ports import ClaimedItem, SprintNumbers
from bot.settings import Settings
from tests.digest_fakes import installed, make_app
from tests.integration.services import free_port

pytestmark = pytest.mark.services

NOW = datetime.now(UTC).replace(microsecond=0)
H = timedelta(hours=1)
ALWAYS = {"hours": Hours(time(0), time(23, 59)), "workdays": frozenset(WEEKDAYS)}
"""Whenever the test runs, these people are at work, so a new best pings its author (routing is tested elsewhere)."""
RAVI = Member("acme-ml", "ravi", "Ravi", accounts={"mlflow": "ravi.k"}, **ALWAYS)  # type: ignore[arg-type]
NOOR = Member("acme-ml", "noor", "Noor", **ALWAYS)  # type: ignore[arg-type]


def without_links(text: str) -> str:
    """The fallback text without the page addresses runs, experiments and versions link to."""
    return re.sub(r" \(http://[^ )]*\)", "", text)


def ms(instant: datetime) -> int:
    return int(instant.timestamp() * 1000)


@dataclass
class Seeded:
    client: Any
    runs: dict[str, str]
    experiments: dict[str, str]


def log_run(client: Any, exp: str, name: str, user: str, status: str, end: datetime | None,
            aucs: tuple[float, ...] = (), start: datetime | None = None, metric_at: datetime | None = None,
            tags: dict[str, str] | None = None) -> str:
    begin = start or (end or NOW) - H
    run = client.create_run(exp, start_time=ms(begin), run_name=name, tags={"mlflow.user": user, **(tags or {})})
    for step, auc in enumerate(aucs):
        client.log_metric(run.info.run_id, "val_auc", auc, timestamp=ms(metric_at or begin + timedelta(minutes=step)),
                          step=step)
    if status != "RUNNING":
        client.set_terminated(run.info.run_id, status, end_time=ms(end))  # type: ignore[arg-type]
    return str(run.info.run_id)


@pytest.fixture(scope="module")
def seeded(mlflow_server) -> Seeded:
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=mlflow_server.url, registry_uri=mlflow_server.url)
    exps = {n: client.create_experiment(n) for n in ("churn-xgb", "churn-lr", "fraud-gbm")}
    xgb, lr = exps["churn-xgb"], exps["churn-lr"]
    runs = {
        "old": log_run(client, xgb, "old", "ravi.k", "FINISHED", NOW - 48 * H, (0.80,)),
        "a": log_run(client, xgb, "a", "ravi.k", "FINISHED", NOW - 20 * H, (0.82,)),
        "b": log_run(client, xgb, "b", "ravi.k", "FINISHED", NOW - 10 * H, (0.70, 0.80, 0.86)),
        "c": log_run(client, xgb, "c", "noor", "FINISHED", NOW - 5 * H, (0.84,)),
        "e": log_run(client, xgb, "e", "ravi.k", "FAILED", NOW - 3 * H, tags={"error": "CUDA out of memory"}),
        "f": log_run(client, xgb, "f", "noor", "KILLED", NOW - 2 * H),
        "g": log_run(client, xgb, "g", "noor", "RUNNING", None, (0.5,), start=NOW - 10 * H, metric_at=NOW - 8 * H),
        "l1": log_run(client, lr, "l1", "noor", "FINISHED", NOW - 6 * H, (0.75,)),
        "l2": log_run(client, lr, "l2", "noor", "RUNNING", None, (0.6,), start=NOW - H, metric_at=NOW - H / 6),
        "x": log_run(client, exps["fraud-gbm"], "x", "noor", "FINISHED", NOW - 3 * H, (0.99,)),
    }
    client.create_registered_model("churn-model")
    v1 = client.create_model_version("churn-model", f"runs:/{runs['old']}/model", run_id=runs["old"])
    client.set_registered_model_alias("churn-model", "champion", v1.version)
    return Seeded(client, runs, exps)


def team(url: str) -> dict[str, Any]:
    return {"sources": {"tracking": [{"kind": "mlflow", "uri": url, "experiments": ["churn-*"], "metric": "val_auc",
                                      "goal": "max", "models": ["churn-model"], "stale_after": "6h",
                                      "page_size": 2}]},
            "digests": [{"kind": "experiments", "channel": "#ml-team", "at": "08:00 UTC"}]}


async def digest(app: Any, day: str) -> None:
    key = f"digest:experiments:acme-ml:#ml-team:{day}"
    await app.due_handlers["digest.experiments"](app, ClaimedItem(1, key, "digest.experiments", "acme-ml", app.now(),
                                                                  {"channel": "#ml-team"}, 0))


async def test_digest_numbers_from_a_real_server_then_only_what_is_new(seeded, mlflow_server, sqlite_store) -> None:
    # The digests run on the server's own clock, as they do in production (the registry stamps real times).
    app, _, chat, clock = make_app(sqlite_store, datetime.now(UTC), [RAVI, NOOR])
    service = installed(app, source_factory(Settings())).registry.configure("acme-ml", team(mlflow_server.url))
    try:
        await digest(app, "day-1")
        url, xgb_id, runs = mlflow_server.url, seeded.experiments["churn-xgb"], seeded.runs
        raw = [s.message.fallback for s in chat.sent]
        assert raw[2].startswith(f"churn-xgb ({url}/#/experiments/{xgb_id}) — "), "the experiment links to its page"
        assert f"1. b ({url}/#/experiments/{xgb_id}/runs/{runs['b']}) 0.86" in raw[2]
        assert f"• e ({url}/#/experiments/{xgb_id}/runs/{runs['e']}) (Ravi)" in raw[2]
        assert f"🏆 New best in churn-xgb: b ({url}/#/experiments/{xgb_id}/runs/{runs['b']}) val_auc" in raw[0]
        assert raw[3] == f"Model registry:\n📦 churn-model v1 ({url}/#/models/churn-model/versions/1) registered"
        headline, lr, xgb, registry = (without_links(text) for text in raw)
        first = headline.splitlines()
        assert first[0].split(": ", 1)[1] == ("4 finished · 1 failed · 1 killed · 2 running (1 stale) · "
                                              "🏆 2 new bests · 📦 1 new model version")
        assert first[1] == "🏆 New best in churn-lr: l1 val_auc 0.75 (first result) by @Noor"
        assert first[2] == "🏆 New best in churn-xgb: b val_auc 0.86 (+0.06 over 0.8) by @Ravi"
        assert xgb.splitlines()[:5] == [
            "churn-xgb — 3 finished · 1 failed · 1 killed · 1 running",
            "Top runs by val_auc (highest first) vs champion churn-model v1 (0.8):",
            "1. b 0.86 (+0.06) — Ravi",
            "2. c 0.84 (+0.04) — Noor",
            "3. a 0.82 (+0.02) — Ravi",
        ]
        assert "b val_auc over its steps: ▁▆█ (0.7 → 0.86)" in xgb
        assert "• e (Ravi): CUDA out of memory" in xgb and "Killed: f" in xgb
        assert "⏳ Running with no metric for a while: g (Noor" in xgb
        assert lr.splitlines()[0] == "churn-lr — 1 finished · 0 failed · 0 killed · 1 running"
        assert registry == "Model registry:\n📦 churn-model v1 registered"
        assert "fraud" not in headline + xgb + lr

        # The next day: one new run, a new version, and the champion alias moves to it.
        client = seeded.client
        log_run(client, seeded.experiments["churn-xgb"], "n", "ravi.k", "FINISHED", NOW + 30 * timedelta(minutes=1),
                (0.85,))
        v2 = client.create_model_version("churn-model", f"runs:/{seeded.runs['b']}/model", run_id=seeded.runs["b"])
        client.set_registered_model_alias("churn-model", "champion", v2.version)
        clock.current = datetime.now(UTC) + 2 * H
        chat.sent.clear()
        await digest(app, "day-2")
        headline, lr, xgb, registry = (without_links(s.message.fallback) for s in chat.sent)
        assert headline.splitlines()[0].split(": ", 1)[1] == (
            "1 finished · 0 failed · 0 killed · 2 running (1 stale) · 📦 1 new model version · 🔀 1 alias move")
        assert xgb.splitlines()[:3] == [
            "churn-xgb — 1 finished · 0 failed · 0 killed · 1 running",
            "Top runs by val_auc (highest first) vs champion churn-model v2 (0.86):",
            "1. n 0.85 (−0.01) — Ravi",
        ]
        assert lr.splitlines()[0] == "churn-lr — 0 finished · 0 failed · 0 killed · 1 running"
        assert registry == "Model registry:\n📦 churn-model v2 registered\n🔀 churn-model@champion moved v1 → v2"
    finally:
        await service.close()


async def test_registry_webhook_from_the_real_server_is_verified_and_posted(seeded, mlflow_server,
                                                                            sqlite_store) -> None:
    app, _, chat, _ = make_app(sqlite_store, NOW, [RAVI])
    digests = installed(app, source_factory(Settings()))
    digests.registry.configure("acme-ml", team(mlflow_server.url))
    web_app = web.Application()
    add_hook_routes(web_app, app, Settings(webhook_token="t", mlflow_webhook_secret="s3cret"), digests.registry)
    server = TestServer(web_app, host="127.0.0.1")
    await server.start_server()
    client = seeded.client
    hook = client.create_webhook("meridian", str(server.make_url("/hooks/mlflow")),
                                 events=["model_version_alias.created"], secret="s3cret")
    wrong = client.create_webhook("forged", str(server.make_url("/hooks/mlflow")),
                                  events=["model_version_alias.created"], secret="not-ours")
    try:
        await asyncio.sleep(1.2)  # past the server's one-second webhook cache
        await asyncio.to_thread(client.set_registered_model_alias, "churn-model", "challenger", "1")
        for _ in range(100):
            if chat.sent:
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.5)  # the forged delivery must not add a second post
        assert chat.texts() == [f"🔀 churn-model@challenger now points to v1 ({mlflow_server.url}/#/models/churn-model/"
                                "versions/1) — val_auc 0.8 against 0.86 for champion v2 (−0.06, worse)."]
    finally:
        client.delete_webhook(hook.webhook_id)
        client.delete_webhook(wrong.webhook_id)
        await server.close()


async def test_sprint_numbers_from_a_real_server(mlflow_server, sqlite_store) -> None:
    from mlflow import MlflowClient

    now = datetime.now(UTC).replace(microsecond=0)
    client = MlflowClient(tracking_uri=mlflow_server.url, registry_uri=mlflow_server.url)
    exp = client.create_experiment("numbers-a")
    old = log_run(client, exp, "old", "ravi.k", "FINISHED", now - 3 * H, (0.80,))
    log_run(client, exp, "a", "ravi.k", "FINISHED", now - H, (0.83,))
    b = log_run(client, exp, "b", "noor", "FINISHED", now - H / 2, (0.86,))
    log_run(client, exp, "e", "noor", "FAILED", now - H / 4)
    log_run(client, exp, "k", "noor", "KILLED", now - H / 4)
    client.create_registered_model("numbers-model")
    client.create_model_version("numbers-model", f"runs:/{old}/model", run_id=old)
    v2 = client.create_model_version("numbers-model", f"runs:/{b}/model", run_id=b)
    client.set_registered_model_alias("numbers-model", "champion", v2.version)

    app, store, _, _ = make_app(sqlite_store, now, [RAVI, NOOR])
    store.upsert_workspace(Workspace("quiet"))
    store.upsert_workspace(Workspace("down"))
    digests = installed(app, source_factory(Settings()))
    numbers: SprintNumbers = digests.numbers
    digests.registry.configure("acme-ml", {
        "sources": {"tracking": [{"kind": "mlflow", "uri": mlflow_server.url, "experiments": ["numbers-*"],
                                  "metric": "val_auc", "models": ["numbers-model"]}]}})
    digests.registry.configure("down", {
        "sources": {"tracking": [{"kind": "mlflow", "uri": f"http://127.0.0.1:{free_port()}",
                                  "experiments": ["x"], "metric": "val_auc", "timeout": "2s"}]}})
    try:
        # Both versions were registered just now, so both fall in the period; the alias moved to the newer one.
        assert await numbers.sprint_numbers("acme-ml", now - 2 * H, now + H) == [
            "🧪 2 runs finished, 1 failed",
            "🏆 Best val_auc: 0.86 (b in numbers-a), +0.06 against the best before (0.8)",
            "📦 numbers-model: 2 new versions (v1, v2); @champion now v2",
        ]
        assert await numbers.sprint_numbers("acme-ml", now - 4 * H, now - 2 * H) == [
            "🧪 1 run finished, 0 failed",
            "🏆 Best val_auc: 0.8 (old in numbers-a), the first result",
        ]
        assert await numbers.sprint_numbers("quiet", now - 2 * H, now) == []
        with pytest.raises(SourceUnavailable):
            await numbers.sprint_numbers("down", now - 2 * H, now)
    finally:
        for workspace in ("acme-ml", "down"):
            service = digests.registry.get(workspace)
            if service is not None:
                await service.close()
