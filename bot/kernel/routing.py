"""Routing: whom something is over to right now, on each person's own clock.

A drift alert, a blocker that names an activity, a RACI lookup: each concerns some people.
Meridian pings those who can answer now (in their working hours and not away) and names the
others without a ping, saying why (``away — holiday: Diwali``, ``off hours, 03:10 in Kolkata``):
the reader still sees whose the thing is, and nobody is pinged in their night or on holiday.

A member may name a ``delegate`` (team file): while the member is away, their routed work goes
to that person, and the message says so (``Ravi (standing in for Noor, away until Mon 5 Apr)``).
A delegate who is away themselves does not stand in; delegation does not chain (the team file
refuses cycles, and one hop keeps the message readable).

An urgent thing (an Alertmanager alert labelled ``severity: critical``) pings whoever is not
away, in working hours or not: that is what urgent means. Away is never overridden: a person
on holiday is not paged through Meridian; their delegate is.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING

from bot.kernel.domain import Member, weekday_name
from bot.kernel.messages import Inline, Mention
from bot.kernel.timekeeping import place_of

if TYPE_CHECKING:
    from bot.kernel.app import Meridian


@dataclass(frozen=True)
class Presence:
    """Where a person's day is at one instant."""

    local: datetime
    place: str
    in_hours: bool
    workday: bool
    away: str | None
    """Why they are away today, as the team reads it (``Member.away_reason``), or ``None``."""

    @property
    def rank(self) -> int:
        """0 for people who can answer now, 1 for off hours, 2 for away: who to ask first."""
        return 2 if self.away is not None else 0 if self.in_hours else 1

    @property
    def clock(self) -> str:
        return f"{self.local:%H:%M} in {self.place}"

    def label(self) -> str:
        """A holder's status in a RACI lookup: ``🟢 in hours, 14:20 in Berlin``."""
        if self.away is not None:
            return f"🏝️ {self.away}, {self.clock}"
        if self.in_hours:
            return f"🟢 in hours, {self.clock}"
        if not self.workday:
            return f"🌙 {self.local:%a} {self.clock}, not a workday"
        return f"🌙 {self.clock}"

    def why_not_now(self) -> str:
        """Why a mention of this person is not a ping: ``away — holiday: Diwali``, ``off hours, 03:10 in Kolkata``."""
        if self.away is not None:
            return f"away — {self.away}"
        if not self.workday:
            return f"day off, {self.local:%a} {self.clock}"
        return f"off hours, {self.clock}"

    def away_briefly(self) -> str:
        """The away reason after a delegate's name: ``away until Mon 5 Apr``, ``away — holiday: Diwali``."""
        reason = self.away or ""
        if reason == "out of office":
            return "away today"
        if reason.startswith("out of office"):
            return "away" + reason[len("out of office"):]
        return f"away — {reason}"


def presence(member: Member, now: datetime) -> Presence:
    local = member.local(now)
    today = local.date()
    away = member.away_reason(today)
    workday = weekday_name(today) in member.workdays
    in_hours = away is None and workday and member.hours.contains(local.time())
    return Presence(local, place_of(member.tz), in_hours, workday, away)


@dataclass(frozen=True)
class Routed:
    """One person a thing is routed to, whether they are pinged, and whom they stand in for."""

    member: Member
    roles: tuple[str, ...]
    """The roles they hold in the thing (``R``, ``A``, ``owner`` …), their own and the ones they stand in for."""
    presence: Presence
    ping: bool
    standing_in_for: tuple[tuple[Member, Presence], ...] = ()

    def note(self) -> str:
        """What follows the name: whom they stand in for, or why there is no ping (empty for a plain ping)."""
        parts = [f"standing in for {m.name}, {p.away_briefly()}" for m, p in self.standing_in_for]
        if not self.ping:
            parts.append(self.presence.why_not_now())
        elif not self.presence.in_hours:
            parts.append(f"urgent, {self.presence.clock}")
        return "; ".join(parts)

    def name(self) -> Inline:
        """A ping (``Mention``) when they can answer now, else their name as plain text."""
        return Mention(self.member.id, self.member.name) if self.ping else self.member.name

    def inlines(self) -> tuple[Inline, ...]:
        """The name and, in brackets, the note: ``Ravi (standing in for Noor, away until Mon 5 Apr)``."""
        note = self.note()
        return (self.name(), f" ({note})") if note else (self.name(),)


