"""The one date reader every command uses: a table of what people type and the day it means."""

from __future__ import annotations

from datetime import date

import pytest

from bot.kernel.dates import DateInputError, parse_day, parse_span
from bot.kernel.domain import DateRange
from bot.kernel.timekeeping import TimeInputError

TUE = date(2027, 3, 16)  # a Tuesday
FRI = date(2027, 3, 19)

FUTURE = [
    ("today", TUE, TUE),
    ("Today", TUE, TUE),
    ("tomorrow", TUE, date(2027, 3, 17)),
    ("yesterday", TUE, date(2027, 3, 15)),
    ("friday", TUE, FRI),
    ("Fri", TUE, FRI),
    ("on friday", TUE, FRI),
    ("tuesday", TUE, TUE),
    ("thurs", TUE, date(2027, 3, 18)),
    ("monday", TUE, date(2027, 3, 22)),
    ("this friday", TUE, FRI),
    ("next friday", TUE, date(2027, 3, 26)),
    ("next friday", FRI, date(2027, 3, 26)),
    ("next  Friday", date(2027, 3, 21), date(2027, 3, 26)),
    ("next monday", TUE, date(2027, 3, 22)),
    ("last friday", TUE, date(2027, 3, 12)),
    ("last friday", FRI, date(2027, 3, 12)),
    ("in 3 days", TUE, FRI),
    ("in a day", TUE, date(2027, 3, 17)),
    ("in 2 weeks", TUE, date(2027, 3, 30)),
    ("in one week", TUE, date(2027, 3, 23)),
    ("2 days ago", TUE, date(2027, 3, 14)),
    ("next week", TUE, date(2027, 3, 22)),
    ("2027-04-01", TUE, date(2027, 4, 1)),
    ("2027-4-1", TUE, date(2027, 4, 1)),
    ("04-05", TUE, date(2027, 4, 5)),
    ("03-01", TUE, date(2028, 3, 1)),
    ("5 april", TUE, date(2027, 4, 5)),
    ("Apr 5", TUE, date(2027, 4, 5)),
    ("apr 5, 2028", TUE, date(2028, 4, 5)),
    ("Fri 26 March", TUE, date(2027, 3, 26)),
    ("02-29", date(2027, 3, 1), date(2028, 2, 29)),
]


@pytest.mark.parametrize(("text", "today", "expected"), FUTURE)
def test_a_date_to_come_reads_as_people_mean_it(text: str, today: date, expected: date) -> None:
    assert parse_day(text, today) == expected


PAST = [
    ("friday", TUE, date(2027, 3, 12)),
    ("tuesday", TUE, TUE),
    ("monday", TUE, date(2027, 3, 15)),
    ("03-01", TUE, date(2027, 3, 1)),
    ("04-05", TUE, date(2026, 4, 5)),
    ("yesterday", TUE, date(2027, 3, 15)),
]


@pytest.mark.parametrize(("text", "today", "expected"), PAST)
def test_a_date_that_happened_reads_backwards(text: str, today: date, expected: date) -> None:
    assert parse_day(text, today, prefer="past") == expected


REFUSED = [
    ("nxt friday", 'I can\'t read "nxt friday" as a date — try "next friday" or 2027-03-26.'),
    ("tomorow", 'I can\'t read "tomorow" as a date — try "tomorrow" or 2027-03-17.'),
    ("in 3 dayz", 'I can\'t read "in 3 dayz" as a date — try "in 3 days" or 2027-03-19.'),
    ("2027-02-30", 'I can\'t read "2027-02-30" as a date — try "tomorrow", "next friday" or 2027-03-26.'),
    ("13-01", 'I can\'t read "13-01" as a date — try "tomorrow", "next friday" or 2027-03-26.'),
    ("soon", 'I can\'t read "soon" as a date — try "tomorrow", "next friday" or 2027-03-26.'),
    ("", 'I can\'t read "" as a date — try "tomorrow", "next friday" or 2027-03-26.'),
    ("26/03/2027", 'I can\'t read "26/03/2027" as a date — try "tomorrow", "next friday" or 2027-03-26.'),
]


@pytest.mark.parametrize(("text", "message"), REFUSED)
def test_what_cannot_be_read_is_refused_naming_it(text: str, message: str) -> None:
    with pytest.raises(DateInputError) as refused:
        parse_day(text, TUE)
    assert str(refused.value) == message
    assert isinstance(refused.value, TimeInputError)  # callers that catch time errors catch these too


SPANS = [
    ("2027-03-22..2027-03-26", DateRange(date(2027, 3, 22), date(2027, 3, 26))),
    ("2027-03-22 .. 2027-03-26", DateRange(date(2027, 3, 22), date(2027, 3, 26))),
    ("next week", DateRange(date(2027, 3, 22), date(2027, 3, 28))),
    ("this week", DateRange(TUE, date(2027, 3, 21))),
    ("until friday", DateRange(TUE, FRI)),
    ("friday", DateRange(FRI, FRI)),
    ("from friday to next tuesday", DateRange(FRI, date(2027, 3, 23))),
    ("thursday to monday", DateRange(date(2027, 3, 18), date(2027, 3, 22))),
    ("tomorrow..in 2 weeks", DateRange(date(2027, 3, 17), date(2027, 3, 30))),
]


@pytest.mark.parametrize(("text", "expected"), SPANS)
def test_a_span_of_days(text: str, expected: DateRange) -> None:
    assert parse_span(text, TUE) == expected


def test_a_span_that_ends_before_it_starts_is_refused() -> None:
    with pytest.raises(DateInputError, match=r"ends before it starts \(2027-03-01 is before 2027-03-05\)"):
        parse_span("2027-03-05..2027-03-01", TUE)


def test_a_span_with_an_unreadable_end_names_that_end() -> None:
    with pytest.raises(DateInputError, match='"nxt friday"'):
        parse_span("today..nxt friday", TUE)


@pytest.mark.parametrize(("text", "looks"), [("nxt friday", True), ("2027-13-01", True), ("tomorow", True),
                                             ("someday", True), ("half", False), ("the end of the sprint", False), ("hand", False)])
def test_what_looks_like_a_date(text: str, looks: bool) -> None:
    from bot.kernel.dates import looks_like_date

    assert looks_like_date(text) is looks
