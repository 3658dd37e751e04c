"""Where each person stands on a stand-up day, and whether the day had a stand-up at all.

One set of rules for the summary, ``/standup report`` and ``/standup stats``: a day that was
skipped (``skip today``, or inside a ``skip until`` from the day it was given), a day out of
office, a public holiday of the person's calendar and a day that is not their workday are *excused*: never a miss, never in a
denominator. Someone whose reminder has not gone out yet is *not yet due*, and someone
reminded whose cut-off has not passed is *still open*; only after the cut-off is a silence
*not answered*.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Literal

from bot.kernel.domain import WEEKDAYS, Member, Standup, weekday_name
from bot.kernel.ports import StandupRun
from bot.kernel.timekeeping import cutoff_at, is_standup_day, reminder_at
from bot.standups.model import fmt_day, is_closed, participants, skips_day, summary_at

if TYPE_CHECKING:
    from bot.kernel.app import Meridian

Standing = Literal["answered", "skipped", "away", "not yet due", "open", "not answered"]
EXCUSED: frozenset[Standing] = frozenset({"skipped", "away", "not yet due"})
"""Standings left out of a denominator (the headline, stats)."""

LONG_AGO = date(2000, 1, 1)


def standing(app: Meridian, s: Standup, m: Member, day: date, run: StandupRun | None, now: datetime) -> Standing:
    """Where one person stands on ``day`` at ``now``."""
    if run is not None and run.status == "answered":
        return "answered"
    if (run is not None and run.status == "skipped") or skips_day(app, s, m.id, day):
        return "skipped"
    if (run is not None and run.status == "away") or not is_standup_day(m, s, day):
        return "away"
    reminded = run is not None and run.status == "reminded"
    if not reminded and now < reminder_at(m, s, day):
        return "not yet due"
    if now < cutoff_at(m, s, day) and not is_closed(app, s, day):
        return "open"
    return "not answered"


def why_away(m: Member, day: date) -> str | None:
    """Why someone was away on ``day``, as the report shows it: ``holiday: Australia Day``, ``out of office
    until Mon 5 Apr``, ``not a workday``; ``None`` when no reason is known (stand-ups set up after the day)."""
    reason = m.away_reason(day)
    if reason is None and weekday_name(day) not in m.workdays:
        return "not a workday"
    return reason


@dataclass(frozen=True)
class DayStandings:
    """Everyone's standing on one day, in the team's order."""

    people: list[tuple[Member, Standing, StandupRun | None]]

    def who(self, *kinds: Standing) -> list[Member]:
        return [m for m, k, _ in self.people if k in kinds]

    def counted(self) -> int:
        """The headline's denominator: everyone due that day who was not excused."""
        return sum(1 for _, k, _ in self.people if k not in EXCUSED)


def day_standings(app: Meridian, s: Standup, day: date) -> DayStandings:
    runs = {r.member: r for r in app.store.runs_for_day(s.workspace, s.name, day)}
    now = app.now()
    return DayStandings([(m, standing(app, s, m, day, runs.get(m.id), now), runs.get(m.id))
                         for m in participants(app, s)])


def excluded_note(day: DayStandings) -> str:
    """Who the headline's denominator leaves out, and why: ``Noor skipped; Kenji away``."""
    parts = []
    for kind in ("skipped", "away", "not yet due"):
        names = [m.name for m in day.who(kind)]
        if names:
            parts.append(f"{', '.join(names)} {kind}")
    return "; ".join(parts)


def _days_text(s: Standup) -> str:
    return ", ".join(d for d in WEEKDAYS if d in s.days)


def no_stand_up(app: Meridian, s: Standup, day: date, reader: Member) -> str | None:
    """One line when ``day`` had (or has) no stand-up to report on, else ``None`` (times in ``reader``'s zone)."""
    members = participants(app, s)
    if weekday_name(day) not in s.days:
        return f"There is no {s.name} report for {fmt_day(day)}: {s.name} runs on {_days_text(s)}."
    last_cutoff = summary_at(members, s, day)
    if last_cutoff is None:
        return f"There is no {s.name} report for {fmt_day(day)}: everyone is away that day."
    if is_closed(app, s, day) or app.store.runs_for_day(s.workspace, s.name, day):
        return None
    due = [m for m in members if is_standup_day(m, s, day)]
    first_reminder = min(reminder_at(m, s, day) for m in due)
    if app.now() < first_reminder:
        local = reader.local(first_reminder)
        return (f"{s.name} for {fmt_day(day)} has not started yet: the first reminder goes out "
                f"{local:%a %d %b %H:%M} your time.")
    if s.paused:
        return f"{s.name} is paused, so there was no stand-up on {fmt_day(day)}."
    earlier = app.store.runs_between(s.workspace, s.name, LONG_AGO, day)
    if earlier:
        return f"There was no {s.name} stand-up on {fmt_day(day)}: nobody was reminded that day."
    later = app.store.runs_between(s.workspace, s.name, day, day + timedelta(days=3660))
    began = f": its first day was {fmt_day(min(r.day for r in later))}" if later else ""
    return f"There was no {s.name} stand-up on {fmt_day(day)}{began}."
