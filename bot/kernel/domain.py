"""Domain types shared by every capability.

Plain frozen dataclasses: they know nothing of storage or chat platforms. A person's
wall-clock time is always (IANA zone, local time); instants are aware UTC datetimes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from bot.kernel.calendars import HolidayCalendar


@cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WORKWEEK: frozenset[str] = frozenset(WEEKDAYS[:5])

DEFAULT_QUESTIONS: tuple[str, ...] = (
    "What did you get done since last time?",
    "What will you do next?",
    "Anything blocking you?",
)


def in_week_order(days: Iterable[str]) -> list[str]:
    """Day names as a week runs (mon, tue, … sun), whatever order a set holds them in."""
    held = set(days)
    return [d for d in WEEKDAYS if d in held]


def weekday_name(day: date) -> str:
    return WEEKDAYS[day.weekday()]


@dataclass(frozen=True)
class Hours:
    """Working hours in the member's own zone."""

    start: time = time(9, 0)
    end: time = time(17, 0)

    def contains(self, moment: time) -> bool:
        if self.start <= self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


QUIET = Hours(time(22, 0), time(6, 0))
"""The default night: no DM Meridian starts lands between 22:00 and 06:00 a person's time."""


@dataclass(frozen=True)
class DateRange:
    """An inclusive range of local dates (out of office)."""

    first: date
    last: date

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.first <= day <= self.last

    def __str__(self) -> str:
        return f"{self.first.isoformat()}..{self.last.isoformat()}"

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1


def short_day(day: date, seen_from: date | None = None) -> str:
    """``Mon 5 Apr``, with the year when it is not the year of ``seen_from`` (``Sat 2 Jan 2027``)."""
    text = f"{day:%a} {day.day} {day:%b}"
    return text if seen_from is None or seen_from.year == day.year else f"{text} {day.year}"


@dataclass(frozen=True)
class StatusAway:
    """Out of office because the person's chat status says so (Slack: ``:palm_tree:`` "Vacation").

    ``since`` is the member's local date it was first seen; ``until`` the instant the platform
    clears it, or the instant it was seen cleared (``None``: the person set no expiry, and it
    lasts while it is set, at most ``STATUS_LONGEST``). A day counts as away when the status still holds at the end of that
    day's working hours: a 30-minute vacation emoji does not make a day off, "Today" does.
    """

    emoji: str
    """As people see it (``🌴``, or Slack's ``:name:`` for an emoji the adapter cannot show otherwise)."""
    text: str
    since: date
    until: datetime | None = None
    platform: str = ""
    """Where it was set (``slack``), named in the reason people read."""

    def last_day(self) -> date:
        """The last local date a status without an expiry can cover (the out-of-office limit)."""
        return self.since + STATUS_LONGEST

    def label(self) -> str:
        """``:palm_tree: Vacation``: what the person set, as they set it."""
        return " ".join(part for part in (self.emoji, self.text) if part)


STATUS_LONGEST = timedelta(days=365)
"""A status without an expiry counts for at most a year after it was first seen (366 days, the ``ooo`` limit)."""


