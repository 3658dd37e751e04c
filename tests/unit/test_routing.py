"""Whom a thing is over to: the kernel's routing rule on each person's clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time

from bot.kernel.calendars import HolidayCalendar
from bot.kernel.domain import DateRange, Hours, Member
from bot.kernel.messages import Mention
from bot.kernel.routing import named, presence, route
from bot.kernel.timekeeping import utc

WS = "acme"
AT = utc(2027, 10, 29, 10, 0)  # Friday: Diwali in India; 12:00 in Berlin, 03:00 in Los Angeles, 14:00 in Dubai
RAVI = Member(WS, "ravi", "Ravi", tz="Asia/Kolkata", holidays=HolidayCalendar("IN"), delegate="marta")
MARTA = Member(WS, "marta", "Marta", tz="Europe/Berlin", delegate="noor")
ALICE = Member(WS, "alice", "Alice", tz="America/Los_Angeles")
NOOR = Member(WS, "noor", "Noor", tz="Asia/Dubai")


def team(*members: Member) -> dict[str, Member]:
    return {m.id: m for m in members}


def lookup_in(members: dict[str, Member]) -> Callable[[str], Member | None]:
    return members.get


def test_presence_counts_public_holidays_as_away() -> None:
    p = presence(RAVI, AT)
    assert p.away == "holiday: Diwali (Deepavali)" and not p.in_hours and p.rank == 2
    assert p.why_not_now() == "away — holiday: Diwali (Deepavali)"


def test_only_people_at_work_are_pinged_and_a_delegate_stands_in_for_someone_away() -> None:
    people = team(RAVI, MARTA, ALICE, NOOR)
    routing = route([(ALICE, "R"), (RAVI, "A"), (NOOR, "C")], AT, lookup_in(people))
    assert [(r.member.id, r.ping) for r in routing.people] == [
        ("alice", False), ("ravi", False), ("marta", True), ("noor", True)]
    assert named(routing.people, roles=True) == (
        "Alice", " (R; off hours, 03:00 in Los Angeles)", ", ",
        "Ravi", " (A; away — holiday: Diwali (Deepavali))", ", ",
        Mention("marta", "Marta"), " (A; standing in for Ravi, away — holiday: Diwali (Deepavali))", ", ",
        Mention("noor", "Noor"), " (C)")


def test_a_delegate_who_is_away_does_not_stand_in_and_delegation_does_not_chain() -> None:
    marta_away = Member(WS, "marta", "Marta", tz="Europe/Berlin", delegate="noor",
                        ooo=(DateRange(date(2027, 10, 25), date(2027, 10, 29)),))
    routing = route([(RAVI, "A")], AT, lookup_in(team(RAVI, marta_away, NOOR)))
    assert [r.member.id for r in routing.people] == ["ravi"]
    assert routing.pinged == []


def test_someone_holding_two_roles_is_named_once_and_a_delegate_already_concerned_is_not_doubled() -> None:
    people = team(RAVI, MARTA)
    routing = route([(MARTA, "R"), (RAVI, "A"), (MARTA, "C")], AT, lookup_in(people))
    assert [(r.member.id, r.roles) for r in routing.people] == [("marta", ("R", "C", "A")), ("ravi", ("A",))]
    assert routing.people[0].note() == "standing in for Ravi, away — holiday: Diwali (Deepavali)"


def test_urgent_pings_people_off_hours_but_never_people_away() -> None:
    routing = route([(ALICE, "owner"), (RAVI, "owner")], AT, lambda _: None, urgent=True)
    alice, ravi = routing.people
    assert alice.ping and alice.note() == "urgent, 03:00 in Los Angeles"
    assert not ravi.ping


def test_a_day_off_is_said_as_such() -> None:
    saturday = datetime(2027, 10, 30, 10, 0, tzinfo=AT.tzinfo)
    routing = route([(NOOR, "")], saturday, lambda _: None)
    assert routing.people[0].note() == "day off, Sat 14:00 in Dubai"


def test_working_hours_that_cross_midnight_ping_at_night() -> None:
    night_shift = Member(WS, "sam", "Sam", tz="Europe/Berlin", hours=Hours(time(22), time(6)))
    assert route([(night_shift, "")], utc(2027, 10, 28, 23, 0), lambda _: None).pinged
