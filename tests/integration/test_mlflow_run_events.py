"""Run events against a real MLflow server filled by the real ``mlflow`` client: each told once, to its owner."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest

from adapters.sources.factory import source_factory
from bot.digests.events import RUN_EVENTS
from bot.kernel.domain import WEEKDAYS, Hours, Member
from bot.kernel.ports import ClaimedItem
from bot.settings import Settings
from tests.digest_fakes import channel, dms, installed, make_app

pytestmark = pytest.mark.services

AWAKE = {"hours": Hours(time(0, 0), time(23, 59)), "quiet": Hours(time(0, 0), time(0, 0)),
         "workdays": frozenset(WEEKDAYS)}
RAVI = Member("acme-ml", "ravi", "Ravi", accounts={"mlflow": "ravi.k"}, **AWAKE)  # type: ignore[arg-type]
NOOR = Member("acme-ml", "noor", "Noor", **AWAKE)  # type: ignore[arg-type]


def ms(instant: datetime) -> int:
    return int(instant.timestamp() * 1000)


def team(url: str) -> dict[str, Any]:
    return {"sources": {"tracking": [{"kind": "mlflow", "uri": url, "experiments": ["events-*"], "metric": "val_auc",
                                      "events": {"every": "2m", "targets": {"val_auc": ">= 0.90"}}}]},
            "digests": [{"kind": "experiments", "channel": "#ml-team", "at": "08:00 UTC"}]}


def start(client: Any, exp: str, name: str, user: str, auc: float | None = None) -> str:
    run = client.create_run(exp, run_name=name, tags={"mlflow.user": user})
    if auc is not None:
        client.log_metric(run.info.run_id, "val_auc", auc)
    return str(run.info.run_id)


async def poll(app: Any) -> None:
    await app.due_handlers[RUN_EVENTS](app, ClaimedItem(1, "run-events:poll", RUN_EVENTS, "acme-ml", app.now(),
                                                        {"source": "mlflow"}, 0))


async def test_run_events_from_a_real_server_each_told_once_even_after_a_restart(mlflow_server, sqlite_store) -> None:
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=mlflow_server.url)
    exp = client.create_experiment("events-churn")
    app, _, chat, clock = make_app(sqlite_store, datetime.now(UTC), [RAVI, NOOR])
    digests = installed(app, source_factory(Settings()))
    service = digests.registry.configure("acme-ml", team(mlflow_server.url))
    try:
        await poll(app)  # the first poll: watches what runs now, tells nothing that ended long ago
        assert chat.sent == []

        ok = start(client, exp, "ok", "ravi.k", 0.85)
        client.set_terminated(ok, "FINISHED")
        boom = start(client, exp, "boom", "ravi.k")
        client.set_tag(boom, "error", "CUDA out of memory")
        client.set_terminated(boom, "FAILED")
        halt = start(client, exp, "halt", "ravi.k")
        client.set_terminated(halt, "KILLED")
        start(client, exp, "winner", "ravi.k", 0.93)
        start(client, exp, "slow", "noor", 0.70)
        stranger = start(client, exp, "mystery", "someone.else")
        client.set_terminated(stranger, "FAILED")

        clock.current = datetime.now(UTC)
        await poll(app)
        ravi = dms(chat, "ravi")
        assert len(ravi) == 4
        assert ravi[0].startswith("✅ Your run ok in events-churn finished at ") and ravi[0].endswith(" — val_auc 0.85.")
        assert ravi[1].startswith("❌ Your run boom in events-churn failed at ") and \
            ravi[1].endswith(": CUDA out of memory.")
        assert ravi[2].startswith("⏹ Your run halt in events-churn was killed at ")
        assert ravi[3] == "🎯 Your run winner in events-churn reached its target: val_auc 0.93 (val_auc ≥ 0.9)."
        assert dms(chat, "noor") == []
        posted = channel(chat)
        assert posted[0].startswith("🧪 Run events, ")
        assert posted[1].startswith("❌ @Ravi's run boom in events-churn failed at ")
        assert posted[2].startswith("❌ Run by `someone.else`: mystery in events-churn failed at ")
        assert "add `accounts: {mlflow: someone.else}`" in posted[2]
        parent, *replies = [s for s in chat.sent if s.channel == "#ml-team"]
        assert parent.thread is None and all(s.thread == parent.id for s in replies), "in the thread of the day"

        # Polled again, and after a restart (a new process on the same database): nothing is told twice.
        before = len(chat.sent)
        clock.current = datetime.now(UTC)
        await poll(app)
        assert len(chat.sent) == before
        await service.close()
        app2, _, chat2, clock2 = make_app(sqlite_store, datetime.now(UTC), [RAVI, NOOR])
        service = installed(app2, source_factory(Settings())).registry.configure("acme-ml", team(mlflow_server.url))
        await poll(app2)
        assert chat2.sent == []

        # 31 minutes on with no new metric: the two running runs have gone stale, each told once.
        clock2.current = datetime.now(UTC) + timedelta(minutes=31)
        await poll(app2)
        assert [t.split(" (last")[0] for t in dms(chat2, "ravi")] == [
            "⏳ Your run winner in events-churn is still RUNNING but has logged no metric for 31 min"]
        assert [t.split(" (last")[0] for t in dms(chat2, "noor")] == [
            "⏳ Your run slow in events-churn is still RUNNING but has logged no metric for 31 min"]
        clock2.current += timedelta(minutes=2)
        await poll(app2)
        assert len(chat2.sent) == 2
    finally:
        await service.close()
