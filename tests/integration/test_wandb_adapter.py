"""The W&B adapter against the local emulator of the GraphQL calls it makes, then through the digest."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from aiohttp.test_utils import TestServer

from adapters.sources.wandb import WandbSource
from bot.digests.config import parse_sources
from bot.digests.sources import SourceSet, SourceUnavailable
from bot.kernel.domain import Member
from bot.kernel.ports import ClaimedItem
from tests.digest_fakes import installed, make_app
from tests.emulators.wandb import EmulatedRun, WandbEmulator

NOW = datetime(2027, 3, 15, 8, 0, tzinfo=UTC)


def iso(hours_ago: float) -> str:
    """Times as W&B writes them (its client's own tests: ``"2026-03-24T01:00:00Z"``)."""
    return (NOW - timedelta(hours=hours_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
async def emulator():
    emu = WandbEmulator("acme", "k3y")
    emu.projects["churn"] = [
        EmulatedRun("r1", "finished", iso(30), iso(20), {"val_loss": 0.40}, "ravi-w"),
        EmulatedRun("r2", "finished", iso(12), iso(10), {"val_loss": 0.31}, "noor-w",
                    history=[{"_step": 0, "_timestamp": 1.0, "val_loss": 0.5}, {"_step": 1, "_timestamp": 2.0,
                                                                                 "val_loss": 0.31}]),
        EmulatedRun("r3", "finished", iso(9), iso(8), {"val_loss": 0.35}, "ravi-w"),
        EmulatedRun("r4", "crashed", iso(6), iso(5), {}, "ravi-w"),
        EmulatedRun("r5", "killed", iso(4), iso(3), {}, "noor-w"),
        EmulatedRun("r6", "running", iso(2), iso(0.1), {"val_loss": 0.5}, "noor-w"),
        EmulatedRun("r7", "running", iso(20), iso(7), {"val_loss": 0.6}, "ravi-w"),
        EmulatedRun("old", "finished", iso(100), iso(99), {"val_loss": 0.45}, "ravi-w"),
    ]
    emu.projects["churn-v2"] = [EmulatedRun("s1", "finished", iso(3), iso(2), {"val_loss": 0.29}, "ravi-w")]
    emu.projects["fraud"] = [EmulatedRun("f1", "finished", iso(3), iso(2), {"val_loss": 0.1}, "ravi-w")]
    server = TestServer(emu.app())
    await server.start_server()
    emu.url = str(server.make_url("")).rstrip("/")  # type: ignore[attr-defined]
    yield emu
    await server.close()


def team(url: str) -> dict:
    return {"sources": {"tracking": [{"kind": "wandb", "url": url, "entity": "acme", "projects": ["churn*"],
                                      "metric": "val_loss", "goal": "min", "page_size": 2}]},
            "digests": [{"kind": "experiments", "channel": "#ml", "at": "08:00 UTC"}]}


async def test_adapter_filters_orders_and_pages_on_the_server(emulator) -> None:
    config = parse_sources(team(emulator.url)).tracking[0]
    source = WandbSource(config, "k3y")
    try:
        projects = await source.experiments(["churn*"])
        assert [p.name for p in projects] == ["churn", "churn-v2"]
        finished = await source.ended_runs(["churn"], "FINISHED", NOW - timedelta(hours=24), NOW)
        assert [r.name for r in finished] == ["r1", "r2", "r3"]
        assert finished[1].user == "noor-w" and finished[1].metrics["val_loss"] == 0.31
        runs_calls = [c for c in emulator.calls if c["operation"] == "Runs"]
        assert runs_calls[-1]["perPage"] == 2
        assert len([c for c in runs_calls if c["project"] == "churn"]) == 2, "three runs come in two pages"
        failed = await source.ended_runs(["churn"], "FAILED", NOW - timedelta(hours=24), NOW)
        assert [(r.name, r.tags.get("error")) for r in failed] == [("r4", "crashed")]
        best = await source.best_run("churn", "val_loss", "min", NOW - timedelta(hours=24))
        assert best is not None and best.name == "old", "r2 ranks first but ended after the cut-off"
        assert emulator.calls[-1]["order"] == "+summary_metrics.val_loss"
        assert json.loads(emulator.calls[-1]["filters"]) == {
            "$and": [{"state": "finished"}, {"createdAt": {"$lte": "2027-03-14T08:00:00Z"}}]}
        running = await source.running_runs(["churn"])
        assert [(r.name, r.last_metric_at) for r in running] == [
            ("r7", NOW - timedelta(hours=7)), ("r6", NOW - timedelta(hours=0.1))]
        history = await source.metric_history(finished[1].run_id, "val_loss")
        assert [p.value for p in history] == [0.5, 0.31]
        assert (await source.run("churn/r3")).name == "r3"  # type: ignore[union-attr]
    finally:
        await source.close()
    assert emulator.refused == [], "every request keeps to what the public client documents"
    runs_calls = [c for c in emulator.calls if c["operation"] == "Runs"]
    assert {c["order"] for c in runs_calls} == {"-heartbeat_at", "+created_at", "+summary_metrics.val_loss"}
    assert "heartbeatAt" not in json.dumps([c["filters"] for c in runs_calls])


async def test_ended_runs_stop_paging_at_the_first_heartbeat_before_the_window(emulator) -> None:
    """Without a heartbeat filter, runs are read newest heartbeat first and the pages stop once past the window."""
    emulator.projects["big"] = [EmulatedRun(f"o{i}", "finished", iso(500 + i), iso(400 + i), {"val_loss": 0.5})
                                for i in range(20)] + [
        EmulatedRun("new", "finished", iso(30), iso(2), {"val_loss": 0.3})]
    source = WandbSource(parse_sources(team(emulator.url)).tracking[0], "k3y")  # 2 runs a page
    try:
        runs = await source.ended_runs(["big"], "FINISHED", NOW - timedelta(hours=24), NOW)
    finally:
        await source.close()
    assert [r.name for r in runs] == ["new"]
    assert len([c for c in emulator.calls if c.get("project") == "big"]) == 1, "one page, not eleven"


async def test_the_emulator_refuses_what_the_client_does_not_document(emulator) -> None:
    """The emulator's own guard: the old requests (heartbeatAt filter, zone-less times, createdAt order) fail."""
    source = WandbSource(parse_sources(team(emulator.url)).tracking[0], "k3y")
    try:
        for filters, order in (({"heartbeatAt": {"$gt": "2027-03-14T08:00:00Z"}}, "+created_at"),
                               ({"createdAt": {"$lte": "2027-03-15T08:00:00"}}, "+created_at"),
                               ({"state": "finished"}, "+createdAt")):
            with pytest.raises(SourceUnavailable, match="GraphQL error"):
                async for _ in source._pages("churn", filters, order):
                    pass
    finally:
        await source.close()
    assert len(emulator.refused) == 3


async def test_wrong_key_or_server_error_is_an_outage(emulator) -> None:
    config = parse_sources(team(emulator.url)).tracking[0]
    bad = WandbSource(config, "wrong")
    with pytest.raises(SourceUnavailable, match="HTTP 401"):
        await bad.ended_runs(["churn"], "FINISHED", NOW - timedelta(hours=24), NOW)
    await bad.close()
    emulator.fail_with = 500
    down = WandbSource(config, "k3y")
    with pytest.raises(SourceUnavailable, match="HTTP 500"):
        await down.experiments(["churn*"])
    await down.close()


async def test_experiments_digest_from_wandb(emulator, sqlite_store) -> None:
    app, _, chat, _ = make_app(sqlite_store, NOW, [Member("acme-ml", "noor", "Noor", accounts={"wandb": "noor-w"}),
                                     Member("acme-ml", "ravi", "Ravi", accounts={"wandb": "ravi-w"})])
    source = WandbSource(parse_sources(team(emulator.url)).tracking[0], "k3y")
    installed(app, lambda config: SourceSet(tracking={"wandb": source})).registry.configure("acme-ml", team(emulator.url))
    key = "digest:experiments:acme-ml:#ml:2027-03-15"
    await app.due_handlers["digest.experiments"](app, ClaimedItem(1, key, "digest.experiments", "acme-ml", NOW,
                                                                  {"channel": "#ml"}, 0))
    await source.close()
    headline = chat.sent[0].message.fallback
    assert headline.splitlines()[0] == ("🧪 Experiments since Sun 08:00: 4 finished · 1 failed · 1 killed · "
                                        "2 running (1 stale) · 🏆 2 new bests")
    churn = chat.sent[1].message.fallback
    runs = f"{emulator.url}/acme/churn/runs"
    assert churn.startswith(f"churn ({emulator.url}/acme/churn) — 3 finished"), "the project links to its page"
    assert f"Top runs by val_loss (lowest first) vs previous best (0.45):\n1. r2 ({runs}/r2) 0.31 (−0.14) — Noor" \
        in churn
    assert f"• r4 ({runs}/r4) (Ravi): crashed" in churn
    assert f"⏳ Running with no metric for a while: r7 ({runs}/r7) (Ravi, last metric 01:00)" in churn, \
        "stale from its heartbeat"
