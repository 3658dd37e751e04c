"""Routing on Slack: a RACI lookup pings only people at work; a delegate stands in for someone on holiday.

Friday 29 October 2027, 10:00Z, is Diwali in India: Ravi (Accountable, Kolkata, Indian holidays)
is away and names Marta (Berlin, 12:00) as his delegate; Alice (Responsible) is at 03:00 in
Los Angeles; Noor (Consulted) is at work in Dubai. In the Block Kit Slack receives, a ping is
``<@U…>`` and a name without one is plain, escaped text.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.kernel.team import apply_team
from bot.kernel.teamfile import parse_team
from bot.kernel.timekeeping import utc
from tests.integration.slack_harness import SlackHarness

TEAM = """
workspace: T0001
members:
  - {id: alice, name: "Alice & Co", tz: America/Los_Angeles, admin: true, accounts: {slack: U0ALICE}}
  - {id: ravi, name: Ravi, tz: Asia/Kolkata, holidays: IN, delegate: marta, accounts: {slack: U0RAVI}}
  - {id: marta, name: Marta, tz: Europe/Berlin, accounts: {slack: U0MARTA}}
  - {id: noor, name: Noor, tz: Asia/Dubai, accounts: {slack: U0NOOR}}
raci:
  - {activity: churn model retraining, R: [alice], A: ravi, C: [noor], I: []}
"""
DIWALI = utc(2027, 10, 29, 10, 0)


@pytest.fixture
async def slack(tmp_path: Path) -> AsyncIterator[SlackHarness]:
    async with SlackHarness(tmp_path, DIWALI) as harness:
        harness.emulator.add_user("U0MARTA", "Marta", "Europe/Berlin")
        apply_team(harness.app, parse_team(TEAM, "team.yaml", harness.app.sections), platform="slack")
        yield harness


async def lookup(slack: SlackHarness, text: str) -> str:
    before = len(slack.emulator.calls("response_url"))
    status, _ = await slack.command(text, user="U0MARTA", command="/raci")
    assert status == 200
    await slack.until(lambda: len(slack.emulator.calls("response_url")) > before)
    return json.dumps(slack.emulator.calls("response_url")[before].params["blocks"], ensure_ascii=False)


async def test_the_accountable_on_diwali_is_named_and_his_delegate_is_pinged(slack: SlackHarness) -> None:
    shown = await lookup(slack, "churn model retraining")
    assert "<@U0RAVI>" not in shown and "Ravi — 🏝️ holiday: Diwali (Deepavali), 15:30 in Kolkata" in shown
    assert "↳ <@U0MARTA> standing in for Ravi, away — holiday: Diwali (Deepavali) — 🟢 in hours, 12:00 in Berlin" in shown
    assert "<@U0NOOR> — 🟢 in hours, 14:00 in Dubai" in shown


async def test_someone_at_three_in_the_morning_is_named_in_escaped_text_without_a_ping(slack: SlackHarness) -> None:
    shown = await lookup(slack, "churn model retraining")
    assert "<@U0ALICE>" not in shown
    assert "Alice &amp; Co — 🌙 03:00 in Los Angeles" in shown


async def test_a_persons_roles_say_they_are_away_without_pinging_them(slack: SlackHarness) -> None:
    shown = await lookup(slack, "@ravi")
    assert "Ravi — 🏝️ holiday: Diwali (Deepavali), 15:30 in Kolkata" in shown and "<@U0RAVI>" not in shown
