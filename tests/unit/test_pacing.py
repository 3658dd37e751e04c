"""Pacing sends to Slack and Teams: what a pace learns from a 429, documented limits, and a Slack fan-out."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator

import pytest

from adapters.pacing import WindowLimits
from adapters.slack.chat import SlackChat, fixed_token
from adapters.slack.pacing import MethodPace, Pacer
from adapters.teams.pacing import TeamsPacer
from bot.kernel.domain import Member
from bot.kernel.messages import Message
from bot.kernel.ports import RateLimited
from tests.emulators.slack import SlackEmulator


def test_no_limit_until_slack_refuses_then_the_calls_it_took_before() -> None:
    pace = MethodPace(margin=0.0)
    for i in range(12):
        pace.started(10.0 + i * 0.01)
    assert pace.limit is None and pace.wait_needed(10.2) == 0
    # the 11th was refused: ten reached Slack in the second before it (the 12th was still in flight)
    pace.refused(started_at=10.10, now=10.2, retry_after=1.0)
    assert pace.limit == 10
    assert pace.wait_needed(10.5) == pytest.approx(0.7)  # Retry-After holds everyone back
    # once the pause is over, no more than ten may start in any second
    assert pace.wait_needed(11.2) == 0


def test_the_sliding_window_holds_back_the_call_past_the_limit() -> None:
    pace = MethodPace(margin=0.0, limit=3)
    for t in (20.0, 20.1, 20.2):
        pace.started(t)
    assert pace.wait_needed(20.3) == pytest.approx(0.7)  # the first of the three leaves the window at 21.0
    assert pace.wait_needed(21.05) == 0


def test_a_refusal_within_the_limit_widens_the_margin_instead_of_lowering_the_limit() -> None:
    pace = MethodPace(margin=0.02, limit=5)
    for t in (30.0, 30.2, 30.4, 30.6, 30.8):
        pace.started(t)
    pace.refused(started_at=30.8, now=30.85, retry_after=1)  # the fifth of five: at the limit, not past it
    assert pace.limit == 5 and pace.margin > 0.02
    for t in (32.0, 32.1):
        pace.started(t)
    pace.refused(started_at=32.1, now=32.15, retry_after=1)  # Slack took only one: the limit comes down
    assert pace.limit == 1


def test_a_learnt_limit_is_raised_after_a_quiet_minute() -> None:
    pace = MethodPace(margin=0.0, limit=20, relax_after=60.0)
    pace.refused(started_at=100.0, now=100.0, retry_after=1)
    assert pace.limit == 1  # nothing had started before it
    pace.limit = 20
    assert pace.wait_needed(150.0) == 0 and pace.limit == 20
    pace.wait_needed(161.5)
    assert pace.limit == 22


def test_a_channel_takes_a_short_burst_then_one_message_a_second() -> None:
    lane = WindowLimits(((3, 3.0),))
    for t in (0.0, 0.1, 0.2):
        lane.started(t)
    assert lane.wait_needed(0.3) == pytest.approx(2.7)
    assert lane.wait_needed(3.0) == 0


def test_teams_limits_for_one_conversation_hold_together() -> None:
    lane = WindowLimits(((7, 1.0), (8, 2.0), (60, 30.0)))
    for i in range(7):
        lane.started(i * 0.01)
    assert lane.wait_needed(0.1) == pytest.approx(0.9)  # seven in the first second
    lane.started(1.0)
    assert lane.wait_needed(1.1) == pytest.approx(0.9)  # eight in two seconds: wait for the first to leave


@pytest.fixture
async def slack() -> AsyncIterator[SlackEmulator]:
    async with SlackEmulator() as emulator:
        yield emulator


async def test_a_fan_out_settles_at_slacks_limit_and_delivers_each_dm_once(slack: SlackEmulator) -> None:
    people = [Member("T0001", f"U{n:04d}", f"P{n}", accounts={"slack": f"U{n:04d}"}) for n in range(40)]
    chat = SlackChat(fixed_token("xoxb-T0001-test"), api_url=slack.api_url)
    chat.pacer = Pacer(in_flight=4)
    for person in people:  # DM channels opened beforehand, as on any day after the first
        await chat.dm_channel(person)
    slack.rate_limit("chat.postMessage", per_second=10)

    async def remind(person: Member) -> None:
        while True:  # what the outbox does with a 429: wait it out and send again
            try:
                await chat.dm(person, Message.text("Time for your stand-up"))
                return
            except RateLimited as limited:
                await asyncio.sleep(limited.retry_after)

    await asyncio.gather(*(remind(p) for p in people))
    await chat.close()
    delivered = Counter(str(c.where) for c in slack.calls("chat.postMessage"))
    assert delivered == Counter({"D" + p.id[1:]: 1 for p in people})
    # unpaced, forty at once against ten a second draw 30 + 20 + 10 refusals; paced, only the
    # calls in flight when Slack first says no, and no more than a stray one later
    assert len(slack.calls("chat.postMessage#429")) <= 8
    assert chat.pacer.method("T0001", "chat.postMessage").limit == 10


def test_teams_pacer_keeps_the_tenant_within_50_a_second_and_waits_out_a_429() -> None:
    now = [0.0]
    pacer = TeamsPacer(clock=lambda: now[0])
    for n in range(50):  # fifty first-day DMs: each creates its chat, then sends in it
        assert pacer.wait_needed("tenant", f"a:{n}", now[0]) == 0
        pacer.tenants["tenant"].started(now[0])
        now[0] += 0.001
    assert pacer.wait_needed("tenant", "a:50", now[0]) == pytest.approx(0.95)
    assert pacer.wait_needed("other-tenant", "a:0", now[0]) == 0  # each tenant has its own limit
    pacer.refused("tenant", 4.0)
    assert pacer.wait_needed("tenant", None, now[0] + 1) == pytest.approx(3.0)


def test_calls_in_flight_when_slack_first_refuses_are_the_same_overflow() -> None:
    pace = MethodPace(margin=0.03)
    for i in range(58):  # fifty taken, then eight more already on their way
        pace.started(5.0 + i * 0.001)
    pace.refused(started_at=5.050, now=5.060, retry_after=1)
    assert pace.limit == 50
    for i in range(51, 58):  # their refusals arrive after the first: nothing more is learnt from them
        pace.refused(started_at=5.0 + i * 0.001, now=5.061, retry_after=1)
    assert (pace.limit, pace.margin, pace.refusals) == (50, 0.03, 8)
