"""Dates as people type them: ``today``, ``friday``, ``next friday``, ``in 3 days``, ``2027-04-01``, ``04-05``.

One reader for every command that takes a date, so ``/retro action … by next friday``,
``/standup skip until friday``, ``/standup report yesterday`` and ``/meridian ooo next week``
understand the same words the same way. It is pure: the caller passes *today* as the
speaker sees it (``local_date(now, member.tz)``), so a date means the speaker's day, not UTC's.

Words that name a day without saying which one (a bare weekday, ``04-05``, ``5 april``) are
read forwards for things to come (a due date, a skip) and backwards for things that happened
(``prefer="past"``, a report). ``next friday`` is the Friday of next week and ``this friday``
the Friday of this week (weeks start on Monday); ``last friday`` is the latest Friday before
today. What cannot be read is refused with the text quoted and a suggestion that can be.
"""

from __future__ import annotations

import difflib
import re
from datetime import date, timedelta
from typing import Literal

from bot.kernel.domain import DateRange
from bot.kernel.timekeeping import TimeInputError

Prefer = Literal["future", "past"]

WEEKDAY_NAMES: tuple[str, ...] = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MONTH_NAMES: tuple[str, ...] = ("january", "february", "march", "april", "may", "june", "july", "august",
                                "september", "october", "november", "december")
_NUMBERS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
            "eight": 8, "nine": 9, "ten": 10}
_VOCABULARY = ("today", "tomorrow", "yesterday", "next", "this", "last", "in", "days", "day", "weeks", "week",
               "ago", "until", "from", "to", *WEEKDAY_NAMES, *MONTH_NAMES, *_NUMBERS)

_DATE_WORDS = ("today", "tomorrow", "yesterday", "days", "weeks", *WEEKDAY_NAMES, *MONTH_NAMES)
"""Words that only a date is made of: a close match to one marks text meant as a date."""
_VAGUE = frozenset({"someday", "sometime", "soon", "asap", "later", "eod", "eow", "eom", "whenever", "tbd"})
"""Words that stand for a date without giving one: refused as dates rather than taken as text."""

_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_MONTH_DAY = re.compile(r"^(\d{1,2})-(\d{1,2})$")
_IN = re.compile(r"^in\s+(\w+)\s+(day|days|week|weeks)$")
_AGO = re.compile(r"^(\w+)\s+(day|days|week|weeks)\s+ago$")
_NAMED_MONTH = re.compile(r"^(?:(\d{1,2})\s+([a-z]+)|([a-z]+)\s+(\d{1,2}))(?:,?\s+(\d{4}))?$")


class DateInputError(TimeInputError):
    """A date a person typed that cannot be read; the message quotes it and suggests a form that works."""


def _weekday(word: str) -> int | None:
    """``fri``, ``friday``, ``thurs``, ``fridays`` → the weekday's number (Monday 0); anything else → ``None``."""
    word = word.removesuffix("s") if word.endswith("days") else word
    if word == "weds":
        return 2
    if len(word) < 3:
        return None
    return next((i for i, name in enumerate(WEEKDAY_NAMES) if name.startswith(word)), None)


def _month(word: str) -> int | None:
    if len(word) < 3:
        return None
    return next((i + 1 for i, name in enumerate(MONTH_NAMES) if name.startswith(word)), None)


def _count(word: str) -> int | None:
    if word.isdigit():
        return int(word)
    return _NUMBERS.get(word)


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _month_day(month: int, day: int, year: int | None, today: date, prefer: Prefer) -> date | None:
    """A month and day (and maybe a year); without a year, the nearest such day in the preferred direction."""
    if year is not None:
        try:
            return date(year, month, day)
        except ValueError:
            return None
    step = 1 if prefer == "future" else -1
    for years in range(0, 9):  # 29 Feb comes round within eight years
        try:
            candidate = date(today.year + step * years, month, day)
        except ValueError:
            continue
        if (candidate >= today) if prefer == "future" else (candidate <= today):
            return candidate
    return None


