"""The experiments digest, driven through the scheduler's due handler and the /experiments command."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest

from bot.digests.sources import (
    ExperimentRecord,
    MetricPoint,
    ModelVersion,
    RegisteredModel,
    RunRecord,
    SourceSet,
)
from bot.kernel.commands import Invocation
from bot.kernel.domain import Hours, Member
from bot.kernel.messages import Image, Mention, Section
from bot.kernel.ports import ClaimedItem
from bot.kernel.timekeeping import utc
from tests.digest_fakes import FakeTracking, installed, make_app

T0 = utc(2027, 3, 15, 8, 0)  # a Monday, 08:00 UTC (London is on GMT)
TEAM = {
    "sources": {"tracking": [{"kind": "mlflow", "uri": "http://mlflow.test", "experiments": ["churn-*"],
                              "metric": "val_auc", "goal": "max", "models": ["churn-model"], "stale_after": "6h"}]},
    "digests": [{"kind": "experiments", "channel": "#ml-team", "at": "08:00 Europe/London"}],
}
RAVI = Member("acme-ml", "ravi", "Ravi", accounts={"mlflow": "ravi.k"}, hours=Hours(time(0), time(23, 59)))
NOOR = Member("acme-ml", "noor", "Noor", hours=Hours(time(0), time(23, 59)))


def run(run_id: str, status: str, ended: datetime | None, auc: float | None = None, exp: str = "1",
        user: str = "ravi.k", started: datetime | None = None, tags: dict[str, str] | None = None,
        last_metric: datetime | None = None) -> RunRecord:
    return RunRecord(run_id=run_id, name=f"run-{run_id}", experiment_id=exp, user=user, status=status,  # type: ignore[arg-type]
                     start_time=started or (ended or T0) - timedelta(hours=1), end_time=ended,
                     metrics={"val_auc": auc} if auc is not None else {}, tags=tags or {},
                     last_metric_at=last_metric)


def source() -> FakeTracking:
    h = timedelta(hours=1)
    return FakeTracking(
        experiments_=[ExperimentRecord("1", "churn-xgb"), ExperimentRecord("2", "churn-lr"),
                      ExperimentRecord("3", "fraud-gbm")],
        runs=[
            run("old", "FINISHED", T0 - 48 * h, 0.80),                     # before the window: the previous best
            run("a", "FINISHED", T0 - 20 * h, 0.82),
            run("b", "FINISHED", T0 - 10 * h, 0.86),
            run("c", "FINISHED", T0 - 5 * h, 0.84, user="noor"),
            run("d", "FINISHED", T0 - 4 * h, 0.79),
            run("e", "FAILED", T0 - 3 * h, tags={"error": "CUDA out of memory"}),
            run("f", "KILLED", T0 - 2 * h),
            run("g", "RUNNING", None, started=T0 - 10 * h, last_metric=T0 - 8 * h),   # stale
            run("h", "RUNNING", None, started=T0 - 1 * h, last_metric=T0 - 0.2 * h),
            run("x", "FINISHED", T0 - 3 * h, 0.99, exp="3"),              # not a churn-* experiment
        ],
        history={"b": [MetricPoint(0, 0.7, T0), MetricPoint(1, 0.8, T0), MetricPoint(2, 0.86, T0)]},
    )


def due(store, at: datetime) -> ClaimedItem:
    """The one item that falls due exactly at ``at`` (and not a second earlier)."""
    assert store.claim_due(at - timedelta(seconds=1), "test", 10, 60) == []
    item, = store.claim_due(at, "test", 10, 60)
    store.finish(item.id, "done")
    return item


def claimed(key: str, kind: str, payload: dict[str, str]) -> ClaimedItem:
    return ClaimedItem(1, key, kind, "acme-ml", T0, payload, 0)


async def post_digest(app, day: str = "2027-03-15") -> None:
    key = f"digest:experiments:acme-ml:#ml-team:{day}"
    await app.due_handlers["digest.experiments"](app, claimed(key, "digest.experiments", {"channel": "#ml-team"}))


@pytest.fixture
def world(sqlite_store):
    app, store, chat, clock = make_app(sqlite_store, T0, [RAVI, NOOR])
    tracking = source()
    sources = SourceSet(tracking={"mlflow": tracking})
    digests = installed(app, lambda config: sources)
    digests.registry.configure("acme-ml", TEAM)
    return app, store, chat, clock, tracking, digests


async def test_digest_headline_counts_and_thread_details(world) -> None:
    app, _, chat, _, _, _ = world
    await post_digest(app)
    headline, *details = chat.sent
    assert headline.thread is None and all(d.thread == "1" for d in details)
    assert headline.message.fallback.splitlines()[0] == (
        "🧪 Experiments since Sun 08:00: 4 finished · 1 failed · 1 killed · 2 running (1 stale) · 🏆 1 new best")
    assert "🏆 New best in churn-xgb: run-b val_auc 0.86 (+0.06 over 0.8) by @Ravi" in headline.message.fallback
    detail = details[0].message.fallback
    assert "churn-xgb — 4 finished · 1 failed · 1 killed · 2 running" in detail
    assert "Top runs by val_auc (highest first) vs previous best (0.8):\n1. run-b 0.86 (+0.06) — Ravi\n" \
           "2. run-c 0.84 (+0.04) — Noor\n3. run-a 0.82 (+0.02) — Ravi" in detail
    assert "• run-e (Ravi): CUDA out of memory" in detail
    assert "Killed: run-f" in detail
    assert "⏳ Running with no metric for a while: run-g (Ravi, last metric 00:00)" in detail
    assert "run-b val_auc over its steps: ▁▆█ (0.7 → 0.86)" in detail
    assert "fraud" not in "".join(chat.texts())


async def test_new_best_mentions_the_member_behind_the_mlflow_user(world) -> None:
    app, _, chat, _, _, _ = world
    await post_digest(app)
    best = [b for b in chat.sent[0].message.blocks if isinstance(b, Section) and b.text[0] == "🏆 New best in churn-xgb: "]
    assert Mention("ravi", "Ravi") in best[0].text


async def test_second_digest_shows_only_what_is_new(world) -> None:
    app, _, chat, clock, tracking, _ = world
    await post_digest(app)
    clock.current = T0 + timedelta(days=1)
    tracking.runs = [r for r in tracking.runs if r.status != "RUNNING"]
    tracking.runs.append(run("n", "FINISHED", T0 + timedelta(hours=3), 0.85))
    chat.sent.clear()
    await post_digest(app, "2027-03-16")
    assert chat.sent[0].message.fallback.splitlines()[0] == (
        "🧪 Experiments since Mon 08:00: 1 finished · 0 failed · 0 killed · 0 running")
    detail = chat.sent[1].message.fallback
    assert "1. run-n 0.85 (−0.01) — Ravi" in detail  # against the best so far, 0.86
    assert "run-b" not in detail and "🏆" not in detail


async def test_a_run_whose_end_is_recorded_late_is_reported_once(world) -> None:
    app, _, chat, clock, tracking, _ = world
    await post_digest(app)
    clock.current = T0 + timedelta(days=1)
    tracking.runs = [r for r in tracking.runs if r.status != "RUNNING"]
    # It ended two minutes before the first digest but only reached the server after it.
    tracking.runs.append(run("late", "FINISHED", T0 - timedelta(minutes=2), 0.5))
    chat.sent.clear()
    await post_digest(app, "2027-03-16")
    assert "1 finished" in chat.sent[0].message.fallback
    assert "run-late" in chat.sent[1].message.fallback
    clock.current = T0 + timedelta(days=2)
    chat.sent.clear()
    await post_digest(app, "2027-03-17")
    assert len(chat.sent) == 1 and "quiet" in chat.sent[0].message.fallback


async def test_quiet_day_is_one_line(world) -> None:
    app, _, chat, _, tracking, _ = world
    tracking.runs = []
    await post_digest(app)
    assert chat.texts() == ["🧪 Experiments since Sun 08:00: quiet — no runs finished, failed, were killed or are running."]


async def test_registry_champion_is_the_comparison_and_alias_moves_are_news_once(world) -> None:
    app, _, chat, clock, tracking, _ = world
    tracking.models["churn-model"] = RegisteredModel("churn-model", {"champion": "1"})
    tracking.versions["churn-model"] = [ModelVersion("churn-model", "1", T0 - timedelta(days=3), "old"),
                                        ModelVersion("churn-model", "2", T0 - timedelta(hours=9), "b")]
    await post_digest(app)
    text = "\n".join(chat.texts())
    assert "vs champion churn-model v1 (0.8)" in text
    assert "📦 churn-model v2 registered" in text
    assert "moved" not in text
    tracking.models["churn-model"] = RegisteredModel("churn-model", {"champion": "2"})
    clock.current = T0 + timedelta(days=1)
    chat.sent.clear()
    await post_digest(app, "2027-03-16")
    text = "\n".join(chat.texts())
    assert "🔀 1 alias move" in text and "🔀 churn-model@champion moved v1 → v2" in text
    assert "v2 registered" not in text


async def test_source_down_gives_one_line_keeps_the_window_and_retries_into_the_thread(world) -> None:
    app, store, chat, clock, tracking, _ = world
    tracking.down = True
    await post_digest(app)
    assert chat.texts() == ["⚠️ MLflow unavailable since 08:00 — retrying with backoff."]
    retry = due(store, T0 + timedelta(minutes=5))
    assert retry.key == "digest:experiments:acme-ml:#ml-team:2027-03-15:retry:1"

    clock.current = T0 + timedelta(minutes=5)
    await app.due_handlers[retry.kind](app, retry)
    assert len(chat.sent) == 1, "still down: nothing new is posted"
    retry2 = due(store, clock.current + timedelta(minutes=15))
    assert retry2.key.endswith(":retry:2")

    tracking.down = False
    clock.current = T0 + timedelta(minutes=20)
    await app.due_handlers[retry2.kind](app, retry2)
    back = chat.sent[1]
    assert back.thread == "1"
    assert back.message.fallback.startswith("✅ mlflow answered again.")
    assert "4 finished" in back.message.fallback
    assert store.due_status("digest:experiments:acme-ml:#ml-team:2027-03-15:retry:3") is None


async def test_on_demand_command_filters_by_name_and_does_not_move_the_watermark(world) -> None:
    app, store, _, _, _, _ = world
    reply = await app.command(Invocation("acme-ml", RAVI, "experiments", "churn-lr"))
    assert reply.message is not None
    assert "quiet" in reply.message.fallback
    reply = await app.command(Invocation("acme-ml", RAVI, "experiments", "churn-xgb"))
    assert "4 finished" in reply.message.fallback
    assert store.kv_get("acme-ml", "digests:experiments:mlflow") is None
    reply = await app.command(Invocation("acme-ml", RAVI, "experiments", "nope"))
    assert "No experiment matches `nope`" in reply.message.fallback


async def test_trend_line_keeps_fourteen_days_of_daily_bests(world) -> None:
    app, _, chat, clock, tracking, digests = world
    published: list[list[float | None]] = []

    class Charts:
        def publish(self, workspace: str, values):
            published.append(list(values))
            return f"https://meridian.test/charts/{len(published)}.png"

    service = digests.registry.get("acme-ml")
    assert service is not None
    service.charts = Charts()
    await post_digest(app)
    for day in range(1, 4):
        clock.current = T0 + timedelta(days=day)
        tracking.runs = [run(f"t{day}", "FINISHED", clock.current - timedelta(hours=1), 0.80 + day / 100)]
        chat.sent.clear()
        await post_digest(app, f"2027-03-{15 + day}")
    detail = chat.sent[1].message.fallback
    line = next(x for x in detail.splitlines() if x.startswith("Best val_auc per day"))
    # The first digest saw the 14th (best 0.86) and the 15th (0.84); each later day adds its own best.
    assert line == "Best val_auc per day, last 14 days: ·········█▅▁▂▄ (0.86 → 0.83)"
    image = chat.sent[1].message.blocks[-1]
    assert isinstance(image, Image) and image.url == f"https://meridian.test/charts/{len(published)}.png"
    assert published[-1][-5:] == pytest.approx([0.86, 0.84, 0.81, 0.82, 0.83]) and published[-1][:9] == [None] * 9
