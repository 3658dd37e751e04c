"""Public holidays and out-of-office ranges: the member's calendar, the team file's forms and mistakes,
and the one reader of out-of-office ranges that ``/meridian ooo`` and the team file share."""

from __future__ import annotations

from datetime import date, timedelta
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.kernel.calendars import HolidayCalendar, public_holidays, read_code
from bot.kernel.dates import MAX_AWAY_DAYS, DateInputError, drop_ooo, join_ooo, read_ooo
from bot.kernel.domain import DateRange, Member
from bot.kernel.teamfile import TeamFileError, TeamSection, parse_team
from tests.scenarios.transcript import ROOT

CAPABILITY_SECTIONS = [TeamSection(name, lambda tf: []) for name in ("raci", "retros", "sources", "digests")]


def team(text: str) -> list[Member]:
    return parse_team(text, "t.yaml", []).members


def errors_of(text: str) -> list[str]:
    with pytest.raises(TeamFileError) as caught:
        parse_team(text, "t.yaml", [])
    return caught.value.errors


def test_a_member_is_away_on_a_holiday_of_their_calendar_with_its_name() -> None:
    kenji = Member("w", "kenji", "Kenji", "Australia/Sydney", holidays=HolidayCalendar("AU", "NSW"))
    assert kenji.away_reason(date(2027, 1, 26)) == "holiday: Australia Day"
    assert kenji.is_away(date(2027, 1, 26)) and not kenji.works_on(date(2027, 1, 26))
    assert kenji.away_reason(date(2027, 1, 27)) is None and kenji.works_on(date(2027, 1, 27))
    assert not kenji.works_on(date(2027, 1, 30))  # a Saturday: not a workday, though not away


def test_out_of_office_comes_first_and_says_when_the_person_is_back() -> None:
    ravi = Member("w", "ravi", "Ravi", "Asia/Kolkata", ooo=(DateRange(date(2027, 10, 25), date(2027, 11, 5)),),
                  holidays=HolidayCalendar("IN", "KA"))
    assert ravi.away_reason(date(2027, 10, 29)) == "out of office until Fri 5 Nov"
    assert ravi.away_reason(date(2027, 11, 5)) == "out of office"
    assert ravi.away_reason(date(2027, 11, 1)) == "out of office until Fri 5 Nov"
    noor = Member("w", "noor", "Noor", ooo=(DateRange(date(2026, 12, 24), date(2027, 1, 2)),))
    assert noor.away_reason(date(2026, 12, 28)) == "out of office until Sat 2 Jan 2027"
    assert Member("w", "x", "X", holidays=HolidayCalendar("IN", "KA")).away_reason(date(2027, 10, 29)) == (
        "holiday: Diwali (Deepavali)")


def test_each_countrys_year_is_built_once() -> None:
    public_holidays.cache_clear()
    calendar = HolidayCalendar("DE", "BE")
    for offset in range(365):
        calendar.holiday(date(2027, 1, 1) + timedelta(days=offset))
    info = public_holidays.cache_info()
    assert (info.misses, info.hits) == (1, 364)


def test_the_team_default_holds_for_members_without_their_own_and_its_days_off_for_everyone() -> None:
    ravi, kenji, sam, ana = team(
        "workspace: w\n"
        "holidays: {country: GB, subdivision: ENG, extra: [2027-12-24, {date: 2027-12-31, name: Company day}],\n"
        "           removals: [2027-08-30]}\n"
        "members:\n"
        "  - {id: ravi, tz: Asia/Kolkata, holidays: IN-KA}\n"
        "  - {id: kenji, tz: Australia/Sydney, holidays: {subdivision: SCT}}\n"
        "  - {id: sam, tz: Europe/London}\n"
        "  - {id: ana, tz: Europe/Lisbon, holidays: none}\n")
    summer_bank_holiday, christmas = date(2027, 8, 30), date(2027, 12, 25)
    assert sam.away_reason(summer_bank_holiday) is None  # the team works it
    assert sam.away_reason(christmas) == "holiday: Christmas Day"
    assert ravi.away_reason(date(2027, 10, 29)) == "holiday: Diwali (Deepavali)"
    assert kenji.holidays is not None and kenji.holidays.code == "GB-SCT"  # the team's country, his region
    assert kenji.away_reason(summer_bank_holiday) is None  # same country: the team's removals hold
    assert kenji.away_reason(date(2027, 8, 2)) == "holiday: Summer Bank Holiday"  # Scotland's, in August
    for member in (ravi, kenji, sam, ana):
        assert member.away_reason(date(2027, 12, 24)) == "holiday: team day off"
        assert member.away_reason(date(2027, 12, 31)) == "holiday: Company day"
    assert ana.away_reason(christmas) is None


