"""Who is there for a retro, and when the day-ahead notice goes: pure rules on real IANA zones."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.kernel.domain import DateRange, Hours, Member
from bot.retros import rotation
from bot.retros.model import Occurrence
from bot.retros.presence import day_ahead_notice, in_working_hours, is_absent

HOUR = timedelta(hours=1)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def person(tz: str, hours: str = "09:00-17:00", ooo: tuple[DateRange, ...] = (),
           workdays: frozenset[str] = frozenset({"mon", "tue", "wed", "thu", "fri"})) -> Member:
    start, end = (time.fromisoformat(t) for t in hours.split("-"))
    return Member("acme", tz.split("/")[-1].lower(), tz, tz=tz, hours=Hours(start, end), ooo=ooo, workdays=workdays)


def occurrence(start: datetime) -> Occurrence:
    return Occurrence("acme", "retro", start.date(), start, start + HOUR, start - timedelta(hours=48))


# --- absence is the local date the meeting starts on for that person --------------------------
def test_a_member_is_absent_when_away_on_the_meetings_local_date_not_its_utc_date() -> None:
    kenji = person("Australia/Sydney", ooo=(DateRange(date(2027, 1, 19), date(2027, 1, 19)),))
    assert is_absent(kenji, occurrence(utc(2027, 1, 18, 22)))  # Tue 19 Jan 09:00 AEDT
    assert not is_absent(kenji, occurrence(utc(2027, 1, 18, 8)))  # Mon 18 Jan 19:00 AEDT


# --- the day-ahead notice in working hours ----------------------------------------------------
def test_a_monday_0700_meeting_is_announced_on_friday_afternoon_not_sunday_morning() -> None:
    marta = person("Europe/Berlin", "08:00-16:00")
    start = utc(2027, 1, 18, 6)  # Mon 07:00 CET
    assert day_ahead_notice(marta, start) == utc(2027, 1, 15, 14)  # Fri 15:00 CET, her last working hour


def test_a_notice_that_falls_in_working_hours_stays_24_hours_before() -> None:
    ravi = person("Asia/Kolkata", "10:00-18:00")
    start = utc(2027, 1, 19, 8)  # Tue 13:30 IST
    assert day_ahead_notice(ravi, start) == start - timedelta(hours=24)  # Mon 13:30 IST


def test_an_early_tuesday_meeting_is_announced_in_mondays_last_working_hour() -> None:
    kenji = person("Australia/Sydney")
    start = utc(2027, 1, 18, 20)  # Tue 07:00 AEDT
    assert day_ahead_notice(kenji, start) == utc(2027, 1, 18, 5)  # Mon 16:00 AEDT


def test_a_day_off_before_the_meeting_moves_the_notice_to_the_working_day_before_it() -> None:
    alice = person("America/Los_Angeles", ooo=(DateRange(date(2027, 1, 15), date(2027, 1, 15)),))
    start = utc(2027, 1, 18, 14)  # Mon 06:00 PST
    assert day_ahead_notice(alice, start) == utc(2027, 1, 15, 0)  # Thu 16:00 PST


def test_a_night_shift_that_runs_past_midnight_counts_as_the_day_it_started() -> None:
    owl = person("Europe/London", "22:00-06:00")
    assert in_working_hours(owl, utc(2027, 1, 16, 2))  # Sat 02:00: Friday's shift
    assert not in_working_hours(owl, utc(2027, 1, 17, 2))  # Sun 02:00: Saturday has no shift
    start = utc(2027, 1, 18, 12)  # Mon 12:00; 24 h before is Sunday noon
    assert day_ahead_notice(owl, start) == utc(2027, 1, 16, 5)  # the last hour of Friday's shift


ZONES = ["America/Los_Angeles", "America/Sao_Paulo", "Europe/Berlin", "Asia/Dubai", "Asia/Kolkata",
         "Asia/Kathmandu", "Australia/Sydney", "Pacific/Auckland", "America/St_Johns"]


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(ZONES), st.integers(0, 23), st.integers(6, 14),
       st.datetimes(min_value=datetime(2027, 1, 1), max_value=datetime(2027, 12, 31)),
       st.sets(st.integers(0, 6), min_size=1, max_size=7))
def test_the_day_ahead_notice_is_in_working_hours_and_before_the_meeting(
        tz: str, first: int, length: int, naive: datetime, days: set[int]) -> None:
    names = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    hours = f"{first:02d}:00-{(first + length) % 24:02d}:00"
    m = person(tz, hours, workdays=frozenset(names[d] for d in days))
    start = naive.replace(second=0, microsecond=0, tzinfo=UTC)
    notice = day_ahead_notice(m, start)
    assert notice < start
    # In working hours on a working day; only with no working day in the fortnight does it stay at 24 h.
    assert in_working_hours(m, notice) or notice == start - timedelta(hours=24)


# --- the planner leaves the absent out --------------------------------------------------------
def test_an_absent_member_costs_nothing_and_the_slot_suits_those_present() -> None:
    la = rotation.Member("alice", "America/Los_Angeles")
    berlin = rotation.Member("marta", "Europe/Berlin")
    kolkata = rotation.Member("ravi", "Asia/Kolkata", away=frozenset({date(2027, 3, 1)}))
    plan = rotation.plan_rotation([la, berlin, kolkata], [date(2027, 3, 1)], HOUR, candidates=["14:00", "16:00"])
    (occ,) = plan.occurrences
    # 16:00 UTC is Alice's 08:00 and Marta's 17:00, best for the two of them; with Ravi there (21:30 IST)
    # 14:00 (Alice's 06:00, Ravi's 19:30) is fairer.
    assert occ.start_utc == utc(2027, 3, 1, 16) and occ.away == {"ravi"} and occ.penalty["ravi"] == 0
    assert "ravi" not in occ.night
    everyone = rotation.plan_rotation([la, berlin, rotation.Member("ravi", "Asia/Kolkata")], [date(2027, 3, 1)],
                                      HOUR, candidates=["14:00", "16:00"])
    assert everyone.occurrences[0].start_utc == utc(2027, 3, 1, 14) and everyone.occurrences[0].away == frozenset()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(ZONES), st.sets(st.integers(0, 20), max_size=6)), min_size=1,
                max_size=5),
       st.integers(1, 2))
def test_for_random_teams_an_away_member_carries_no_burden_for_that_occurrence(
        team: list[tuple[str, set[int]]], weeks: int) -> None:
    first = date(2027, 3, 1)
    members = [rotation.Member(f"m{i}", tz, away=frozenset(first + timedelta(days=d) for d in off))
               for i, (tz, off) in enumerate(team)]
    dates = [first + timedelta(weeks=weeks * k) for k in range(3)]
    plan = rotation.plan_rotation(members, dates, HOUR, candidates=["00:00", "06:00", "12:00", "18:00"])
    for occ in plan.occurrences:
        for m in members:
            if occ.start_utc.astimezone(m.zone).date() in m.away:
                assert m.id in occ.away and occ.penalty[m.id] == 0 and m.id not in occ.night
            else:
                assert m.id not in occ.away
    assert plan.burden == pytest.approx({m.id: sum(o.penalty[m.id] for o in plan.occurrences) for m in members})
