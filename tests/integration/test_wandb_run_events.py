"""W&B run events: the Automations webhook over HTTP into the hook routes, and the poll behind it, against the
W&B emulator; each run is told once whichever of the two sees it first."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from adapters.sources.factory import source_factory
from adapters.web.hooks import add_hook_routes, wandb_signature
from bot.digests.config import Target
from bot.digests.events import RUN_EVENTS
from bot.kernel.domain import WEEKDAYS, Hours, Member
from bot.kernel.ports import ClaimedItem
from bot.settings import Settings
from tests.digest_fakes import channel, dms, installed, make_app
from tests.emulators.wandb import EmulatedRun, WandbEmulator, automation_request

NOW = datetime(2027, 3, 15, 9, 0, tzinfo=UTC)
AWAKE = {"hours": Hours(time(0, 0), time(23, 59)), "quiet": Hours(time(0, 0), time(0, 0)),
         "workdays": frozenset(WEEKDAYS)}
RAVI = Member("acme-ml", "ravi", "Ravi", accounts={"wandb": "ravi-w"}, **AWAKE)  # type: ignore[arg-type]
NOOR = Member("acme-ml", "noor", "Noor", accounts={"wandb": "noor-w"}, **AWAKE)  # type: ignore[arg-type]

TEMPLATE = {"event_type": "${event_type}", "entity_name": "${entity_name}", "project_name": "${project_name}",
            "run_id": "${run_id}", "event_author": "${event_author}"}
"""The payload template docs/sources.md tells users to paste into the automation."""


def iso(minutes_ago: float) -> str:
    return (NOW - timedelta(minutes=minutes_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


def team(url: str) -> dict[str, Any]:
    return {"sources": {"tracking": [{"kind": "wandb", "url": url, "entity": "acme", "projects": ["churn*"],
                                      "metric": "val_auc", "page_size": 2,
                                      "events": {"targets": {"val_auc": ">= 0.90"}}}]},
            "digests": [{"kind": "experiments", "channel": "#ml-team", "at": "08:00 UTC"}]}


def ended(emu: WandbEmulator, name: str, state: str, minutes_ago: float = 1) -> EmulatedRun:
    """A run of ``churn`` reaching ``state``: its last heartbeat is then."""
    run = next(r for r in emu.projects["churn"] if r.name == name)
    run.state, run.heartbeat_at = state, iso(minutes_ago)
    return run


def delivery(run: str | None, project: str = "churn", event: str = "RUN_STATE", **auth: str) -> tuple[bytes, dict]:
    variables = {"event_type": event, "entity_name": "acme", "project_name": project, "event_author": "ravi-w"}
    if run is not None:
        variables["run_id"] = run
    return automation_request(TEMPLATE, variables, **auth)


@pytest.fixture
async def world(sqlite_store):
    emu = WandbEmulator("acme", "k3y")
    emu.projects["churn"] = [
        EmulatedRun("old1", "finished", iso(600), iso(500), {"val_auc": 0.80}, "ravi-w"),
        EmulatedRun("boom1", "running", iso(40), iso(2), {"val_auc": 0.70}, "ravi-w", display_name="boom"),
        EmulatedRun("ok1", "running", iso(40), iso(2), {"val_auc": 0.86}, "ravi-w", display_name="ok"),
        EmulatedRun("gpu1", "running", iso(40), iso(2), {"val_auc": 0.60}, "noor-w", display_name="gpu"),
        EmulatedRun("odd1", "running", iso(40), iso(2), {}, "someone.else", display_name="mystery"),
    ]
    emu.projects["fraud"] = [EmulatedRun("f1", "running", iso(40), iso(2), {}, "ravi-w")]
    server = TestServer(emu.app())
    await server.start_server()
    url = str(server.make_url("")).rstrip("/")
    app, _, chat, clock = make_app(sqlite_store, NOW, [RAVI, NOOR])
    digests = installed(app, source_factory(Settings(wandb_api_key="k3y")))
    service = digests.registry.configure("acme-ml", team(url))
    web_app = web.Application()
    add_hook_routes(web_app, app, Settings(wandb_webhook_secret="s3cret"), digests.registry)
    client = TestClient(TestServer(web_app))
    await client.start_server()
    yield emu, client, app, chat, clock, service
    await client.close()
    await service.close()
    await server.close()


async def poll(app: Any) -> None:
    await app.due_handlers[RUN_EVENTS](app, ClaimedItem(1, "run-events:poll", RUN_EVENTS, "acme-ml", app.now(),
                                                        {"source": "wandb"}, 0))


async def test_a_failed_run_told_by_the_webhook_at_once_and_once(world) -> None:
    emu, client, app, chat, clock, _ = world
    await poll(app)  # the first poll watches what runs now and tells nothing that ended long ago
    assert chat.sent == []

    ended(emu, "boom1", "failed")
    body, headers = delivery("boom1", access_token="s3cret")
    resp = await client.post("/hooks/wandb", data=body, headers=headers)
    assert resp.status == 200 and (await resp.json())["events"] == 2
    [dm] = dms(chat, "ravi")
    assert dm.startswith("❌ Your run boom in churn failed at ") and dm.endswith(" (no `error` tag says why).")
    thread = channel(chat)
    assert thread[0].startswith("🧪 Run events, ") and thread[1].startswith("❌ @Ravi's run boom in churn failed")

    # W&B retries, the signed form of the same delivery, and the poll behind the webhook: nothing twice.
    before = len(chat.sent)
    assert (await (await client.post("/hooks/wandb", data=body, headers=headers)).json())["events"] == 0
    body, headers = delivery("boom1", secret="s3cret")
    assert (await client.post("/hooks/wandb", data=body, headers=headers)).status == 200
    clock.current = NOW + timedelta(minutes=2)
    await poll(app)
    assert len(chat.sent) == before


async def test_the_poll_catches_a_missed_webhook_and_a_late_webhook_then_tells_nothing(world) -> None:
    emu, client, app, chat, clock, _ = world
    await poll(app)
    ended(emu, "ok1", "finished")
    ended(emu, "gpu1", "crashed")
    ended(emu, "odd1", "killed")
    clock.current = NOW + timedelta(minutes=2)
    await poll(app)  # no webhook came (W&B down, automation off): the fallback poll finds all three
    assert [d.split(" at ")[0] for d in dms(chat, "ravi")] == ["✅ Your run ok in churn finished"]
    [gpu] = dms(chat, "noor")
    assert gpu.startswith("❌ Your run gpu in churn failed at ") and gpu.endswith(": crashed.")
    posted = channel(chat)
    assert posted[1].startswith("❌ @Noor's run gpu in churn failed")
    assert posted[2].startswith("⏹ Run by `someone.else`: mystery in churn was killed")
    assert "add `accounts: {wandb: someone.else}`" in posted[2]
    before = len(chat.sent)
    for run in ("ok1", "gpu1", "odd1"):
        body, headers = delivery(run, access_token="s3cret")
        assert (await (await client.post("/hooks/wandb", data=body, headers=headers)).json())["events"] == 0
    assert len(chat.sent) == before
    assert emu.refused == [], "only documented filters, times and order keys"


async def test_a_delivery_without_a_run_polls_the_project_and_a_metric_automation_tells_the_target(world) -> None:
    emu, client, app, chat, _, _ = world
    await poll(app)
    ended(emu, "ok1", "finished")
    body, headers = delivery(None, access_token="s3cret")  # only the variables W&B documents: no run id
    assert (await (await client.post("/hooks/wandb", data=body, headers=headers)).json())["events"] == 1
    assert dms(chat, "ravi")[0].startswith("✅ Your run ok in churn finished at ")
    ended(emu, "gpu1", "failed")
    body, headers = delivery("", access_token="s3cret")  # a variable W&B renders blank
    assert (await (await client.post("/hooks/wandb", data=body, headers=headers)).json())["events"] == 2
    assert dms(chat, "noor")[0].startswith("❌ Your run gpu in churn failed at ")
    running = next(r for r in emu.projects["churn"] if r.name == "boom1")
    running.summary["val_auc"] = 0.93  # an OnRunMetric automation: val_auc >= 0.9
    body, headers = delivery("boom1", event="RUN_METRIC_THRESHOLD", access_token="s3cret")
    assert (await (await client.post("/hooks/wandb", data=body, headers=headers)).json())["events"] == 1
    assert dms(chat, "ravi")[-1] == "🎯 Your run boom in churn reached its target: val_auc 0.93 (val_auc ≥ 0.9)."


async def test_unauthenticated_malformed_unknown_and_w_and_b_down(world) -> None:
    emu, client, _, chat, _, _ = world
    body, headers = delivery("boom1", access_token="s3cret")
    for bad in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "s3cret"},
                {"X-Wandb-Signature": "bm9wZQ=="}):
        assert (await client.post("/hooks/wandb", data=body, headers=bad)).status == 401
    signed_body, signed = delivery("boom1", secret="s3cret")
    tampered = signed_body.replace(b"boom1", b"ok1")
    assert (await client.post("/hooks/wandb", data=tampered, headers=signed)).status == 401

    def auth(raw: bytes) -> dict[str, str]:
        return {"Content-Type": "application/json", "X-Wandb-Signature": wandb_signature("s3cret", raw)}

    for raw, why in ((b"not json", "not JSON"), (b"[1]", "object"), (b"{}", "project_name is required"),
                     (json.dumps({"project_name": 7}).encode(), "must be a string"),
                     (json.dumps({"project_name": "churn", "run_id": "a/../b"}).encode(), "not a W&B name")):
        resp = await client.post("/hooks/wandb", data=raw, headers=auth(raw))
        assert resp.status == 400 and why in (await resp.json())["error"]
    body, headers = delivery("f1", project="fraud", access_token="s3cret")
    resp = await client.post("/hooks/wandb", data=body, headers=headers)
    assert resp.status == 200 and "no W&B source with events watches acme/fraud" in (await resp.json())["ignored"]
    emu.fail_with = 503
    body, headers = delivery("boom1", access_token="s3cret")
    resp = await client.post("/hooks/wandb", data=body, headers=headers)
    assert resp.status == 202 and "next poll" in (await resp.json())["deferred"]
    assert chat.sent == []


async def test_the_feed_reads_only_what_changed(world) -> None:
    emu, _, _, _, _, service = world
    emu.projects["churn"] += [EmulatedRun(f"n{i}", "finished", iso(30), iso(20 + i), {"val_auc": 0.5}, "ravi-w")
                              for i in range(6)]
    ended(emu, "ok1", "finished", minutes_ago=3)
    feed = service.sources.feeds["wandb"]
    emu.calls.clear()
    since = await feed.ended_since(["churn"], NOW - timedelta(minutes=10))
    assert [r.name for r in since] == ["ok"]
    pages = [c for c in emu.calls if c["operation"] == "Runs"]
    assert len(pages) == 1 and pages[0]["order"] == "-heartbeat_at", "one page when little changed"
    meeting = await feed.running_meeting(["churn"], Target("val_auc", ">=", 0.65))
    assert sorted(r.name for r in meeting) == ["boom"]
    assert json.loads(emu.calls[-1]["filters"]) == {"$and": [{"state": "running"},
                                                             {"summary_metrics.val_auc": {"$gte": 0.65}}]}
    by_id = await feed.runs_by_id(["churn"], ["churn/gpu1", "churn/odd1", "fraud/f1", "churn/gone"])
    assert sorted(r.name for r in by_id) == ["gpu", "mystery"]
    assert emu.refused == []