def test_short_forms_and_names_read_as_codes() -> None:
    assert read_code("GB") == HolidayCalendar("GB")
    assert read_code("UK") == HolidayCalendar("GB")
    assert read_code("in-ka") == HolidayCalendar("IN", "KA")
    assert read_code("AU NSW") == HolidayCalendar("AU", "NSW")
    assert read_code("India") == HolidayCalendar("IN")
    assert read_code("none") == HolidayCalendar()
    (m,) = team("workspace: w\nmembers: [{id: a, holidays: {country: India, subdivision: Karnataka}}]\n")
    assert m.holidays == HolidayCalendar("IN", "KA")


def test_unknown_countries_and_regions_are_one_line_with_the_nearest_codes() -> None:
    errs = errors_of("workspace: w\n"
                     "members:\n"
                     "  - {id: a, holidays: Indai}\n"
                     "  - {id: b, holidays: {country: IN, subdivision: KX}}\n"
                     "  - {id: c, holidays: {country: US, subdivision: Californa}}\n"
                     "  - {id: d, holidays: ZZ}\n"
                     "  - {id: e, holidays: {country: FR, subdivision: Normandy}}\n"
                     "  - {id: f, holidays: {subdivision: KA}}\n"
                     "  - {id: g, holidays: {country: IN, extra: [someday], colour: red}}\n"
                     "  - {id: h, holidays: [IN]}\n")
    assert errs == [
        "t.yaml:3: `Indai` is not a country the holiday calendar knows; did you mean IN (India)?",
        "t.yaml:4: `KX` is not a region of India (IN) the holiday calendar knows; did you mean UK (Uttarakhand), "
        "SK (Sikkim) or KL (Kerala)?",
        "t.yaml:5: `Californa` is not a region of United States (US) the holiday calendar knows; did you mean "
        "CA (California)?",
        "t.yaml:6: `ZZ` is not a country the holiday calendar knows; did you mean ZW (Zimbabwe), ZM (Zambia) or "
        "ZA (South Africa)?",
        errs[4],
        "t.yaml:8: a subdivision needs a country, like {country: IN, subdivision: KA}",
        "t.yaml:9: unknown key `colour` for holidays (known: country, extra, removals, subdivision)",
        "t.yaml:9: `someday` is not a date; write it as YYYY-MM-DD, for example 2027-01-04.",
        "t.yaml:10: holidays must be a country code like GB or IN-KA, none, or a mapping like "
        "{country: IN, subdivision: KA}",
    ]
    assert errs[4].startswith("t.yaml:7: `Normandy` is not a region of France (FR) the holiday calendar knows; ")


def test_team_file_out_of_office_is_read_as_the_command_reads_it_and_overlaps_are_joined() -> None:
    (m,) = team('workspace: w\nmembers: [{id: a, ooo: ["2027-04-01..04-05", "2027-04-03..2027-04-09", '
                '"2027-05-01", "2027-04-10"]}]\n')
    assert m.ooo == (DateRange(date(2027, 4, 1), date(2027, 4, 10)), DateRange(date(2027, 5, 1), date(2027, 5, 1)))
    errs = errors_of('workspace: w\nmembers:\n  - {id: a, ooo: ["next week", "2027-04-09..2027-04-01",\n'
                     '     "2027-04-01..2029-04-01"]}\n')
    assert errs == [
        't.yaml:3: "next week" is not a date range; in the team file write the dates, like 2027-04-01..2027-04-05.',
        't.yaml:3: "2027-04-09..2027-04-01" ends before it starts (2027-04-01 is before 2027-04-09); write the '
        "earlier date first.",
        't.yaml:4: "2027-04-01..2029-04-01" is 732 days long (2027-04-01..2029-04-01); out of office is at most a '
        "year (366 days) — check the years.",
    ]


