"""Time off and retros, through the core's entry points and through Slack: who is reminded, who pays, and what
the admins hear when most of the team is away."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.kernel.team import apply_team
from bot.kernel.teamfile import parse_team
from bot.kernel.timekeeping import local_date
from bot.retros.context import RetroContext
from bot.retros.plan import burden_table, ledger
from storage.kernel.repo import SqlStore
from tests.conftest import Harness, _truncate
from tests.integration.slack_harness import SlackHarness
from tests.integration.test_retros import TEAM, repo, run

RETRO_DAY = date(2027, 3, 8)


def calendar_files(h: Any, member: str) -> list[str]:
    """The names of the calendar files a member's DMs carried (each reminder attaches its occurrence's)."""
    return [a.filename for d in h.dms(member) if d.message is not None for a in d.message.attachments]


def with_time_off(team: str, **ooo: str) -> str:
    for who, span in ooo.items():
        team = team.replace(f"{{id: {who}, name: {who.title()}, ", f"{{id: {who}, name: {who.title()}, ooo: [\"{span}\"], ")
    return team


def retro_of(h: Any) -> Any:
    return repo(h).get_retro("acme", "retro")


async def test_a_member_away_on_the_meeting_day_gets_no_reminder_and_pays_nothing(sqlite_harness: Any) -> None:
    h = sqlite_harness(datetime(2027, 2, 25, tzinfo=UTC))
    # Every candidate (06:00-16:00 UTC) is Monday 8 March in Kolkata.
    h.load(with_time_off(TEAM, ravi="2027-03-08"))
    await h.advance_to(datetime(2027, 3, 9, tzinfo=UTC))
    ics = f"retro-{RETRO_DAY.isoformat()}.ics"
    assert ics not in calendar_files(h, "ravi")
    assert "retro-2027-03-01.ics" in calendar_files(h, "ravi")  # the week before he was there
    for present in ("alice", "marta"):
        assert calendar_files(h, present).count(ics) == 2, present  # the day-ahead notice and the 15 minutes
    occ = repo(h).get_occurrence("acme", "retro", RETRO_DAY)
    assert occ is not None and occ.published and occ.penalty["ravi"] == 0 and "ravi" not in occ.night
    (charge,) = [e for e in repo(h).burden_history("acme", "retro") if e.member == "ravi" and e.day == RETRO_DAY]
    assert (charge.penalty, charge.early, charge.late, charge.night) == (0.0, False, False, False)


async def test_time_off_marked_after_the_slot_is_published_keeps_the_slot_and_drops_reminders_and_charge(
        sqlite_harness: Any) -> None:
    h = sqlite_harness(datetime(2027, 2, 25, tzinfo=UTC))
    h.load(TEAM)
    # Published once its first instant (Ravi's day-ahead notice, Friday 16:00 IST) is inside the window.
    await h.advance_to(datetime(2027, 3, 4, 12, tzinfo=UTC))
    assert f"retro-{RETRO_DAY.isoformat()}.ics" not in calendar_files(h, "ravi")
    before = repo(h).get_occurrence("acme", "retro", RETRO_DAY)
    assert before is not None and before.published and before.start is not None
    charged = [e for e in repo(h).burden_history("acme", "retro") if e.member == "ravi" and e.day == RETRO_DAY]
    assert charged  # published: his cost was written to the history

    assert "Out of office 2027-03-08 (Mon 8 Mar): no reminders on those days." in \
        await run(h, "ravi", "/meridian ooo 2027-03-08")
    await h.advance_to(datetime(2027, 3, 9, tzinfo=UTC))
    after = repo(h).get_occurrence("acme", "retro", RETRO_DAY)
    assert after is not None and after.start == before.start  # a published slot never moves
    assert f"retro-{RETRO_DAY.isoformat()}.ics" not in calendar_files(h, "ravi")
    ctx = RetroContext(h.app, repo(h))
    counted = [e for e in ledger(ctx, retro_of(h)) if e.member == "ravi" and e.day == RETRO_DAY]
    assert [e.penalty for e in counted] == [0.0]
    # the burden table counts what the ledger counts: Ravi's row no longer holds the 8 March meeting
    everyone = {row[0]: row[1] for row in burden_table(ctx, retro_of(h), [after])}
    paid_before = sum(e.penalty for e in repo(h).burden_history("acme", "retro")
                      if e.member == "ravi" and e.day < RETRO_DAY)
    assert everyone["ravi"] == pytest.approx(paid_before, abs=0.01)


async def test_time_passing_never_re_plans_a_team_with_time_off_and_a_change_of_it_does(sqlite_harness: Any) -> None:
    h = sqlite_harness(datetime(2027, 2, 25, tzinfo=UTC))
    h.load(with_time_off(TEAM, ravi="2027-03-15"))
    await h.advance_to(datetime(2027, 3, 20, tzinfo=UTC))  # the day off comes and goes
    notices = [m for m in h.chat.in_channel("#ml") if "coming slots planned again" in m.text]
    assert notices == []
    assert "Out of office" in await run(h, "marta", "/meridian ooo 2027-03-29")
    await h.advance_to(datetime(2027, 3, 20, 1, tzinfo=UTC))
    changed = [m.text for m in h.chat.messages if "time off changed" in m.text]
    moved = [m for m in h.chat.in_channel("#ml") if "coming slots planned again" in m.text]
    assert all("Marta's time off changed" in t for t in changed) and len(moved) <= 1


async def test_admins_hear_7_days_ahead_once_when_most_members_are_away_even_across_restarts(
        sqlite_harness: Any) -> None:
    day = date(2027, 3, 15)
    h = sqlite_harness(datetime(2027, 3, 1, tzinfo=UTC))
    h.load(with_time_off(TEAM, ravi="2027-03-15", marta="2027-03-15"))
    await h.advance_to(datetime(2027, 3, 7, 23, tzinfo=UTC))
    assert not [d for d in h.dms("alice") if "members are away" in d.text]
    occ = repo(h).get_occurrence("acme", "retro", day)
    assert occ is not None and occ.start is not None

    warned: list[Any] = []
    for until in (occ.start - timedelta(days=7) + timedelta(minutes=5), occ.start - timedelta(days=6)):
        again = Harness(h.store, h.clock.now())  # a restart: a new process on the same database
        await again.advance_to(until)
        warned += [d for d in again.dms("alice") if "members are away" in d.text]
        h = again
    (note,) = warned
    assert note.at == occ.start - timedelta(days=7)
    assert "2 of 3 members are away" in note.text and "Marta (out of office)" in note.text
    assert "Ravi (out of office)" in note.text and "skip this one" in note.text
    assert not [d for d in h.dms("marta") + h.dms("ravi") if "members are away" in d.text]  # admins only


async def test_no_note_when_the_time_off_is_taken_back_before_it_is_due(sqlite_harness: Any) -> None:
    h = sqlite_harness(datetime(2027, 3, 1, tzinfo=UTC))
    h.load(with_time_off(TEAM, ravi="2027-03-15", marta="2027-03-15"))
    await h.advance_to(datetime(2027, 3, 7, 12, tzinfo=UTC))  # the note is scheduled by now
    await run(h, "marta", "/meridian ooo clear")
    await h.advance_to(datetime(2027, 3, 9, tzinfo=UTC))
    assert not [d for d in h.dms("alice") if "members are away" in d.text]


# --- Slack ---------------------------------------------------------------------------------------
SLACK_TEAM = """
workspace: T0001
members:
  - {id: alice, name: Alice, tz: America/Los_Angeles, admin: true, accounts: {slack: U0ALICE}}
  - {id: ravi, name: Ravi, tz: Asia/Kolkata, accounts: {slack: U0RAVI}}
  - {id: marta, name: Marta, tz: Europe/Berlin, hours: "08:00-16:00", accounts: {slack: U0MARTA}}
