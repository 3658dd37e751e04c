"""``/meridian forget-me`` on Slack, where a person is made a member the first time they write: after
forgetting, their next command is told they are not a member, and nothing about them is made again."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.kernel.team import apply_team
from bot.kernel.teamfile import parse_team
from bot.kernel.timekeeping import utc
from tests.integration.slack_harness import SlackHarness

TEAM = """
workspace: T0001
members:
  - {id: alice, name: Alice, tz: America/Los_Angeles, admin: true, accounts: {slack: U0ALICE}}
  - {id: ravi, name: Ravi, tz: Asia/Kolkata, accounts: {slack: U0RAVI}}
raci:
  - {activity: churn model retraining, R: [ravi], A: alice}
"""
MONDAY = utc(2027, 3, 15, 12, 0)


@pytest.fixture
async def slack(tmp_path: Path) -> AsyncIterator[SlackHarness]:
    async with SlackHarness(tmp_path, MONDAY) as harness:
        harness.emulator.add_user("U0ALICE", "Alice", "America/Los_Angeles", is_admin=True)
        harness.emulator.add_user("U0RAVI", "Ravi", "Asia/Kolkata")
        harness.emulator.add_user("U0NEW", "Nia", "Europe/Lisbon")
        apply_team(harness.app, parse_team(TEAM, "team.yaml", harness.app.sections), platform="slack")
        yield harness


async def say(slack: SlackHarness, command: str, text: str, user: str) -> str:
    before = len(slack.emulator.calls("response_url"))
    status, _ = await slack.command(text, user=user, command=command)
    assert status == 200
    await slack.until(lambda: len(slack.emulator.calls("response_url")) > before)
    await slack.settle(0.1)
    answer: dict[str, Any] = slack.emulator.calls("response_url")[before].params
    return json.dumps(answer["blocks"], ensure_ascii=False) + answer["text"]


async def test_a_forgotten_slack_user_is_told_and_not_made_a_member_again(slack: SlackHarness) -> None:
    done = await say(slack, "/meridian", "forget-me confirm", "U0RAVI")
    assert "Removed 1 RACI role" in done

    for command, text in [("/meridian", "me"), ("/standup", ""), ("/raci", "list")]:
        answer = await say(slack, command, text, "U0RAVI")
        assert "You are not a member of this team any more" in answer, command
        assert "sent you" not in answer and "Asia/Kolkata" not in answer
    assert slack.app.store.find_member_by_account("T0001", "slack", "U0RAVI") is None
    assert [m.id for m in slack.app.store.list_members("T0001")] == ["alice"]

    # the activity he was Responsible for went to its Accountable, who is told in a DM: it is 05:00 in
    # Los Angeles, so the DM waits for Alice's working hours (09:00 her time, 16:00 UTC)
    def handovers() -> list[Any]:
        return [c for c in slack.emulator.calls("chat.postMessage") if "need" in json.dumps(c.params)]

    assert handovers() == []
    await slack.engine.advance_to(utc(2027, 3, 15, 15, 59), slack.clock)
    assert handovers() == []
    await slack.engine.advance_to(utc(2027, 3, 15, 16, 1), slack.clock)
    handover = handovers()
    assert len(handover) == 1 and "churn model retraining" in json.dumps(handover[0].params, ensure_ascii=False)
    chart = await say(slack, "/raci", "churn model retraining", "U0ALICE")
    assert "no longer a member" not in chart and "U0RAVI" not in chart and "Ravi" not in chart


async def test_someone_new_on_slack_is_still_welcomed_as_a_member(slack: SlackHarness) -> None:
    answer = await say(slack, "/meridian", "me", "U0NEW")
    assert "Nia" in answer and "Europe/Lisbon" in answer
