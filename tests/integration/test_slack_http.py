"""Slack's HTTP contract through the real server: verification, signatures, retries, escaping."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.kernel.timekeeping import utc
from tests.integration.slack_harness import SlackHarness

MONDAY = utc(2027, 3, 15, 12, 0)


@pytest.fixture
async def slack(tmp_path: Path) -> AsyncIterator[SlackHarness]:
    async with SlackHarness(tmp_path, MONDAY) as harness:
        harness.emulator.add_user("U0ALICE", "Alice", "America/Los_Angeles", is_admin=True)
        harness.emulator.add_user("U0RAVI", "Ravi", "Asia/Kolkata")
        yield harness


async def test_the_url_verification_challenge_is_answered(slack: SlackHarness) -> None:
    body = json.dumps({"token": "legacy", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
                       "type": "url_verification"})
    status, text = await slack.post(body, "application/json")
    assert status == 200
    assert "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" in text


async def test_unsigned_wrongly_signed_and_stale_requests_get_401_and_store_nothing(slack: SlackHarness) -> None:
    event = {"type": "member_joined_channel", "user": "U0RAVI", "channel": "C0TEAM", "team": "T0001"}
    body = slack.event_body(event)
    async with slack.session.post(f"{slack.url}/slack/events", data=body,
                                  headers={"Content-Type": "application/json"}) as resp:
        assert resp.status == 401
    assert (await slack.post(body, "application/json", secret="not-the-secret"))[0] == 401
    assert (await slack.post(body, "application/json", timestamp=int(time.time()) - 600))[0] == 401
    assert (await slack.command("help", secret="not-the-secret"))[0] == 401
    await slack.settle(0.2)
    assert slack.emulator.calls() == []
    assert slack.app.store.find_member_by_account("T0001", "slack", "U0RAVI") is None
    assert slack.app.store.get_workspace("T0001") is None


async def test_an_event_retried_three_times_is_handled_once(slack: SlackHarness) -> None:
    event = {"type": "member_joined_channel", "user": "U0RAVI", "channel": "C0TEAM", "team": "T0001"}
    for retry in (None, 1, 2):
        status, _ = await slack.event(event, event_id="Ev0SAME", retry=retry)
        assert status == 200
    await slack.until(lambda: slack.app.store.find_member_by_account("T0001", "slack", "U0RAVI") is not None)
    await slack.settle(0.2)
    assert len(slack.emulator.calls("users.info")) == 1


async def test_help_answers_through_the_response_url(slack: SlackHarness) -> None:
    status, text = await slack.command("help")
    assert status == 200 and text == ""
    await slack.until(lambda: bool(slack.emulator.calls("response_url")))
    (reply,) = slack.emulator.calls("response_url")
    assert reply.params["response_type"] == "ephemeral"
    assert "/standup" in json.dumps(reply.params["blocks"])


async def test_mention_injection_in_a_command_is_shown_literally(slack: SlackHarness) -> None:
    # What Slack sends when someone types `/standup setup daily <!channel>`: the text arrives escaped.
    await slack.command("setup daily &lt;!channel&gt;", user="U0ALICE")
    await slack.until(lambda: bool(slack.emulator.calls("response_url")))
    dumped = json.dumps([c.params for c in slack.emulator.calls("response_url")])
    assert "<!channel>" not in dumped
    assert "&lt;!channel&gt;" in dumped
