"""Who is there for a retro occurrence, and when a member is told about it a day ahead.

A member is *absent* from an occurrence when they are away (out of office, a public
holiday: ``Member.is_away``) on the local date its meeting starts for them. An absent
member gets no reminder for it, carries no burden for it, and the slot is chosen for
those present (``bot.retros.burden``). A published slot never moves: someone who marks
time off for it afterwards keeps the slot, loses its reminders and is not charged.

The day-ahead notice respects the member's clock: it goes 24 hours before the meeting
when that falls in their working hours on a day they work, else in the last working
hours they have on a day before the meeting's (the last hour of them), so a Monday
07:00 meeting is announced on Friday afternoon rather than at 07:00 on Sunday.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta

from bot.kernel.domain import Member
from bot.kernel.quiet import is_quiet
from bot.kernel.timekeeping import at_local, local_date
from bot.retros.model import Occurrence

DAY_AHEAD = timedelta(hours=24)
LOOK_BACK_DAYS = 14
"""How far before the meeting a day-ahead notice looks for the member's last working hours."""
LAST_HOUR = timedelta(hours=1)
QUIET_STEP = timedelta(minutes=30)


def is_absent(m: Member, occ: Occurrence) -> bool:
    """Away on the local date the occurrence's meeting starts for this member (an async round has no such day)."""
    return occ.start is not None and m.is_away(local_date(occ.start, m.tz))


def present(members: Iterable[Member], occ: Occurrence) -> list[Member]:
    return [m for m in members if not is_absent(m, occ)]


def away_days(m: Member, days: Iterable[date]) -> frozenset[date]:
    """The member's away dates among the local dates a meeting on each UTC date of ``days`` can fall on."""
    near = {d + timedelta(days=k) for d in days for k in (-1, 0, 1)}
    return frozenset(d for d in near if m.is_away(d))


def why_away(m: Member, day: date) -> str:
    """A few words on why the member is away that day (for the admins' note): the kernel's one reason."""
    return m.away_reason(day) or "away"


def in_working_hours(m: Member, at: datetime) -> bool:
    """Within the member's hours on a day they work and are not away (a shift past midnight belongs to the day
    it started)."""
    local = at.astimezone(m.zone)
    moment = local.time().replace(tzinfo=None)
    if not m.hours.contains(moment):
        return False
    day = local.date()
    if m.hours.start > m.hours.end and moment < m.hours.end:
        day -= timedelta(days=1)
    return m.works_on(day)


def _shift(m: Member, day: date) -> tuple[datetime, datetime]:
    """The member's working hours on a local date, as instants."""
    opens = at_local(day, m.hours.start, m.tz)
    ends_on = day + timedelta(days=1) if m.hours.end <= m.hours.start else day
    return opens, at_local(ends_on, m.hours.end, m.tz)


def day_ahead_notice(m: Member, start: datetime) -> datetime:
    """When the member's day-ahead notice of a meeting starting at ``start`` goes out (see the module docstring).

    With no working day in the fortnight before the meeting (a long absence ending that day) it stays at
    24 hours before.
    """
    exact = start - DAY_AHEAD
    if in_working_hours(m, exact) and not is_quiet(m, exact):
        return exact
    meeting_day = local_date(start, m.tz)
    for back in range(1, LOOK_BACK_DAYS + 1):
        day = meeting_day - timedelta(days=back)
        if not m.works_on(day):
            continue
        opens, closes = _shift(m, day)
        if closes <= start:
            # the last hour of that shift, or the latest half hour of it outside their quiet hours (working hours
            # may reach into the night they set); a shift that is all quiet (a night shift under the default
            # night) keeps its last hour: the hours they work are when they read
            last = max(opens, closes - LAST_HOUR)
            at = last
            while is_quiet(m, at) and at - QUIET_STEP >= opens:
                at -= QUIET_STEP
            return at if not is_quiet(m, at) else last
    return exact
