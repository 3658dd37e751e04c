"""Public holidays and out of office on Slack: no reminder on a member's holiday or out-of-office day, the
day's summary says why each person was away, ``/meridian ooo`` and ``/meridian me`` through slash commands,
and a Slack user the team file does not name follows the team's default calendar."""

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
holidays: {country: AU, subdivision: NSW}
members:
  - {id: alice, name: Alice, tz: America/Los_Angeles, admin: true, holidays: US-CA, accounts: {slack: U0ALICE}}
  - {id: ravi, name: Ravi, tz: Asia/Kolkata, holidays: IN-KA, accounts: {slack: U0RAVI}}
  - {id: kenji, name: Kenji, tz: Australia/Sydney, accounts: {slack: U0KENJI}}
  - {id: noor, name: Noor, tz: Asia/Dubai, holidays: AE, accounts: {slack: U0NOOR}}
standups:
  - {name: ml-daily, channel: C0TEAM, remind_at: "09:30", members: [alice, ravi, kenji, noor]}
"""
MONDAY = utc(2027, 1, 25, 12, 0)
"""Monday 25 January 2027; Tuesday is Australia Day in Sydney and Republic Day in India."""


@pytest.fixture
async def slack(tmp_path: Path) -> AsyncIterator[SlackHarness]:
    async with SlackHarness(tmp_path, MONDAY) as harness:
        for user, name, tz in (("U0ALICE", "Alice", "America/Los_Angeles"), ("U0RAVI", "Ravi", "Asia/Kolkata"),
                               ("U0KENJI", "Kenji", "Australia/Sydney"), ("U0NOOR", "Noor", "Asia/Dubai"),
                               ("U0NEW", "Nia", "Australia/Melbourne")):
            harness.emulator.add_user(user, name, tz, is_admin=user == "U0ALICE")
        apply_team(harness.app, parse_team(TEAM, "team.yaml", harness.app.sections), platform="slack")
        yield harness


async def say(slack: SlackHarness, text: str, user: str, command: str = "/meridian") -> str:
    before = len(slack.emulator.calls("response_url"))
    status, _ = await slack.command(text, user=user, command=command)
    assert status == 200
    await slack.until(lambda: len(slack.emulator.calls("response_url")) > before)
    answer: dict[str, Any] = slack.emulator.calls("response_url")[before].params
    return json.dumps(answer.get("blocks", []), ensure_ascii=False) + answer["text"]


def reminders_for(slack: SlackHarness, day: str) -> set[str]:
    """Who got a reminder or a nudge for ``day`` (``Tue 26 Jan 2027``), by DM channel."""
    return {str(c.where) for c in slack.emulator.calls("chat.postMessage")
            if str(c.where).startswith("D") and f"ml-daily — {day}" in json.dumps(c.params,
                                                                                          ensure_ascii=False)}


async def test_nobody_is_reminded_on_their_holiday_and_the_summary_says_why(slack: SlackHarness) -> None:
    booked = await say(slack, "ooo 2027-01-26", "U0NOOR")
    assert "Out of office 2027-01-26 (Tue 26 Jan): no reminders on those days." in booked

    await slack.engine.advance_to(utc(2027, 1, 27, 2, 0), slack.clock)
    await slack.settle(0.1)
    assert reminders_for(slack, "Tue 26 Jan 2027") == {"D0ALICE"}
    assert reminders_for(slack, "Wed 27 Jan 2027") == {"D0KENJI"}  # back at work (his 09:30 was 22:30Z)
    summary = [c for c in slack.emulator.calls("chat.postMessage") if c.where == "C0TEAM"
               and "ml-daily summary — Tue 26 Jan 2027" in json.dumps(c.params, ensure_ascii=False)]
    assert len(summary) == 1
    text = json.dumps(summary[0].params, ensure_ascii=False)
    assert "Away (3)" in text
    assert "Kenji (holiday: Australia Day), Noor (out of office), Ravi (holiday: Republic Day)" in text


async def test_ooo_and_me_on_slack(slack: SlackHarness) -> None:
    joined = await say(slack, "ooo 2027-02-01..02-05", "U0KENJI")
    assert "Out of office 2027-02-01..2027-02-05 (Mon 1 Feb to Fri 5 Feb)" in joined
    joined = await say(slack, "ooo 2027-02-04..2027-02-10", "U0KENJI")
    assert "so they are joined: out of office 2027-02-01..2027-02-10 (Mon 1 Feb to Wed 10 Feb)" in joined
    refused = await say(slack, "ooo 2027-02-10..2027-02-01", "U0KENJI")
    assert "ends before it starts" in refused
    me = await say(slack, "me", "U0KENJI")
    assert "out of office: 2027-02-01..2027-02-10 (Mon 1 Feb to Wed 10 Feb)" in me
    assert "Public holidays: Australia, New South Wales (AU-NSW); next: Tue 26 Jan (Australia Day) · Fri 26 Mar (Good Friday)" in me
    assert slack.app.store.get_member("T0001", "kenji").ooo[0].last.isoformat() == "2027-02-10"  # type: ignore[union-attr]


async def test_a_slack_user_the_file_does_not_name_follows_the_teams_calendar(slack: SlackHarness) -> None:
    me = await say(slack, "me", "U0NEW")
    assert "Nia" in me and "Public holidays: Australia, New South Wales (AU-NSW)" in me
