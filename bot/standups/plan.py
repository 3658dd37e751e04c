"""The planner: every reminder, nudge and summary of the active stand-ups in a window of time."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from bot.kernel.domain import Member
from bot.kernel.ports import DueItem
from bot.kernel.timekeeping import is_standup_day, local_date, reminder_at
from bot.standups.model import standup_key, summary_at

if TYPE_CHECKING:
    from bot.kernel.app import Meridian


def local_days(tz: str, start: datetime, end: datetime) -> list[date]:
    """Every local date in ``tz`` the window touches, and the day before (a reminder may fall on its eve in UTC)."""
    first, last = local_date(start, tz) - timedelta(days=1), local_date(end, tz)
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def plan_standups(app: Meridian, start: datetime, end: datetime) -> list[DueItem]:
    """Every reminder, nudge and summary of every active stand-up that falls in [start, end)."""
    items: list[DueItem] = []
    people: dict[str, list[Member]] = {}
    for s in app.store.list_standups():
        if s.paused:
            continue
        if s.workspace not in people:
            people[s.workspace] = app.store.list_members(s.workspace)
        members = [m for m in people[s.workspace] if s.includes(m)]
        summary_days: set[date] = set()
        for m in members:
            for day in local_days(m.tz, start, end):
                if not is_standup_day(m, s, day):
                    continue
                payload = {"standup": s.name, "member": m.id, "day": day.isoformat()}
                at = reminder_at(m, s, day)
                if start <= at < end:
                    items.append(DueItem(standup_key(s, "reminder", m.id, day), "standup.reminder", s.workspace, at,
                                         payload))
                nudge = at + s.nudge_after
                if s.nudge_after > timedelta(0) and start <= nudge < end:
                    items.append(DueItem(standup_key(s, "nudge", m.id, day), "standup.nudge", s.workspace, nudge,
                                         payload))
                summary_days.add(day)
        for day in summary_days:
            at_ = summary_at(members, s, day)
            if at_ is not None and start <= at_ < end:
                items.append(DueItem(standup_key(s, "summary", day), "standup.summary", s.workspace, at_,
                                     {"standup": s.name, "day": day.isoformat()}))
    return items
