"""Slack failing for 30 seconds in the middle of a reminder fan-out, through the real Slack adapter and the outbox.

The emulator answers ``chat.postMessage`` with 500, holds it unanswered (the client gives
up; the message lands later anyway) or answers 429, while the stand-up reminders go out.
Once Slack recovers every person has exactly one reminder: nothing lost, nothing doubled.
The 500 and the hang last 30 seconds of the simulated clock (and the client waits one second,
not fifteen), so they cost little real time; a 429 is waited out in real time, so that one ends
after three seconds.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.kernel.timekeeping import utc
from tests.integration.slack_harness import SlackHarness

MONDAY_EARLY = utc(2027, 3, 15, 6, 0)
REMINDER = utc(2027, 3, 15, 8, 30)  # 09:30 in Berlin
TEAM = ["U0ALICE", *(f"U0P{n:03d}" for n in range(4))]
OUTAGE = 30.0


@pytest.fixture
async def slack(tmp_path: Path) -> AsyncIterator[SlackHarness]:
    async with SlackHarness(tmp_path, MONDAY_EARLY) as harness:
        harness.adapter.chat.timeout = 1  # Slack's client gives up after 1 s here, not 15
        await harness.adapter.chat.close()
        harness.emulator.add_user("U0ALICE", "Alice", "Europe/Berlin", is_admin=True)
        for user in TEAM[1:]:
            harness.emulator.add_user(user, f"Person {user}", "Europe/Berlin")
        for user in TEAM:
            await harness.event({"type": "member_joined_channel", "user": user, "channel": "C0TEAM", "team": "T0001"})
        await harness.until(lambda: all(harness.app.store.find_member_by_account("T0001", "slack", u) for u in TEAM))
        await harness.command("setup ml-daily channel=C0TEAM at=09:30", user="U0ALICE")
        await harness.until(lambda: harness.app.store.get_standup("T0001", "ml-daily") is not None)
        await harness.settle(0.1)
        yield harness


def reminders(slack: SlackHarness) -> Counter[str]:
    """Reminders as Slack stored them, per DM channel."""
    return Counter(channel for channel, messages in slack.emulator.messages.items() if channel.startswith("D")
                   for m in messages if "Stand-up: ml-daily" in json.dumps(m))


def every_person_once(slack: SlackHarness) -> Counter[str]:
    return Counter({"D" + user[1:]: 1 for user in TEAM})


async def fan_out_then_recover(slack: SlackHarness) -> None:
    """The fan-out meets the outage; then time runs on past it and the outbox retries."""
    await slack.engine.advance_to(REMINDER + timedelta(seconds=1), slack.clock)
    assert sum(reminders(slack).values()) < len(TEAM), "the outage held the fan-out up"
    await slack.engine.advance_to(REMINDER + timedelta(minutes=10), slack.clock)


async def test_slack_answering_500_for_30_seconds_loses_and_doubles_no_reminder(slack: SlackHarness) -> None:
    slack.clock.set(REMINDER)
    slack.emulator.fail_for("chat.postMessage", OUTAGE, status=500)
    await fan_out_then_recover(slack)
    assert slack.emulator.calls("chat.postMessage#500"), "the outage was met"
    assert reminders(slack) == every_person_once(slack)


async def test_slack_hanging_for_30_seconds_loses_and_doubles_no_reminder(slack: SlackHarness) -> None:
    slack.clock.set(REMINDER)
    slack.emulator.hang_for("chat.postMessage", OUTAGE)
    await slack.engine.advance_to(REMINDER + timedelta(seconds=1), slack.clock)
    held = slack.emulator.calls("chat.postMessage#held")
    assert held and not reminders(slack), "every send timed out while Slack held it"
    # Slack comes back and carries out what it held: those messages land after Meridian gave up on them.
    slack.clock.set(REMINDER + timedelta(seconds=OUTAGE))
    await slack.until(lambda: len(slack.emulator.calls("chat.postMessage")) >= len(held))
    await slack.engine.advance_to(REMINDER + timedelta(minutes=10), slack.clock)
    assert reminders(slack) == every_person_once(slack)


async def test_slack_answering_429_until_it_recovers_loses_and_doubles_no_reminder(slack: SlackHarness) -> None:
    """A 429 is waited out in real time (``Retry-After``), not on the simulated clock: here Slack recovers
    after 3 real seconds, three ``Retry-After`` waits into the fan-out."""
    slack.clock.set(REMINDER)
    slack.emulator.fail_for("chat.postMessage", OUTAGE, status=429, retry_after=1)
    asyncio.get_running_loop().call_later(3.0, slack.emulator.recover, "chat.postMessage")
    await slack.engine.advance_to(REMINDER + timedelta(minutes=10), slack.clock)
    assert len(slack.emulator.calls("chat.postMessage#429")) >= 3, "the outage was met"
    assert reminders(slack) == every_person_once(slack)