def _read(text: str, today: date, prefer: Prefer) -> date | None:
    """The date ``text`` names, or ``None`` when it names none."""
    words = text.split()
    if text in ("today", "now", "tonight"):
        return today
    if text == "tomorrow":
        return today + timedelta(days=1)
    if text == "yesterday":
        return today - timedelta(days=1)
    iso = _ISO.match(text)
    if iso:
        try:
            return date(int(iso.group(1)), int(iso.group(2)), int(iso.group(3)))
        except ValueError:
            return None
    short = _MONTH_DAY.match(text)
    if short:
        return _month_day(int(short.group(1)), int(short.group(2)), None, today, prefer)
    ahead = _IN.match(text)
    if ahead and _count(ahead.group(1)) is not None:
        n = _count(ahead.group(1)) or 0
        return today + (timedelta(weeks=n) if ahead.group(2).startswith("week") else timedelta(days=n))
    back = _AGO.match(text)
    if back and _count(back.group(1)) is not None:
        n = _count(back.group(1)) or 0
        return today - (timedelta(weeks=n) if back.group(2).startswith("week") else timedelta(days=n))
    if text in ("next week", "this week", "last week"):
        shift = {"next week": 7, "this week": 0, "last week": -7}[text]
        return _monday(today) + timedelta(days=shift)
    if len(words) == 1 and (wd := _weekday(words[0])) is not None:
        delta = (wd - today.weekday()) % 7
        return today + timedelta(days=delta) if prefer == "future" else today - timedelta(days=(7 - delta) % 7)
    if len(words) == 2 and words[0] in ("next", "this", "last", "on") and (wd := _weekday(words[1])) is not None:
        if words[0] == "on":
            return _read(words[1], today, prefer)
        if words[0] == "last":
            return today - timedelta(days=(today.weekday() - wd - 1) % 7 + 1)
        return _monday(today) + timedelta(days=wd + (7 if words[0] == "next" else 0))
    if len(words) >= 3 and _weekday(words[0]) is not None and _NAMED_MONTH.match(" ".join(words[1:])):
        return _read(" ".join(words[1:]), today, prefer)  # "fri 26 mar": the date decides
    named = _NAMED_MONTH.match(text)
    if named:
        day_s, month_s = (named.group(1), named.group(2)) if named.group(1) else (named.group(4), named.group(3))
        month = _month(month_s)
        if month is not None:
            return _month_day(month, int(day_s), int(named.group(5)) if named.group(5) else None, today, prefer)
    return None


def _normal(text: str) -> str:
    return " ".join(text.strip().lower().replace(",", " , ").split()).replace(" ,", ",")


def _suggestion(text: str, today: date, prefer: Prefer) -> str:
    """A phrase close to ``text`` that does read, else ``next friday``; quoted with the ISO date it means."""
    words: list[str] = []
    for w in text.split():
        close = difflib.get_close_matches(w, _VOCABULARY, n=1, cutoff=0.6) if not w.isdigit() else []
        w = close[0] if close else w
        if w in ("day", "week") and words and (_count(words[-1]) or 1) > 1:
            w += "s"
        words.append(w)
    fixed = " ".join(words)
    if fixed != text and (day := _read(fixed, today, prefer)) is not None:
        return f'try "{fixed}" or {day.isoformat()}'
    example = _read("next friday", today, prefer) or today
    return f'try "tomorrow", "next friday" or {example.isoformat()}'


def looks_like_date(text: str) -> bool:
    """Whether ``text`` seems meant as a date (a digit, or a word close to one a date is made of), so a command
    that finds a date optional refuses it when unreadable instead of taking it as ordinary words."""
    words = _normal(text).split()
    return any(any(c.isdigit() for c in w) or w in _VAGUE or difflib.get_close_matches(w, _DATE_WORDS, n=1, cutoff=0.75)
               for w in words)


def parse_day(text: str, today: date, prefer: Prefer = "future") -> date:
    """The date ``text`` names, seen from ``today`` (the speaker's local date); ``DateInputError`` says why not."""
    normal = _normal(text)
    day = _read(normal, today, prefer) if normal else None
    if day is None:
        raise DateInputError(f'I can\'t read "{text.strip()}" as a date — {_suggestion(normal, today, prefer)}.')
    return day