@dataclass(frozen=True)
class Routing:
    """Everyone a thing concerns, in the order given; a delegate follows the person they stand in for."""

    people: tuple[Routed, ...]

    @property
    def pinged(self) -> list[Routed]:
        return [r for r in self.people if r.ping]

    @property
    def listed(self) -> list[Routed]:
        """Named without a ping: away, or outside their working hours."""
        return [r for r in self.people if not r.ping]

    def of(self, member_id: str) -> Routed | None:
        return next((r for r in self.people if r.member.id == member_id), None)

    def by_presence(self) -> list[Routed]:
        """Who to ask first: those who can answer now, then off hours, then away (a stable sort)."""
        return sorted(self.people, key=lambda r: (not r.ping, r.presence.rank))


def named(people: Iterable[Routed], roles: bool = False) -> tuple[Inline, ...]:
    """People as a message names them: ``<@alice>, Noor (away — holiday: Diwali), <@ravi> (standing in for Noor, …)``.

    With ``roles``, each name is followed by the roles they hold in brackets (``Ravi (R, A)``)."""
    parts: list[Inline] = []
    for i, r in enumerate(people):
        if i:
            parts.append(", ")
        parts.append(r.name())
        bracket = [", ".join(r.roles)] if roles and r.roles else []
        note = r.note()
        if note:
            bracket.append(note)
        if bracket:
            parts.append(f" ({'; '.join(bracket)})")
    return tuple(parts)


Lookup = Callable[[str], Member | None]
"""A member by id in the same workspace (the store's ``get_member``), for finding delegates."""


def route(concerned: Iterable[tuple[Member, str]], now: datetime, lookup: Lookup,
          urgent: bool = False) -> Routing:
    """Whom to ping about a thing and whom to name without a ping (see the module's docstring).

    ``concerned`` is each person with their role in the thing (``""`` for none); a person named
    twice (Accountable and Responsible) appears once with both roles.
    """
    order: list[str] = []
    members: dict[str, Member] = {}
    roles: dict[str, list[str]] = {}
    stand_ins: dict[str, list[tuple[Member, Presence]]] = {}
    seen: dict[str, Presence] = {}

    def add(member: Member, role: str, after: str | None = None) -> None:
        if member.id not in members:
            members[member.id] = member
            roles[member.id] = []
            if after is None:
                order.append(member.id)
            else:
                order.insert(order.index(after) + 1, member.id)
        if role and role not in roles[member.id]:
            roles[member.id].append(role)

    def presence_of(member: Member) -> Presence:
        if member.id not in seen:
            seen[member.id] = presence(member, now)
        return seen[member.id]

    concerned = list(concerned)
    for member, role in concerned:
        add(member, role)
    for member, role in concerned:
        here = presence_of(member)
        if here.away is None or member.delegate is None:
            continue
        delegate = lookup(member.delegate)
        if delegate is None or delegate.id == member.id or presence_of(delegate).away is not None:
            continue
        add(delegate, role, after=member.id)
        if (member, here) not in stand_ins.setdefault(delegate.id, []):
            stand_ins[delegate.id].append((member, here))

    people: list[Routed] = []
    for member_id in order:
        member = members[member_id]
        here = presence_of(member)
        ping = here.away is None and (here.in_hours or urgent)
        people.append(Routed(member, tuple(roles[member_id]), here, ping, tuple(stand_ins.get(member_id, ()))))
    return Routing(tuple(people))


def forget_delegate(app: Meridian, workspace: str, member_id: str) -> dict[str, int]:
    """``forget-me``: nobody keeps the forgotten person as their delegate (their id goes with them)."""
    naming = [m for m in app.store.list_members(workspace) if m.delegate == member_id]
    if naming:
        app.store.upsert_members([replace(m, delegate=None) for m in naming])
    return {"delegations": len(naming)} if naming else {}


def merge_delegate(app: Meridian, workspace: str, old: str, new: str) -> None:
    """Two members who were one person: whoever delegated to ``old`` now delegates to ``new`` (never to themselves)."""
    naming = [m for m in app.store.list_members(workspace) if m.delegate == old]
    if naming:
        app.store.upsert_members([replace(m, delegate=None if m.id == new else new) for m in naming])


class Delegates:
    """Keeps delegates pointing at members: a forgotten one is dropped, a merged one follows the merge."""

    name = "delegates"

    def install(self, app: Meridian) -> None:
        app.on_forget(lambda workspace, member_id: forget_delegate(app, workspace, member_id))
        app.on_merge(lambda workspace, old, new: merge_delegate(app, workspace, old, new))