def test_the_command_reads_words_on_the_speakers_calendar() -> None:
    wednesday = date(2027, 3, 17)
    assert read_ooo("next week", wednesday) == DateRange(date(2027, 3, 22), date(2027, 3, 28))
    assert read_ooo("until friday", wednesday) == DateRange(wednesday, date(2027, 3, 19))
    assert read_ooo("tomorrow", wednesday) == DateRange(date(2027, 3, 18), date(2027, 3, 18))
    assert read_ooo("2027-04-01..04-05", date(2027, 6, 1)) == DateRange(date(2027, 4, 1), date(2027, 4, 5))
    assert read_ooo("2027-12-28..01-03", wednesday) == DateRange(date(2027, 12, 28), date(2028, 1, 3))
    assert read_ooo(f"2027-01-01..{date(2027, 1, 1) + timedelta(days=MAX_AWAY_DAYS - 1)}", wednesday).days == 366
    with pytest.raises(DateInputError, match="367 days long"):
        read_ooo(f"2027-01-01..{date(2027, 1, 1) + timedelta(days=MAX_AWAY_DAYS)}", wednesday)


def _days(ranges: tuple[DateRange, ...]) -> set[date]:
    return {r.first + timedelta(days=i) for r in ranges for i in range(r.days)}


spans = st.builds(lambda start, length: DateRange(date(2027, 1, 1) + timedelta(days=start),
                                                  date(2027, 1, 1) + timedelta(days=start + length)),
                  st.integers(0, 365), st.integers(0, 40))


@given(st.lists(spans, max_size=8), spans)
def test_joining_keeps_every_day_once_in_ordered_ranges_that_never_touch(existing: list[DateRange],
                                                                         new: DateRange) -> None:
    ranges: tuple[DateRange, ...] = ()
    for r in existing:
        ranges, _ = join_ooo(ranges, r)
    joined, merged = join_ooo(ranges, new)
    assert _days(joined) == _days(ranges) | _days((new,))
    assert all(a.last + timedelta(days=1) < b.first for a, b in pairwise(joined))
    assert all(r in ranges for r in merged)


@given(st.lists(spans, max_size=8), spans)
def test_taking_days_back_removes_exactly_those_days(existing: list[DateRange], gone: DateRange) -> None:
    ranges: tuple[DateRange, ...] = ()
    for r in existing:
        ranges, _ = join_ooo(ranges, r)
    assert _days(drop_ooo(ranges, gone)) == _days(ranges) - _days((gone,))


@given(st.dates(date(2026, 1, 1), date(2030, 12, 31)))
def test_away_reason_and_works_on_agree(day: date) -> None:
    m = Member("w", "m", "M", ooo=(DateRange(date(2027, 3, 1), date(2027, 3, 20)),),
               holidays=HolidayCalendar("AU", "NSW", ((date(2028, 6, 1), "offsite"),), frozenset({date(2027, 1, 26)})))
    assert m.is_away(day) == (m.away_reason(day) is not None)
    assert m.works_on(day) == (day.weekday() < 5 and m.away_reason(day) is None)


def test_the_demo_team_is_not_reminded_on_new_years_day_except_where_it_is_a_workday() -> None:
    tf = parse_team((ROOT / "examples" / "team.yaml").read_text(encoding="utf-8"), "team.yaml", CAPABILITY_SECTIONS)
    working = {m.id: m.away_reason(date(2027, 1, 1)) for m in tf.members}
    assert working == {"alice": "holiday: New Year's Day", "tomas": "holiday: Universal Fraternization Day",
                       "marta": "holiday: New Year's Day", "noor": "out of office until Sat 2 Jan",
                       "ravi": None, "kenji": "holiday: New Year's Day"}  # India keeps 1 January as a workday


def test_export_data_reads_back_to_the_same_calendar() -> None:
    calendar = HolidayCalendar("IN", "KA", ((date(2027, 12, 24), "team day off"), (date(2027, 12, 31), "Company day")),
                               frozenset({date(2027, 1, 26)}))
    assert HolidayCalendar.from_data(calendar.to_data()) == calendar
    assert HolidayCalendar.from_data(HolidayCalendar().to_data()) == HolidayCalendar()
