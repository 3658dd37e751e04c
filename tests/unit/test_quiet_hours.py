"""Quiet hours (``bot.kernel.quiet``): when a DM Meridian starts may land, in real zones."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.kernel.domain import WEEKDAYS, DateRange, Hours, Member
from bot.kernel.quiet import is_quiet, next_open
from bot.kernel.timekeeping import utc

NOOR = Member("acme", "noor", "Noor", tz="Pacific/Auckland")
ALICE = Member("acme", "alice", "Alice", tz="America/Los_Angeles")


def test_the_night_and_the_weekend_are_quiet_and_a_weekday_evening_is_not() -> None:
    assert is_quiet(NOOR, utc(2027, 3, 15, 11, 0))  # Tue 00:00 in Auckland
    assert not is_quiet(NOOR, utc(2027, 3, 15, 8, 0))  # Mon 21:00 in Auckland: evening, not night
    assert is_quiet(ALICE, utc(2027, 3, 20, 18, 0))  # Saturday 11:00 in Los Angeles: her day off
    assert not is_quiet(ALICE, utc(2027, 3, 19, 18, 0))  # Friday 11:00


def test_a_dm_that_finds_someone_asleep_waits_for_their_working_hours() -> None:
    # Friday 23:30 in Auckland: the next working hours start Monday 09:00 there
    assert next_open(NOOR, utc(2027, 3, 19, 10, 30)) == datetime(2027, 3, 21, 20, 0, tzinfo=UTC)
    # Tuesday 01:00 in Los Angeles: 09:00 the same day
    assert next_open(ALICE, utc(2027, 3, 16, 8, 0)) == utc(2027, 3, 16, 16, 0)
    # awake: at once
    assert next_open(ALICE, utc(2027, 3, 16, 20, 0)) == utc(2027, 3, 16, 20, 0)


def test_time_away_and_a_longer_night_are_respected() -> None:
    away = Member("acme", "alice", "Alice", tz="America/Los_Angeles",
                  ooo=(DateRange(date(2027, 3, 16), date(2027, 3, 18)),))
    assert is_quiet(away, utc(2027, 3, 16, 20, 0))  # Tuesday noon, but out of office
    assert next_open(away, utc(2027, 3, 16, 20, 0)) == utc(2027, 3, 19, 16, 0)  # back Friday 09:00
    early = Member("acme", "kenji", "Kenji", tz="Australia/Sydney", hours=Hours(time(5, 0), time(13, 0)),
                   quiet=Hours(time(21, 0), time(6, 30)))
    # working hours that start inside the night open when the night ends: 06:30 Sydney (AEDT, UTC+11)
    assert next_open(early, utc(2027, 3, 15, 12, 0)) == datetime(2027, 3, 15, 19, 30, tzinfo=UTC)


def test_a_clock_change_moves_the_opening_with_the_zone() -> None:
    # Los Angeles springs forward on Sunday 14 March 2027: Monday 09:00 is 16:00 UTC, not 17:00
    assert next_open(ALICE, utc(2027, 3, 13, 12, 0)) == utc(2027, 3, 15, 16, 0)


ZONES = ["Pacific/Auckland", "Australia/Sydney", "Asia/Kolkata", "Europe/London", "America/Sao_Paulo",
         "America/Los_Angeles", "Pacific/Chatham", "Asia/Kathmandu", "UTC"]


@st.composite
def members(draw: st.DrawFn) -> Member:
    start = draw(st.integers(5, 11))
    length = draw(st.integers(4, 10))
    quiet_start = draw(st.integers(19, 23))
    quiet_end = draw(st.integers(4, 8))
    days = draw(st.sets(st.sampled_from(WEEKDAYS), min_size=1))
    first = date(2027, 1, 1) + timedelta(days=draw(st.integers(0, 360)))
    ooo = (DateRange(first, first + timedelta(days=draw(st.integers(0, 60)))),) if draw(st.booleans()) else ()
    return Member("acme", "m", "M", tz=draw(st.sampled_from(ZONES)),
                  hours=Hours(time(start), time(min(start + length, 23))), quiet=Hours(time(quiet_start),
                                                                                   time(quiet_end)),
                  workdays=frozenset(days), ooo=ooo)


@settings(max_examples=300, deadline=None)
@given(members(), st.integers(0, 365 * 24 * 4))
def test_a_held_dm_always_lands_awake_and_never_early(member: Member, quarter_hours: int) -> None:
    instant = utc(2027, 1, 1) + timedelta(minutes=15 * quarter_hours)
    lands = next_open(member, instant)
    assert lands >= instant
    assert not is_quiet(member, lands)
    if lands > instant:  # held: it lands as working hours begin (or the night ends), not at some later moment
        local = member.local(lands).time()
        assert local in (member.hours.start, member.quiet.end)