@dataclass(frozen=True)
class Member:
    workspace: str
    id: str
    name: str
    tz: str = "UTC"
    hours: Hours = field(default_factory=Hours)
    workdays: frozenset[str] = WORKWEEK
    ooo: tuple[DateRange, ...] = ()
    quiet: Hours = QUIET
    """The member's night in their own zone: Meridian starts no DM then (``bot.kernel.quiet``)."""
    holidays: HolidayCalendar | None = None
    """The public holidays and team days off this member does not work (``None``: none)."""
    accounts: dict[str, str] = field(default_factory=dict, hash=False, compare=False)
    is_admin: bool = False
    owner_of: tuple[str, ...] = ()
    status_away: tuple[StatusAway, ...] = ()
    """Out of office as the person's chat status said (``bot.kernel.status``), oldest first; the last may still
    hold. Ended ones stay, so past days stay excused. Kept by the platform, never by the team file."""
    status_ooo: bool = True
    """Whether a vacation or sick status counts as out of office (``/meridian status-ooo off`` turns it off)."""
    delegate: str | None = None
    """The member id of who takes this member's routed work (pings, escalations) while they are away."""

    @property
    def zone(self) -> ZoneInfo:
        return _zone(self.tz)

    def local(self, instant: datetime) -> datetime:
        return instant.astimezone(self.zone)

    def is_away(self, day: date) -> bool:
        """Out of office, or a holiday of the member's calendar, on their local date ``day`` (what
        ``away_reason`` gives a reason for; asked by every planner, so no text is built here)."""
        if any(r.first <= day <= r.last for r in self.ooo):
            return True
        if any(self._status_holds(s, day) for s in self.status_away):
            return True
        return self.holidays is not None and self.holidays.holiday(day) is not None

    def works_on(self, day: date) -> bool:
        """One of their workdays, and neither out of office nor a holiday."""
        return weekday_name(day) in self.workdays and not self.is_away(day)

    def away_reason(self, day: date) -> str | None:
        """Why the member is away on ``day`` as the team reads it (``out of office until Mon 5 Apr``,
        ``holiday: Diwali``), or ``None`` when they are not. Their own out-of-office comes first: it
        says when they are back."""
        for r in self.ooo:
            if day in r:
                return f"out of office until {short_day(r.last, day)}" if r.last > day else "out of office"
        for status in reversed(self.status_away):
            if self._status_holds(status, day):
                return self._status_reason(status, day)
        name = self.holidays.holiday(day) if self.holidays is not None else None
        return f"holiday: {name}" if name is not None else None

    def _status_holds(self, status: StatusAway, day: date) -> bool:
        if day < status.since:
            return False
        if status.until is None:
            return day <= status.last_day()
        end = datetime.combine(day, self.hours.end, self.zone)
        if self.hours.end <= self.hours.start:  # hours that run past midnight end the next day
            end = datetime.combine(day + timedelta(days=1), self.hours.end, self.zone)
        return status.until >= end

    def _status_reason(self, status: StatusAway, day: date) -> str:
        """``out of office until Fri 9 Apr — Slack status 🌴 Vacation`` (until the last day it covers); no
        parentheses, as reports put the reason in them after the name."""
        where = f"{status.platform.capitalize()} status" if status.platform else "status"
        said = f"{where} {status.label()}".rstrip()
        if status.until is None:
            return f"out of office — {said}"
        last = self.local(status.until).date()
        if not self._status_holds(status, last):
            last -= timedelta(days=1)
        return f"out of office until {short_day(last, day)} — {said}" if last > day else f"out of office — {said}"

    def account(self, platform: str) -> str:
        """The member's id on another system; the member id itself when none is mapped."""
        return self.accounts.get(platform, self.id)


@dataclass(frozen=True)
class Standup:
    workspace: str
    name: str
    channel: str
    remind_at: time = time(9, 30)
    days: frozenset[str] = WORKWEEK
    members: tuple[str, ...] | None = None
    """Member ids, or ``None`` for everyone in the workspace."""
    questions: tuple[str, ...] = DEFAULT_QUESTIONS
    nudge_after: timedelta = timedelta(hours=2)
    cutoff: time | None = None
    """Each member's local cut-off; ``None`` means the end of their working hours."""
    tz: str = "UTC"
    """The zone in which channel events (the summary) are shown."""
    paused: bool = False
    mention_missing: bool = False
    escalate_after: int = 2
    """Working days a blocker may stay open before its escalation is posted in the thread; 0 for never."""

    def includes(self, member: Member) -> bool:
        return self.members is None or member.id in self.members

    def blocker_question(self) -> int | None:
        """Index of the question whose answers are blockers (the one that mentions blocking)."""
        for i, q in enumerate(self.questions):
            if "block" in q.lower():
                return i
        return None


@dataclass(frozen=True)
class Workspace:
    id: str
    platform: str = "console"
    name: str = ""
    tz: str = "UTC"
