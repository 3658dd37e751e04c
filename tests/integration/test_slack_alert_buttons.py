"""An Alertmanager alert's buttons on Slack, against a real Alertmanager.

The alert arrives over HTTP at ``/hooks/alertmanager`` (as Alertmanager delivers it), is posted to
Slack from the queue, and its buttons are pressed as Slack sends presses: **I'm on it** edits the post
for everyone, **Silence 1 h / 4 h** makes a silence through Alertmanager's API v2 (read back from
Alertmanager itself), **Lift silence** expires it, **Runbook** is a link. Outages, refusals, a
double press, a press by someone who is no longer a member and an already-ended silence each get
one line to the presser and record nothing they should not. The look-up of a silenced alert by its
labels is checked against the same Alertmanager.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from slack_sdk.models.blocks import Block

from bot.digests.text import clock
from bot.kernel.team import apply_team
from bot.kernel.teamfile import parse_team
from tests.integration.services import free_port
from tests.integration.slack_harness import SlackHarness

pytestmark = pytest.mark.services

TOKEN = "am-tok3n"
LABELS = {"alertname": "PredictionLatencyHigh", "model": "churn-model", "severity": "page",
          "instance": "scorer-0:9100"}
RUNBOOK = "https://runbooks.acme.example/latency?model=churn"
GENERATOR = "http://prometheus:9090/graph?g0.expr=latency_p95+%3E+0.5&g0.tab=1"


def team(alertmanager_url: str) -> str:
    return f"""
workspace: T0001
members:
  - {{id: alice, name: Alice, tz: UTC, accounts: {{slack: U0ALICE}}}}
  - {{id: ravi, name: Ravi, tz: UTC, accounts: {{slack: U0RAVI}}}}
sources:
  alertmanager: {{channel: "C0ALERTS", url: "{alertmanager_url}", timeout: 2s}}
"""


def webhook(status: str, starts: datetime, ends: str = "0001-01-01T00:00:00Z") -> dict[str, Any]:
    """What Alertmanager 0.25 POSTs (webhook version 4)."""
    return {"receiver": "meridian", "status": status, "version": "4", "groupKey": "{}:{}", "truncatedAlerts": 0,
            "groupLabels": {"alertname": LABELS["alertname"]}, "commonLabels": LABELS, "commonAnnotations": {},
            "externalURL": "http://alertmanager:9093",
            "alerts": [{"status": status, "labels": LABELS,
                        "annotations": {"summary": "p95 latency above 500 ms", "runbook_url": RUNBOOK},
                        "startsAt": starts.strftime("%Y-%m-%dT%H:%M:%S.123456789Z"), "endsAt": ends,
                        "generatorURL": GENERATOR, "fingerprint": "c8a1f0e7b3d2a9f4"}]}


def now_minute() -> datetime:
    """Alertmanager checks silences against its own clock, so the bot's simulated time starts at the real one."""
    return datetime.now(UTC).replace(second=0, microsecond=0)


async def harness(tmp: Path, alertmanager_url: str, start: datetime) -> SlackHarness:
    slack = SlackHarness(tmp, start, hook_token=TOKEN)
    await slack.__aenter__()
    slack.emulator.add_user("U0ALICE", "Alice", "UTC")
    slack.emulator.add_user("U0RAVI", "Ravi", "UTC")
    apply_team(slack.app, parse_team(team(alertmanager_url), "team.yaml", slack.app.sections), platform="slack")
    return slack


@pytest.fixture
async def slack(tmp_path: Path, alertmanager: str) -> AsyncIterator[SlackHarness]:
    h = await harness(tmp_path, alertmanager, now_minute())
    yield h
    await h.__aexit__(None, None, None)


async def fire(slack: SlackHarness, starts: datetime) -> dict[str, Any]:
    """Deliver the firing alert over HTTP, let the queue post it, and return the post's Block Kit."""
    status, answer = await slack.hook("/hooks/alertmanager", webhook("firing", starts))
    assert (status, answer) == (202, {"alerts": 1, "queued": 1})
    await slack.engine.run_due()
    posts = slack.emulator.calls("chat.postMessage")
    assert len(posts) == 1 and posts[0].where == "C0ALERTS"
    return posts[0].params