def _yearless(text: str) -> bool:
    named = _NAMED_MONTH.match(text)
    return bool(_MONTH_DAY.match(text)) or (named is not None and not named.group(5))


def parse_span(text: str, today: date) -> DateRange:
    """A range of days: ``2027-03-01..2027-03-05``, ``friday to next tuesday``, ``until friday``,
    ``next week`` (its Monday to Sunday), or one day. Both ends are inclusive."""
    normal = _normal(text)
    if normal in ("next week", "this week"):
        first = _read(normal, today, "future")
        assert first is not None
        return DateRange(max(first, today), first + timedelta(days=6))
    if normal.startswith("until ") or normal.startswith("till "):
        first, last = today, parse_day(normal.split(" ", 1)[1], today)
    else:
        parts = re.split(r"\s*\.\.\s*|\s+to\s+|\s+until\s+", normal.removeprefix("from "), maxsplit=1)
        if len(parts) == 2:
            first = parse_day(parts[0], today)
            # an end without its year ("2027-04-01..04-05") is the first such day from the start on
            last = parse_day(parts[1], first if _yearless(parts[1]) else today)
            if last < first:  # "friday to monday": the end counts from the start
                last = parse_day(parts[1], first)
        else:
            first = last = parse_day(normal, today)
    if last < first:
        raise DateInputError(f'"{text.strip()}" ends before it starts ({last.isoformat()} is before '
                             f"{first.isoformat()}); write the earlier date first.")
    return DateRange(first, last)


MAX_AWAY_DAYS = 366
"""The longest out-of-office range, in days: a year. Anything longer is far more often a mistyped year
(``2027-04-01..2028-04-05``) than a real absence; someone away longer is better taken off the stand-up."""

_STARTS_WITH_YEAR = re.compile(r"^\s*\d{4}-\d{1,2}-\d{1,2}")


def read_ooo(text: str, today: date | None) -> DateRange:
    """One out-of-office range as ``/meridian ooo`` and the team file's ``ooo:`` take it.

    ``today`` is the speaker's date; a team file has none (``None``), so there a range starts with a full
    date (``2027-04-01..04-05``, ``2027-04-01 to 2027-04-09``) and words like ``next week`` are refused.
    Refused too: a range that ends before it starts, and one longer than ``MAX_AWAY_DAYS``."""
    if today is None:
        start = _STARTS_WITH_YEAR.match(text)
        if start is None:
            raise DateInputError(f'"{text.strip()}" is not a date range; in the team file write the dates, '
                                 "like 2027-04-01..2027-04-05.")
        today = parse_day(start.group(0), date.min)
    span = parse_span(text, today)
    if span.days > MAX_AWAY_DAYS:
        raise DateInputError(f'"{text.strip()}" is {span.days} days long ({span}); out of office is at most a '
                             f"year ({MAX_AWAY_DAYS} days) — check the years.")
    return span


def join_ooo(ranges: tuple[DateRange, ...], new: DateRange) -> tuple[tuple[DateRange, ...], list[DateRange]]:
    """``ranges`` with ``new`` added, in date order; ranges it overlaps or touches become one with it.
    Returns the ranges and those of the old ones that were joined (to tell the person)."""
    joined = [r for r in ranges if r.first <= new.last + timedelta(days=1) and new.first <= r.last + timedelta(days=1)]
    first = min([new.first, *(r.first for r in joined)])
    last = max([new.last, *(r.last for r in joined)])
    kept = [r for r in ranges if r not in joined]
    return tuple(sorted([*kept, DateRange(first, last)], key=lambda r: r.first)), joined


def drop_ooo(ranges: tuple[DateRange, ...], gone: DateRange) -> tuple[DateRange, ...]:
    """``ranges`` without the days of ``gone``: a range it covers goes, one it cuts into is shortened or split."""
    left: list[DateRange] = []
    for r in ranges:
        if gone.last < r.first or r.last < gone.first:
            left.append(r)
            continue
        if r.first < gone.first:
            left.append(DateRange(r.first, gone.first - timedelta(days=1)))
        if gone.last < r.last:
            left.append(DateRange(gone.last + timedelta(days=1), r.last))
    return tuple(left)
