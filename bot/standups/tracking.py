"""Blockers as items with a state, from the answer that names one to the press that resolves it.

A blocker answer (a confirmed one, or a possible one while its author has not said) opens an
item for its author and stand-up. While it is open, each later answer that names a blocker
carries it on (its text follows the newest answer), and a day the author does not answer
carries it on too: the report shows it as *day N*, N counted over the author's own stand-up
days, so a weekend, a holiday or a day off does not age it. It ends when anyone in the
workspace presses **Resolved** (on the report, the answer in the thread, or the author's DM),
or when the author's next answer says nothing is in the way; who ended it, how and when is
kept with every other press (the item's log).

The items live under the author's key prefix (``member:ID:``), so ``forget-me`` takes them
with the person and a merge moves them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot.kernel.domain import Member, Standup
from bot.kernel.messages import Actions, Button
from bot.kernel.ports import StandupRun
from bot.kernel.timekeeping import is_standup_day, local_date
from bot.standups.blockers import blocker_text, verdict_of

if TYPE_CHECKING:
    from bot.kernel.app import Meridian

ITEM_PREFIX = "standup.blocker-item."
RESOLVE, STILL = f"{ITEM_PREFIX}resolve", f"{ITEM_PREFIX}still"
KEEP_RESOLVED = timedelta(days=90)
"""How long a resolved blocker is kept after it ended: long enough for every report that shows it."""
MAX_AGE_DAYS = 400


def items_key(member: str, standup: str) -> str:
    return f"member:{member}:blocker-items:{standup}"


@dataclass
class TrackedBlocker:
    """One blocker of one person in one stand-up, from the first day an answer named it."""

    member: str
    since: date
    text: str
    days: list[date]
    """The days whose answers named it, in order."""
    resolved_by: str | None = None
    resolved_name: str = ""
    resolved_at: datetime | None = None
    resolved_how: str = ""
    """``button`` (someone pressed Resolved) or ``answer`` (the author's next answer named no blocker)."""
    escalated_on: date | None = None
    log: list[dict[str, str]] = field(default_factory=list)
    """Every press and change: ``{"at", "who", "name", "what"}``, oldest first."""

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None

    def ended_on(self, tz: str) -> date | None:
        return local_date(self.resolved_at, tz) if self.resolved_at is not None else None

    def covers(self, day: date, tz: str) -> bool:
        """Whether the report of ``day`` shows it: named that day, or open (or ending) on it since it began."""
        if day < self.since:
            return False
        if day in self.days:
            return True
        ended = self.ended_on(tz)
        return ended is None or day <= ended

    def note(self, when: datetime, who: Member | None, what: str) -> None:
        self.log.append({"at": when.isoformat(), "who": who.id if who else "", "name": who.name if who else "",
                         "what": what})

    def value(self, standup: str) -> str:
        """What its buttons carry: enough to find it again after a restart."""
        return f"{standup}|{self.member}|{self.since.isoformat()}"

    def to_json(self) -> dict[str, Any]:
        return {"member": self.member, "since": self.since.isoformat(), "text": self.text,
                "days": [d.isoformat() for d in self.days], "resolved_by": self.resolved_by,
                "resolved_name": self.resolved_name,
                "resolved_at": self.resolved_at.isoformat() if self.resolved_at else None,
                "resolved_how": self.resolved_how,
                "escalated_on": self.escalated_on.isoformat() if self.escalated_on else None, "log": self.log}

    @staticmethod
    def from_json(raw: dict[str, Any]) -> TrackedBlocker:
        return TrackedBlocker(
            member=raw["member"], since=date.fromisoformat(raw["since"]), text=raw.get("text", ""),
            days=[date.fromisoformat(d) for d in raw.get("days", [])], resolved_by=raw.get("resolved_by"),
            resolved_name=raw.get("resolved_name", ""),
            resolved_at=datetime.fromisoformat(raw["resolved_at"]) if raw.get("resolved_at") else None,
            resolved_how=raw.get("resolved_how", ""),
            escalated_on=date.fromisoformat(raw["escalated_on"]) if raw.get("escalated_on") else None,
            log=list(raw.get("log", [])))


def load(app: Meridian, s: Standup, member: str) -> list[TrackedBlocker]:
    raw = app.store.kv_get(s.workspace, items_key(member, s.name))
    if not isinstance(raw, dict):
        return []
    # The key says whose they are (a merge moves the key; the id kept inside may be the old one).
    return [TrackedBlocker.from_json({**x, "member": member}) for x in raw.get("items", [])]


def save(app: Meridian, s: Standup, member: str, items: list[TrackedBlocker]) -> None:
    now = app.now()
    kept = [i for i in items if i.resolved_at is None or now - i.resolved_at <= KEEP_RESOLVED]
    app.store.kv_set(s.workspace, items_key(member, s.name), {"items": [i.to_json() for i in kept]})


def covering(app: Meridian, s: Standup, member: str, day: date) -> TrackedBlocker | None:
    """The blocker the report of ``day`` shows for ``member`` (the newest, when one ended and another began)."""
    return next((i for i in reversed(load(app, s, member)) if i.covers(day, s.tz)), None)


def find(app: Meridian, s: Standup, member: str, since: date) -> tuple[list[TrackedBlocker], TrackedBlocker | None]:
    items = load(app, s, member)
    return items, next((i for i in items if i.since == since), None)


def open_items(app: Meridian, s: Standup, member: str) -> list[TrackedBlocker]:
    return [i for i in load(app, s, member) if i.is_open]


def day_number(m: Member, s: Standup, item: TrackedBlocker, day: date) -> int:
    """Which of the author's stand-up days ``day`` is for the blocker: 1 on the day it was first named."""
    n, d = 1, item.since + timedelta(days=1)
    for _ in range(MAX_AGE_DAYS):
        if d > day:
            break
        n += is_standup_day(m, s, d)
        d += timedelta(days=1)
    return n


def track(app: Meridian, s: Standup, m: Member, run: StandupRun) -> TrackedBlocker | None:
    """Bring the author's blockers up to date with the answer just saved (or confirmed); the item it names.

    A blocker answer carries the open item on (or opens one); an answer naming none ends the open
    item that began on an earlier day (the author says it is gone) and takes an edited-away day off
    the item that named it.
    """
    items = load(app, s, m.id)
    verdict = verdict_of(app, s, run)
    text = blocker_text(s, run)
    now = app.now()
    day = run.day
    if verdict != "none":
        named = next((i for i in reversed(items) if day in i.days), None)
        current = named or next((i for i in reversed(items) if i.is_open and i.since <= day), None)
        if current is None:
            current = TrackedBlocker(m.id, day, text, [day])
            current.note(now, m, "named")
            items.append(current)
        else:
            if day not in current.days:
                current.days = sorted([*current.days, day])
            if day >= current.days[-1]:
                current.text = text
        save(app, s, m.id, items)
        return current
    for item in [i for i in items if day in i.days]:
        item.days.remove(day)
        if not item.days:
            items.remove(item)  # the only answer that named it now says nothing is in the way
    for item in items:
        if item.is_open and item.since < day:
            item.resolved_by, item.resolved_name, item.resolved_at, item.resolved_how = m.id, m.name, now, "answer"
            item.note(now, m, f"resolved by the answer for {day.isoformat()}")
    save(app, s, m.id, items)
    return None


def resolve_actions(s: Standup, item: TrackedBlocker) -> Actions:
    """The **Resolved** button, wherever the blocker is shown."""
    return Actions((Button("Resolved", RESOLVE, item.value(s.name), "primary"),))