def buttons(params: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The post's buttons by label, after checking its blocks with slack_sdk's own Block Kit models."""
    blocks = params["blocks"] if isinstance(params["blocks"], list) else json.loads(params["blocks"])
    for block in blocks:
        parsed = Block.parse(block)
        assert parsed is not None
        parsed.validate_json()
    return {e["text"]["text"]: e for b in blocks if b["type"] == "actions" for e in b["elements"]}


def shown(params: dict[str, Any]) -> str:
    return json.dumps(params.get("blocks"), ensure_ascii=False) + str(params.get("text", ""))


async def press(slack: SlackHarness, button: dict[str, Any], user: str = "U0ALICE") -> str:
    """Press as Slack does; the presser's answer (the ephemeral reply through the response URL)."""
    before = len(slack.emulator.calls("response_url"))
    status, _ = await slack.press(button, user, channel="C0ALERTS")
    assert status == 200
    await slack.until(lambda: len(slack.emulator.calls("response_url")) > before)
    reply = slack.emulator.calls("response_url")[before].params
    assert reply["response_type"] == "ephemeral"
    return str(reply["text"])


def updates(slack: SlackHarness) -> list[dict[str, Any]]:
    return [c.params for c in slack.emulator.calls("chat.update")]


async def silences(url: str, *, expired: bool = True) -> list[dict[str, Any]]:
    """This alert's silences, read from Alertmanager (``expired=False``: those still running or to come)."""
    async with aiohttp.ClientSession() as s, s.get(f"{url}/api/v2/silences",
                                                   params={"filter": 'model="churn-model"'}) as resp:
        assert resp.status == 200
        found: list[dict[str, Any]] = await resp.json()
    return [x for x in found if expired or x["status"]["state"] != "expired"]  # 0.25 has no ?expired=false


async def expire_all(url: str) -> None:
    async with aiohttp.ClientSession() as s:
        for x in await silences(url, expired=False):
            await s.delete(f"{url}/api/v2/silence/{x['id']}")


async def test_on_it_silence_lift_and_resolve_from_slack(slack: SlackHarness, alertmanager: str) -> None:
    await expire_all(alertmanager)
    start = slack.clock.now()
    post = await fire(slack, start - timedelta(minutes=3))
    assert f"<{GENERATOR.replace('&', '&amp;')}|Source>" in shown(post)
    assert f"<{RUNBOOK}|Runbook>" in shown(post)
    offered = buttons(post)
    assert list(offered) == ["I'm on it", "Silence 1 h", "Silence 4 h", "Runbook"]
    assert offered["Runbook"]["url"] == RUNBOOK

    # I'm on it: recorded, and the one post is edited for everyone
    assert await press(slack, offered["I'm on it"]) == "You are on it; the alert says so for everyone."
    await slack.until(lambda: len(updates(slack)) == 1)
    assert "👀 On it: Alice (since" in shown(updates(slack)[0])
    assert await press(slack, offered["I'm on it"]) == "You are already down as on it."
    assert len(updates(slack)) == 1

    # Silence 1 h, pressed twice at once (a double click): one silence in Alertmanager
    before = len(slack.emulator.calls("response_url"))
    await asyncio.gather(*(slack.press(offered["Silence 1 h"], "U0ALICE", channel="C0ALERTS") for _ in range(2)))
    await slack.until(lambda: len(slack.emulator.calls("response_url")) == before + 2)
    answers = [str(c.params["text"]) for c in slack.emulator.calls("response_url")[before:]]
    until = clock(start + timedelta(hours=1), "UTC", start)
    assert sorted(a.split(" (")[0].split(";")[0] for a in answers) == [
        f"Already silenced by Alice until {until}", f"Silenced until {until}"]
    made = await silences(alertmanager, expired=False)
    assert len(made) == 1
    silence = made[0]
    assert sorted((m["name"], m["value"], m["isEqual"], m["isRegex"]) for m in silence["matchers"]) == sorted(
        (k, v, True, False) for k, v in LABELS.items())
    assert silence["createdBy"] == "Alice" and silence["status"]["state"] == "active"
    assert "Meridian" in silence["comment"] and "Alice" in silence["comment"]
    assert silence["endsAt"] == (start + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    silenced = updates(slack)[-1]
    assert "🔕 Silenced by Alice until" in shown(silenced)
    assert list(buttons(silenced)) == ["I'm on it", "Lift silence", "Runbook"]
    assert "Alice: on it" in shown(silenced) and "Alice: silenced 1 h" in shown(silenced)  # the log

    # a 4 h press from a post that still shows the old buttons: the running silence, not a second one
    assert (await press(slack, offered["Silence 4 h"])).startswith("Already silenced by Alice until")
    assert len(await silences(alertmanager, expired=False)) == 1

    # Lift, by someone else: expired in Alertmanager, and the post says who lifted it
    assert await press(slack, buttons(silenced)["Lift silence"], "U0RAVI") == \
        "Silence lifted; the alert notifies again."
    assert await silences(alertmanager, expired=False) == []
    assert silence["id"] in [x["id"] for x in await silences(alertmanager) if x["status"]["state"] == "expired"]
    lifted = updates(slack)[-1]
    assert "🔔 Silence lifted by Ravi" in shown(lifted) and "Ravi: lifted the silence" in shown(lifted)
    assert "Silence 1 h" in buttons(lifted)

    # the Runbook link button reaches the app too (Slack sends every press): nothing happens
    calls = len(slack.emulator.recorded)
    await slack.press(offered["Runbook"], "U0ALICE", channel="C0ALERTS")
    await slack.settle(0.2)
    assert not [c for c in slack.emulator.recorded[calls:] if c.method in ("chat.update", "response_url")]

    # resolved: the same post, edited, with the response kept and no buttons
    slack.clock.set(start + timedelta(minutes=20))
    status, _ = await slack.hook("/hooks/alertmanager", webhook("resolved", start - timedelta(minutes=3),
                                                                (start + timedelta(minutes=19)).isoformat()))
    assert status == 202
    await slack.engine.run_due()
    resolved = updates(slack)[-1]
    assert "✅ RESOLVED PredictionLatencyHigh" in shown(resolved) and "On it: Alice" in shown(resolved)
    assert buttons(resolved) == {}
    assert len(slack.emulator.calls("chat.postMessage")) == 1

    # two days after it resolved the alert is forgotten with its press log; an old button says so
    desk = "digests:alert-desk:" + offered["I'm on it"]["value"]
    assert slack.app.store.kv_get("T0001", desk)["log"][0]["what"] == "on it"
    slack.clock.set(start + timedelta(days=3))
    await slack.hook("/hooks/alertmanager", webhook("firing", start + timedelta(days=3)))
    await slack.engine.run_due()
    assert slack.app.store.kv_get("T0001", desk) is None
    assert (await press(slack, offered["I'm on it"])).startswith("That alert is over and no longer tracked")


async def test_someone_no_longer_a_member_cannot_press(slack: SlackHarness, alertmanager: str) -> None:
    await expire_all(alertmanager)
    offered = buttons(await fire(slack, slack.clock.now()))
    status, _ = await slack.command("forget-me confirm", user="U0RAVI", command="/meridian")
    assert status == 200
    await slack.settle(0.2)
    for label in ("I'm on it", "Silence 1 h"):
        answer = await press(slack, offered[label], "U0RAVI")
        assert answer.startswith("You are not a member of this team any more")
    assert updates(slack) == [] and await silences(alertmanager, expired=False) == []


async def test_alertmanager_down_is_one_line_and_nothing_silenced(tmp_path: Path) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    slack = await harness(tmp_path, closed, now_minute())
    try:
        offered = buttons(await fire(slack, slack.clock.now()))
        answer = await press(slack, offered["Silence 1 h"])
        assert answer == f"Alertmanager did not answer ({closed}); nothing was silenced. Try again shortly."
        assert "\n" not in answer and "Traceback" not in answer
        assert updates(slack) == [], "nothing recorded as silenced"
    finally:
        await slack.__aexit__(None, None, None)


async def test_a_silence_alertmanager_refuses_is_one_line(tmp_path: Path, alertmanager: str) -> None:
    """Alertmanager refuses a silence that ends before its own clock (400, in its words)."""
    await expire_all(alertmanager)
    slack = await harness(tmp_path, alertmanager, now_minute() - timedelta(days=2))
    try:
        offered = buttons(await fire(slack, slack.clock.now()))
        answer = await press(slack, offered["Silence 1 h"])
        assert answer == ("Alertmanager refused the silence: Failed to create silence: end time can't be in the "
                          "past. Nothing was silenced.")
        assert updates(slack) == [] and await silences(alertmanager, expired=False) == []
        assert (await press(slack, offered["Silence 4 h"])).startswith("Alertmanager refused")
    finally:
        await slack.__aexit__(None, None, None)


async def test_lifting_a_silence_that_already_ended_says_so(slack: SlackHarness, alertmanager: str) -> None:
    await expire_all(alertmanager)
    offered = buttons(await fire(slack, slack.clock.now()))
    assert (await press(slack, offered["Silence 1 h"])).startswith("Silenced until")
    lift = buttons(updates(slack)[-1])["Lift silence"]
    await expire_all(alertmanager)  # someone expired it in Alertmanager's own UI meanwhile
    answer = await press(slack, lift, "U0RAVI")
    assert answer.startswith("That silence had already ended (") and answer.endswith("there was nothing to lift.")
    after = updates(slack)[-1]
    assert "🔔 Silence by Alice ended (" in shown(after) and "Silence 1 h" in buttons(after)
    assert clock(slack.clock.now() + timedelta(hours=1), "UTC", slack.clock.now()) not in shown(after).split(
        "ended (")[1][:20], "the time it really ended, not the hour it was set for"
    assert await press(slack, lift, "U0RAVI") == "There is no silence from Meridian to lift on this alert."


async def test_an_alert_is_looked_up_by_its_labels_whatever_they_hold(alertmanager: str) -> None:
    """What the silenced-alert check asks Alertmanager: its name filter is escaped as Alertmanager parses it,
    and the labels are compared whole (a superset or another value is another alert)."""
    from adapters.sources.alertmanager import AlertmanagerApi
    from bot.digests.config import AlertmanagerConfig

    labels = {"alertname": 'Odd "name" \\ here', "model": "churn-model", "job": 'a\\"b'}
    ends = (datetime.now(UTC) + timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    async with aiohttp.ClientSession() as s, s.post(f"{alertmanager}/api/v2/alerts",
                                                    json=[{"labels": labels, "endsAt": ends}]) as resp:
        assert resp.status == 200, await resp.text()
    api = AlertmanagerApi(AlertmanagerConfig(url=alertmanager))
    try:
        assert await api.firing(labels)
        assert not await api.firing({**labels, "model": "fraud-model"})
        assert not await api.firing({k: v for k, v in labels.items() if k != "job"})
        assert not await api.firing({**labels, "alertname": "Odd"})
    finally:
        await api.close()


async def test_a_silenced_alert_is_looked_up_until_alertmanager_no_longer_has_it(slack: SlackHarness,
                                                                                  alertmanager: str) -> None:
    """Alertmanager reports nothing about a muted alert: while the silence runs Meridian asks it each
    ``check_every`` (1 m by default), and the post turns resolved once Alertmanager no longer holds it."""
    await expire_all(alertmanager)

    async def in_alertmanager(ends: datetime) -> None:
        async with aiohttp.ClientSession() as s, s.post(f"{alertmanager}/api/v2/alerts", json=[
                {"labels": LABELS, "endsAt": ends.strftime("%Y-%m-%dT%H:%M:%SZ")}]) as resp:
            assert resp.status == 200

    await in_alertmanager(datetime.now(UTC) + timedelta(minutes=10))
    start = slack.clock.now()
    offered = buttons(await fire(slack, start))
    assert (await press(slack, offered["Silence 1 h"])).startswith("Silenced until")
    edits = len(updates(slack))
    slack.clock.set(start + timedelta(minutes=1))
    await slack.engine.run_due()
    assert len(updates(slack)) == edits, "still in Alertmanager: nothing changes"

    await in_alertmanager(datetime.now(UTC) - timedelta(seconds=1))  # resolved there, and not reported (muted)
    slack.clock.set(start + timedelta(minutes=2))
    await slack.engine.run_due()
    resolved = updates(slack)[-1]
    assert "✅ RESOLVED PredictionLatencyHigh" in shown(resolved) and buttons(resolved) == {}
    assert "🔕 Silenced by Alice until" in shown(resolved)
    assert len(await silences(alertmanager, expired=False)) == 1, "the silence is left as it was set"
    slack.clock.set(start + timedelta(hours=2))
    await slack.engine.run_due()
    assert updates(slack)[-1] == resolved and len(slack.emulator.calls("chat.postMessage")) == 1
    await expire_all(alertmanager)