retros:
  - {name: sprint-retro, channel: C0TEAM, every: 2w, duration: 60m, starts: 2027-01-04, members: all,
     candidates: ["06:00"]}
"""
PEOPLE = {"U0ALICE": ("Alice", "America/Los_Angeles"), "U0RAVI": ("Ravi", "Asia/Kolkata"),
          "U0MARTA": ("Marta", "Europe/Berlin")}


@pytest.fixture
async def slack(tmp_path: Path) -> AsyncIterator[SlackHarness]:
    async with SlackHarness(tmp_path, datetime(2027, 1, 1, tzinfo=UTC)) as harness:
        clock = harness.clock
        harness.emulator._clock = lambda: clock.now().timestamp()
        for user, (name, tz) in PEOPLE.items():
            harness.emulator.add_user(user, name, tz, is_admin=user == "U0ALICE")
        apply_team(harness.app, parse_team(SLACK_TEAM, "team.yaml", harness.app.sections), platform="slack")
        yield harness


def dms(slack: SlackHarness, channel: str, containing: str) -> list[Any]:
    return [c for c in slack.emulator.calls("chat.postMessage")
            if c.where == channel and containing in json.dumps(c.params, ensure_ascii=False)]


async def test_on_slack_time_off_stops_the_reminders_and_the_day_ahead_notice_comes_in_working_hours(
        slack: SlackHarness) -> None:
    # Monday 11 Jan, 06:00 UTC: Marta's 07:00, before her 08:00 start; Ravi's 11:30; Alice's Sunday 22:00.
    status, _ = await slack.command("ooo 2027-01-18", user="U0RAVI", command="/meridian")
    assert status == 200
    await slack.engine.advance_to(datetime(2027, 1, 18, 7, tzinfo=UTC), slack.clock)
    # 24 hours before is Marta's Sunday: she hears on Friday at 15:00 CET, her last working hour, both times.
    marta = dms(slack, "D0MARTA", "sprint-retro on Monday at 07:00")
    assert [datetime.fromtimestamp(c.at, tz=UTC) for c in marta] == [datetime(2027, 1, 1, 14, tzinfo=UTC),
                                                                     datetime(2027, 1, 15, 14, tzinfo=UTC)]
    ravi = [c for c in slack.emulator.calls("chat.postMessage") if c.where == "D0RAVI"
            and "sprint-retro" in json.dumps(c.params, ensure_ascii=False)
            and datetime.fromtimestamp(c.at, tz=UTC) > datetime(2027, 1, 12, tzinfo=UTC)]
    assert ravi == []  # away on the 18th: no notice, no 15-minute reminder
    assert dms(slack, "D0ALICE", "sprint-retro in 15 minutes")


# --- the property: whoever is away for an occurrence pays nothing for it and hears nothing of it ---------------
PROPERTY_ZONES = ["America/Los_Angeles", "America/Sao_Paulo", "Europe/Berlin", "Asia/Dubai", "Asia/Kolkata",
                  "Asia/Kathmandu", "Australia/Sydney", "Pacific/Auckland", "America/St_Johns"]
FIRST = date(2027, 3, 1)


def random_team(people: list[tuple[str, int, int]]) -> str:
    lines = ["workspace: acme", "members:"]
    for i, (tz, offset, length) in enumerate(people):
        first = FIRST + timedelta(days=offset - 1)
        lines.append(f'  - {{id: m{i}, name: M{i}, tz: {tz}, admin: {str(i == 0).lower()}, '
                     f'ooo: ["{first.isoformat()}..{(first + timedelta(days=length)).isoformat()}"]}}')
    lines += ["retros:", '  - {name: retro, channel: "#ml", every: 1w, duration: 60m, starts: 2027-03-01, members: all,',
              '     candidates: ["00:00", "05:30", "11:00", "16:30", "21:00"]}']
    return "\n".join(lines) + "\n"


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(PROPERTY_ZONES), st.integers(0, 15), st.integers(0, 3)),
                min_size=2, max_size=4))
def test_for_random_teams_zones_and_time_off_an_absent_member_pays_nothing_and_gets_no_reminder(
        sqlite_url: str, people: list[tuple[str, int, int]]) -> None:
    store = SqlStore.from_url(sqlite_url, create=False)
    _truncate(store)
    try:
        h = Harness(store, datetime(2027, 2, 26, tzinfo=UTC))
        h.load(random_team(people))
        asyncio.run(h.advance_to(datetime(2027, 3, 16, 2, tzinfo=UTC)))
        ctx = RetroContext(h.app, repo(h))
        counted = {(e.member, e.day): e.penalty for e in ledger(ctx, retro_of(h))}
        members = store.list_members("acme")
        published = [o for o in repo(h).occurrences("acme", "retro") if o.published and o.start is not None]
        assert len(published) >= 2
        for occ in published:
            assert occ.start is not None
            for m in members:
                ics = f"retro-{occ.day.isoformat()}.ics"
                if m.is_away(local_date(occ.start, m.tz)):
                    assert ics not in calendar_files(h, m.id), (m.id, occ.day)
                    assert counted.get((m.id, occ.day), 0.0) == 0.0 and occ.penalty.get(m.id, 0.0) == 0.0
                elif occ.end < h.clock.now():
                    assert ics in calendar_files(h, m.id), (m.id, occ.day)  # the present are reminded
    finally:
        store.engine.dispose()
