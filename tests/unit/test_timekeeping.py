"""Reminder instants on real IANA zones, across every 2027 transition (DESIGN §7)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.kernel.domain import DateRange, Member, Standup
from bot.kernel.timekeeping import (
    TimeInputError,
    at_local,
    cutoff_at,
    is_standup_day,
    parse_date_range,
    parse_duration,
    parse_hhmm,
    reminder_at,
    resolve_zone,
    validate_zone,
    zone_label,
)

ZONES = ["America/New_York", "Europe/London", "Australia/Sydney", "Asia/Kolkata", "Asia/Kathmandu",
         "Australia/Lord_Howe", "Pacific/Chatham", "Asia/Jerusalem", "America/Sao_Paulo"]
SUN_THU = frozenset({"sun", "mon", "tue", "wed", "thu"})


def member(tz: str, workdays: frozenset[str] = frozenset({"mon", "tue", "wed", "thu", "fri"}), **kw: object) -> Member:
    return Member("ws", "m", "M", tz=tz, workdays=workdays, **kw)  # type: ignore[arg-type]


def standup(at: str = "09:30", days: frozenset[str] | None = None) -> Standup:
    return Standup("ws", "daily", "#c", remind_at=parse_hhmm(at),
                   days=days or frozenset({"sun", "mon", "tue", "wed", "thu", "fri", "sat"}))


def test_new_york_0230_in_the_spring_gap_fires_at_0330_edt() -> None:
    at = reminder_at(member("America/New_York"), standup("02:30"), date(2027, 3, 14))
    assert at == datetime(2027, 3, 14, 7, 30, tzinfo=UTC)
    local = at.astimezone(ZoneInfo("America/New_York"))
    assert (local.hour, local.minute, local.tzname()) == (3, 30, "EDT")


def test_new_york_0130_on_fall_back_day_fires_once_at_the_first_occurrence() -> None:
    at = reminder_at(member("America/New_York"), standup("01:30"), date(2027, 11, 7))
    assert at == datetime(2027, 11, 7, 5, 30, tzinfo=UTC)  # 01:30 EDT, not 01:30 EST (06:30Z)
    # one instant per local date: the day before and after are exactly one day's wall time apart
    before = reminder_at(member("America/New_York"), standup("01:30"), date(2027, 11, 6))
    after = reminder_at(member("America/New_York"), standup("01:30"), date(2027, 11, 8))
    assert after - at == timedelta(hours=25) and at - before == timedelta(hours=24)


@pytest.mark.parametrize(("tz", "day", "expected_utc"), [
    ("Asia/Kathmandu", date(2027, 3, 15), datetime(2027, 3, 15, 3, 45, tzinfo=UTC)),       # +05:45
    ("Asia/Kolkata", date(2027, 3, 15), datetime(2027, 3, 15, 4, 0, tzinfo=UTC)),          # +05:30
    ("Australia/Lord_Howe", date(2027, 4, 2), datetime(2027, 4, 1, 22, 30, tzinfo=UTC)),   # +11:00 (DST)
    ("Australia/Lord_Howe", date(2027, 4, 5), datetime(2027, 4, 4, 23, 0, tzinfo=UTC)),    # +10:30 after
    ("Pacific/Chatham", date(2027, 3, 15), datetime(2027, 3, 14, 19, 45, tzinfo=UTC)),     # +13:45
    ("Pacific/Chatham", date(2027, 4, 5), datetime(2027, 4, 4, 20, 45, tzinfo=UTC)),       # +12:45
    ("Europe/London", date(2027, 3, 26), datetime(2027, 3, 26, 9, 30, tzinfo=UTC)),        # GMT
    ("Europe/London", date(2027, 3, 29), datetime(2027, 3, 29, 8, 30, tzinfo=UTC)),        # BST
    ("Australia/Sydney", date(2027, 4, 2), datetime(2027, 4, 1, 22, 30, tzinfo=UTC)),      # AEDT
    ("Australia/Sydney", date(2027, 4, 5), datetime(2027, 4, 4, 23, 30, tzinfo=UTC)),      # AEST
])
def test_member_is_reminded_at_0930_local_on_both_sides_of_each_transition(tz: str, day: date,
                                                                           expected_utc: datetime) -> None:
    assert reminder_at(member(tz), standup(), day) == expected_utc


def _transitions(tz: str, year: int = 2027) -> list[date]:
    """Local dates in ``year`` whose UTC offset differs from the day before."""
    zone = ZoneInfo(tz)
    days = []
    d = date(year, 1, 1)
    prev = datetime.combine(d, time(12), zone).utcoffset()
    while d.year == year:
        d += timedelta(days=1)
        off = datetime.combine(d, time(12), zone).utcoffset()
        if off != prev:
            days.append(d)
        prev = off
    return days


@pytest.mark.parametrize("tz", ZONES)
def test_reminders_keep_local_wall_time_across_every_2027_transition(tz: str) -> None:
    m, s = member(tz), standup()
    for change in _transitions(tz):
        for day in (change - timedelta(days=1), change, change + timedelta(days=1)):
            local = reminder_at(m, s, day).astimezone(ZoneInfo(tz))
            assert (local.date(), local.hour, local.minute) == (day, 9, 30), (tz, day)


def test_zones_with_dst_have_two_transitions_in_2027() -> None:
    assert len(_transitions("Australia/Lord_Howe")) == 2
    assert len(_transitions("Pacific/Chatham")) == 2
    assert _transitions("Asia/Kathmandu") == []


@settings(max_examples=300, deadline=None)
@given(tz=st.sampled_from(ZONES), day=st.dates(date(2027, 1, 1), date(2027, 12, 31)),
       hh=st.integers(0, 23), mm=st.sampled_from([0, 15, 30, 45]))
def test_any_wall_time_maps_to_one_instant_on_that_local_date(tz: str, day: date, hh: int, mm: int) -> None:
    instant = at_local(day, time(hh, mm), tz)
    local = instant.astimezone(ZoneInfo(tz))
    assert instant.tzinfo is not None and local.date() == day
    if (local.hour, local.minute) != (hh, mm):  # only inside a spring-forward gap
        gap = ZoneInfo(tz).utcoffset(local) - datetime.combine(day, time(hh, mm), ZoneInfo(tz)).utcoffset()  # type: ignore[operator]
        assert local.replace(tzinfo=None) - datetime.combine(day, time(hh, mm)) == gap


@settings(max_examples=200, deadline=None)
@given(tz=st.sampled_from(ZONES), day=st.dates(date(2027, 1, 1), date(2027, 12, 31)))
def test_reminders_only_on_working_days_outside_out_of_office(tz: str, day: date) -> None:
    m = member(tz, workdays=SUN_THU, ooo=(DateRange(date(2027, 6, 1), date(2027, 6, 10)),))
    s = standup()
    expected = day.strftime("%a").lower() in SUN_THU and not (date(2027, 6, 1) <= day <= date(2027, 6, 10))
    assert is_standup_day(m, s, day) == expected


def test_sunday_to_thursday_week_is_reminded_on_sunday_not_friday() -> None:
    m = member("Asia/Jerusalem", workdays=SUN_THU)
    s = Standup("ws", "daily", "#c")  # the stand-up itself runs mon-fri by default
    s_all = standup()
    assert is_standup_day(m, s_all, date(2027, 3, 14))      # Sunday
    assert not is_standup_day(m, s_all, date(2027, 3, 19))  # Friday
    assert not is_standup_day(m, s, date(2027, 3, 14))      # the stand-up does not run on Sundays


def test_cutoff_defaults_to_end_of_working_hours() -> None:
    m = member("Asia/Kolkata")
    assert cutoff_at(m, standup(), date(2027, 3, 15)) == datetime(2027, 3, 15, 11, 30, tzinfo=UTC)


@pytest.mark.parametrize("text", ["Mars/Olympus", "EST5", "", "Europe/"])
def test_unknown_zone_is_refused_with_a_hint(text: str) -> None:
    with pytest.raises(TimeInputError) as err:
        validate_zone(text)
    assert "time zone" in str(err.value)


def test_reversed_ooo_range_is_refused() -> None:
    with pytest.raises(TimeInputError, match="ends before it starts"):
        parse_date_range("2027-01-02..2026-12-24")


@pytest.mark.parametrize(("text", "minutes"), [("90m", 90), ("2h", 120), ("1h30m", 90), ("2d", 2880), ("2w", 20160)])
def test_durations(text: str, minutes: int) -> None:
    assert parse_duration(text) == timedelta(minutes=minutes)


@pytest.mark.parametrize("text", ["soon", "90", "1x", ""])
def test_bad_durations_are_refused(text: str) -> None:
    with pytest.raises(TimeInputError):
        parse_duration(text)


@pytest.mark.parametrize(("text", "zone"), [
    ("lisbon", "Europe/Lisbon"), ("Lisbon", "Europe/Lisbon"), ("São Paulo", "America/Sao_Paulo"),
    ("sao_paulo", "America/Sao_Paulo"), ("europe/lisbon", "Europe/Lisbon"), ("Asia/Kolkata", "Asia/Kolkata"),
    ("UTC", "UTC"), ("KOLKATA", "Asia/Kolkata"),
])
def test_a_zone_is_found_by_its_name_in_any_case_or_by_its_city(text: str, zone: str) -> None:
    assert resolve_zone(text) == zone


@pytest.mark.parametrize(("text", "meant"), [
    ("Europe/Lisbn", "Europe/Lisbon"), ("lisbn", "Europe/Lisbon"), ("Asia/Kolkatta", "Asia/Kolkata"),
    ("Amerca/Sao_Paulo", "America/Sao_Paulo"),
])
def test_a_misspelled_zone_suggests_the_real_one(text: str, meant: str) -> None:
    with pytest.raises(TimeInputError, match=f"Did you mean {meant}"):
        resolve_zone(text)


def test_nothing_like_a_zone_suggests_nothing() -> None:
    with pytest.raises(TimeInputError) as err:
        resolve_zone("Mars/Olympus")
    assert "Did you mean" not in str(err.value)


@pytest.mark.parametrize(("tz", "label"), [
    ("Asia/Dubai", "+04 Dubai"), ("America/Sao_Paulo", "-03 Sao Paulo"), ("Europe/Berlin", "CET"),
    ("Asia/Kolkata", "IST"), ("UTC", "UTC"),
])
def test_numeric_zone_labels_get_their_city(tz: str, label: str) -> None:
    local = datetime(2027, 3, 15, 12, tzinfo=UTC).astimezone(ZoneInfo(tz))
    assert zone_label(local, tz) == label
