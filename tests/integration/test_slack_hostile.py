"""``/slack/events`` under hostile input: 401 before anything is read, 400 for signed nonsense, replays run once."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlencode

import pytest
from sqlmodel import Session, select

from bot.kernel.timekeeping import utc
from storage.slack.models import SlackEventRow
from tests.integration.slack_harness import SlackHarness, signature

MONDAY = utc(2027, 3, 15, 12, 0)
FORM = "application/x-www-form-urlencoded"


@pytest.fixture
async def slack(tmp_path: Path) -> AsyncIterator[SlackHarness]:
    async with SlackHarness(tmp_path, MONDAY) as harness:
        harness.emulator.add_user("U0ALICE", "Alice", "America/Los_Angeles", is_admin=True)
        yield harness


def remembered(slack: SlackHarness) -> list[str]:
    with Session(slack.adapter.repo.engine) as session:
        return [row.event_id for row in session.exec(select(SlackEventRow)).all()]


def nothing_stored(slack: SlackHarness) -> bool:
    return slack.app.store.list_workspaces() == [] and remembered(slack) == [] and slack.emulator.recorded == []


def no_traceback(text: str) -> bool:
    return "Traceback" not in text and "Internal Server Error" not in text


def command_form(trigger: str, team: str | None = "T0001", text: str = "help") -> str:
    form = {"token": "legacy", "team_domain": "acme", "channel_id": "C0TEAM", "user_id": "U0ALICE",
            "command": "/standup", "text": text, "api_app_id": "A0001", "trigger_id": trigger,
            "response_url": "RESPONSE_URL"}
    if team is not None:
        form["team_id"] = team
    return urlencode(form)


@pytest.mark.parametrize(("body", "content_type"), [
    ("{not json", "application/json"),
    ("payload=%7Bnot+json", FORM),
    ('[{"type": "event_callback"}]', "application/json"),
    ("\udcff", "application/json"),
    ("", "application/json"),
])
async def test_an_unsigned_body_of_any_shape_is_401_and_nothing_is_read(slack: SlackHarness, body: str,
                                                                        content_type: str) -> None:
    raw = body.encode("utf-8", "surrogateescape")
    for headers in ({}, {"X-Slack-Request-Timestamp": "soon", "X-Slack-Signature": "v0=00"},
                    {"X-Slack-Request-Timestamp": str(int(time.time())), "X-Slack-Signature": "v0=" + "0" * 64},
                    {"X-Slack-Request-Timestamp": "١٢٣", "X-Slack-Signature": "v0=abc"},
                    {"X-Slack-Request-Timestamp": "9" * 400, "X-Slack-Signature": "v0=abc"}):
        async with slack.session.post(f"{slack.url}/slack/events", data=raw,
                                      headers={"Content-Type": content_type, **headers}) as resp:
            text = await resp.text()
            assert resp.status == 401, (headers, text)
            assert no_traceback(text)
    assert nothing_stored(slack)


@pytest.mark.parametrize(("body", "content_type", "why"), [
    ("{not json", "application/json", "not valid JSON"),
    ("payload=%7Bnot+json", FORM, "not valid JSON"),
    ('[{"type": "event_callback"}]', "application/json", "JSON object"),
    ('"just a string"', "application/json", "JSON object"),
    ('{"type": "event_callback", "team_id": "T0001", "event": "nope"}', "application/json", "event must be an object"),
    ("payload=" + json.dumps({"type": "block_actions", "team": {"id": "T0001"}, "user": "U0ALICE"}), FORM,
     "user must be an object"),
    ("payload=" + json.dumps({"type": "view_submission", "team": {"id": "T0001"}, "user": {"id": "U0ALICE"},
                              "view": {"state": {"values": []}}}), FORM, "not a Slack view"),
])
async def test_a_signed_malformed_body_is_a_400_with_one_line(slack: SlackHarness, body: str, content_type: str,
                                                             why: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    status, text = await slack.post(body, content_type)
    assert status == 400 and why in json.loads(text)["error"] and no_traceback(text)
    assert not [r for r in caplog.records if r.exc_info], "no stack trace in the log either"
    assert nothing_stored(slack)


async def test_a_signed_request_with_a_non_numeric_timestamp_is_401_not_500(slack: SlackHarness) -> None:
    body = command_form("1.a")
    headers = {"Content-Type": FORM, "X-Slack-Request-Timestamp": "12abc",
               "X-Slack-Signature": signature(body, 12)}
    async with slack.session.post(f"{slack.url}/slack/events", data=body, headers=headers) as resp:
        assert resp.status == 401 and no_traceback(await resp.text())
    assert nothing_stored(slack)


async def test_a_signed_command_without_a_workspace_is_refused_and_creates_none(slack: SlackHarness) -> None:
    status, text = await slack.post(command_form("2.b", team=None), FORM)
    assert status == 400 and "team_id" in text
    status, _ = await slack.post(command_form("2.c", team=""), FORM)
    assert status == 400
    event = json.dumps({"type": "event_callback", "event_id": "Ev1", "event": {"type": "app_home_opened",
                                                                             "user": "U0ALICE"}})
    assert (await slack.post(event, "application/json"))[0] == 400
    await slack.settle(0.2)
    assert nothing_stored(slack)
    assert slack.app.store.get_workspace("") is None


async def test_a_signed_command_replayed_three_times_runs_once_even_after_a_restart(tmp_path: Path) -> None:
    stamp = int(time.time())
    async with SlackHarness(tmp_path, MONDAY) as slack:
        slack.emulator.add_user("U0ALICE", "Alice", "America/Los_Angeles", is_admin=True)
        body = command_form("3345.replayed").replace("RESPONSE_URL", slack.emulator.response_url("r"))
        for _ in range(3):  # byte for byte the same request, within its five minutes
            status, _ = await slack.post(body, FORM, timestamp=stamp)
            assert status == 200
        await slack.until(lambda: bool(slack.emulator.calls("response_url")))
        await slack.settle(0.3)
        assert len(slack.emulator.calls("response_url")) == 1
        assert "trigger:3345.replayed" in remembered(slack)
    async with SlackHarness(tmp_path, MONDAY) as restarted:  # the same database, a new process
        body = command_form("3345.replayed").replace("RESPONSE_URL", restarted.emulator.response_url("r"))
        assert (await restarted.post(body, FORM, timestamp=stamp))[0] == 200
        await restarted.settle(0.3)
        assert restarted.emulator.calls("response_url") == []


async def test_a_replayed_button_press_runs_once(slack: SlackHarness) -> None:
    payload = {"type": "block_actions", "team": {"id": "T0001", "domain": "acme"},
               "user": {"id": "U0ALICE", "team_id": "T0001"}, "api_app_id": "A0001", "trigger_id": "77.press",
               "container": {"type": "message", "channel_id": "D0ALICE", "message_ts": "1.1"},
               "channel": {"id": "D0ALICE"}, "response_url": slack.emulator.response_url("p"),
               "actions": [{"type": "button", "action_id": "meridian.help", "block_id": "b", "value": "",
                            "action_ts": "1.2"}]}
    body = urlencode({"payload": json.dumps(payload)})
    stamp = int(time.time())
    for _ in range(3):
        assert (await slack.post(body, FORM, timestamp=stamp))[0] == 200
    await slack.settle(0.3)
    assert remembered(slack).count("trigger:77.press") == 1
    # A different press of the same button (a new trigger_id) is a new request.
    assert (await slack.post(body.replace("77.press", "78.press"), FORM))[0] == 200
    await slack.settle(0.3)
    assert {"trigger:77.press", "trigger:78.press"} <= set(remembered(slack))
