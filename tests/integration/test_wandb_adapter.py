"""The W&B adapter against the local emulator of the GraphQL calls it makes, then through the digest."""

from __future__ import annotations

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
    return (NOW - timedelta(hours=hours_ago)).replace(tzinfo=None).isoformat(timespec="seconds")


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
        assert best is not None and best.name == "old"
        assert emulator.calls[-1]["order"] == "+summary_metrics.val_loss" and emulator.calls[-1]["perPage"] == 1
        history = await source.metric_history(finished[1].run_id, "val_loss")
        assert [p.value for p in history] == [0.5, 0.31]
        assert (await source.run("churn/r3")).name == "r3"  # type: ignore[union-attr]
    finally:
        await source.close()


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
                                        "1 running · 🏆 2 new bests")
    churn = chat.sent[1].message.fallback
    assert "Top runs by val_loss (lowest first) vs previous best (0.45):\n1. r2 0.31 (−0.14) — Noor" in churn
    assert "• r4 (Ravi): crashed" in churn
