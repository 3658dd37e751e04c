"""The rolling plan: which occurrences come next, when each starts, and what it costs whom.

A retro with a meeting repeats (``every: 2w``); the fair rotation (``bot.retros.rotation``)
chooses each occurrence's start so that early, late and night meetings are shared. The
next ``PLAN_AHEAD`` occurrences are planned again whenever the team or the settings
change, and an occurrence is *published* — fixed, and its cost written to the burden
history — once its first reminder or its thread falls inside the scheduler's window. A
member who joins starts at the current lowest burden.

Absence (``bot.retros.presence``) is part of what the plan is a function of: an absent
member is planned at no cost, gets no reminder and is not charged when the occurrence is
published, nor afterwards when they mark the time off later (the ledger is read through
``ledger``, which leaves out what absent members were charged).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import defaultdict
from dataclasses import replace
from datetime import date, datetime, timedelta

from bot.kernel import quiet
from bot.kernel.domain import WEEKDAYS, Member
from bot.kernel.ports import DueItem
from bot.kernel.timekeeping import at_local
from bot.retros import rotation
from bot.retros.burden import EARLY_BEFORE_MINUTE, LATE_FROM_MINUTE
from bot.retros.context import RetroContext, key, notices_key, plan_state_key
from bot.retros.model import BurdenEntry, Occurrence, Retro
from bot.retros.presence import away_days, day_ahead_notice, is_absent, present

log = logging.getLogger("meridian.retros")

PLAN_AHEAD = 6
"""How many occurrences ahead the rotation plans (and ``/retro schedule`` shows)."""
NOTICE_KEPT = timedelta(days=7)
"""How long a re-plan notice waits to be delivered (the bot may be down meanwhile)."""
REMINDERS: tuple[tuple[str, timedelta], ...] = (("24h", timedelta(hours=24)), ("15m", timedelta(minutes=15)))
"""The day-ahead notice (moved into the member's working hours, ``presence.day_ahead_notice``) and the 15-minute
reminder (meeting-bound, at its time)."""
SKIPPED = "skipped"
"""An occurrence an admin called off (``/retro skip``): it keeps its slot, so nothing else moves, and its date,
so the rotation goes on counting from it; it has no thread, no reminders and costs nobody anything."""
ABSENCE_WARNING = timedelta(days=7)
"""How long before a meeting the admins hear that more than half its members are away."""


# --- people ------------------------------------------------------------------------------------
def participants(ctx: RetroContext, r: Retro) -> list[Member]:
    return [m for m in ctx.app.store.list_members(r.workspace) if r.includes(m)]


def rotation_member(m: Member, burden: float = 0.0, away: frozenset[date] = frozenset()) -> rotation.Member:
    return rotation.Member(m.id, m.tz, hours=(m.hours.start, m.hours.end),
                           workdays=frozenset(WEEKDAYS.index(d) for d in m.workdays if d in WEEKDAYS),
                           burden=max(0.0, burden), away=away)


def early_late(m: Member, start: datetime) -> tuple[bool, bool]:
    local = start.astimezone(m.zone)
    minute = local.hour * 60 + local.minute
    return minute < EARLY_BEFORE_MINUTE, minute >= LATE_FROM_MINUTE


# --- the stored plan ----------------------------------------------------------------------------
def _member_snapshot(members: list[Member]) -> dict[str, list[object]]:
    return {m.id: [m.tz, str(m.hours), sorted(m.workdays)] for m in members}


Away = dict[str, frozenset[date]]


def _away(members: list[Member], days: list[date]) -> Away:
    """Each member's away dates around every occurrence of the plan, where they have any.

    Past occurrences count too: a stored past slot is fixed and never re-planned, but where the plan is made
    afresh (a preview from a later date, a store that was empty) the earlier occurrences' absences shape the
    burden the later slots are chosen on, so the same team gives the same slot whatever day it is asked."""
    found = {m.id: away_days(m, days) for m in members}
    return {mid: gone for mid, gone in found.items() if gone}


def _away_snapshot(away: Away) -> dict[str, list[str]]:
    return {mid: sorted(d.isoformat() for d in gone) for mid, gone in sorted(away.items())}


def _time_off_moved(was: dict[str, list[str]], away: Away, days: list[date]) -> list[str]:
    """Members whose time off changed on a date a meeting of ``days`` (the coming occurrences already planned)
    can fall on. Time off elsewhere — days gone by, days not planned yet — changes nothing planned, so time
    passing or the plan growing never re-plans a slot."""
    near = {(d + timedelta(days=k)).isoformat() for d in days for k in (-1, 0, 1)}
    return [mid for mid in sorted(set(was) | set(away))
            if set(was.get(mid, [])) & near != {d.isoformat() for d in away.get(mid, ())} & near]


def _fingerprint(r: Retro, members: list[Member]) -> str:
    """What the plan is a function of, besides the history and time off: the retro's settings and its people."""
    data = {
        "retro": [r.every, r.duration, r.starts.isoformat() if r.starts else None, r.candidates, r.night_cap,
                  int(r.open_before.total_seconds())],
        "members": _member_snapshot(members),
    }
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:24]


def _horizon(r: Retro, now: datetime, through: date | None) -> list[date]:
    """The retro's dates from its first, in whole blocks, far enough to hold ``PLAN_AHEAD`` coming
    occurrences and every one up to ``through``."""
    assert r.starts is not None and r.every is not None
    every = rotation.parse_every(r.every)
    coming = 0
    i = 0
    while i < 5000:
        day = r.starts + every * i
        if day >= now.date() - timedelta(days=1):
            coming += 1
        i += 1
        if coming >= PLAN_AHEAD and (through is None or day > through):
            break
    whole = -(-i // rotation.BLOCK) * rotation.BLOCK
    return [r.starts + every * k for k in range(whole)]


def _starting_burden(ctx: RetroContext, r: Retro, members: list[Member]) -> dict[str, float]:
    """Where each member starts: zero for the founding team; a newcomer starts at the current lowest, once."""
    history = ledger(ctx, r)
    start: dict[str, float] = defaultdict(float)
    for e in history:
        if e.kind == "start":
            start[e.member] += e.penalty
    known = {e.member for e in history}
    if known:
        current: dict[str, float] = defaultdict(float)
        for e in history:
            current[e.member] += e.penalty
        lowest = rotation.starting_burden_for_newcomer({m.id: current[m.id] for m in members if m.id in known})
        newcomers = [BurdenEntry(r.workspace, r.name, m.id, ctx.app.now().date(), "start", lowest)
                     for m in members if m.id not in known]
        ctx.store.add_burden(newcomers)
        for e in newcomers:
            start[e.member] += e.penalty
    return start


def _paid(ctx: RetroContext, r: Retro) -> dict[date, dict[str, float]]:
    """What each published occurrence cost whom, as it was charged when it was published."""
    paid: dict[date, dict[str, float]] = defaultdict(dict)
    for e in ledger(ctx, r):
        if e.kind == "meeting":
            paid[e.day][e.member] = e.penalty
    for o in ctx.store.occurrences(r.workspace, r.name):
        if o.status == SKIPPED:  # called off: it costs nobody anything, published or not
            paid[o.day] = {}
    return paid


def ledger(ctx: RetroContext, r: Retro) -> list[BurdenEntry]:
    """The burden history as it counts: a member absent from a published occurrence (time off marked after it
    was published) is not charged for it, and nobody is charged for one that was skipped. The slot stays; only
    the charge goes."""
    history = ctx.store.burden_history(r.workspace, r.name)
    members = {m.id: m for m in ctx.app.store.list_members(r.workspace)}
    occs = {o.day: o for o in ctx.store.occurrences(r.workspace, r.name)}

    def absent(e: BurdenEntry) -> bool:
        m, occ = members.get(e.member), occs.get(e.day)
        return e.kind == "meeting" and m is not None and occ is not None and (occ.status == SKIPPED
                                                                              or is_absent(m, occ))

    return [replace(e, penalty=0.0, early=False, late=False, night=False) if absent(e) else e for e in history]


def is_coming(occ: Occurrence, now: datetime) -> bool:
    """Open, or planned or closed early and its meeting not over yet: what people are shown and reminded of."""
    return occ.status == "open" or (occ.status in ("planned", "closed") and occ.end > now)


def ensure_plan(ctx: RetroContext, r: Retro, through: date | None = None) -> list[Occurrence]:
    """The coming occurrences (``PLAN_AHEAD`` of them, or all up to ``through``), from the stored plan.

    The stored plan is the one source of truth. It is extended, block by block, with the
    occurrences not planned yet, every stored one kept as it is; so the slot of an
    occurrence depends on the team, the settings and the history, never on the day it is
    asked or on how far ahead. Only a change of the team or the settings plans the
    unpublished coming occurrences again, and that re-plan is announced (``retro.replanned``).
    """
    store, app = ctx.store, ctx.app
    now = app.now()
    if r.is_async:
        assert r.opens is not None and r.closes is not None
        day = r.opens.date()
        occ = store.get_occurrence(r.workspace, r.name, day)
        if occ is None or (occ.status == "planned" and (occ.opens_at, occ.end) != (r.opens, r.closes)):
            occ = Occurrence(r.workspace, r.name, day, None, r.closes, r.opens, published=True,
                             status=occ.status if occ else "planned", thread_id=occ.thread_id if occ else None)
            store.save_occurrence(occ)
        return [occ]
    members = participants(ctx, r)
    existing = {o.day: o for o in store.occurrences(r.workspace, r.name)}
    days = _horizon(r, now, through)
    away = _away(members, days)
    fingerprint = _fingerprint(r, members)
    state = app.store.kv_get(r.workspace, plan_state_key(r)) or {}
    was_away = state.get("away")
    time_off = _time_off_moved(was_away if isinstance(was_away, dict) else {}, away,
                               [d for d in days if d in existing and is_coming(existing[d], now)])
    same = state.get("fingerprint") == fingerprint and not time_off
    if members and not (same and all(d in existing for d in days)):
        _plan(ctx, r, members, days, existing, away, time_off, keep_planned=same, state=state,
              fingerprint=fingerprint)
        existing = {o.day: o for o in store.occurrences(r.workspace, r.name)}
    coming = [existing[d] for d in days if d in existing and is_coming(existing[d], now)]
    return coming if through is not None else coming[:PLAN_AHEAD]


def _plan(ctx: RetroContext, r: Retro, members: list[Member], days: list[date], existing: dict[date, Occurrence],
          away: Away, time_off: list[str], *, keep_planned: bool, state: dict[str, object], fingerprint: str) -> None:
    """Plan ``days``: stored published, past and (unless the inputs changed) planned slots are kept."""
    now = ctx.app.now()
    duration = rotation.parse_duration(r.duration)

    def kept(o: Occurrence) -> bool:
        return o.published or o.status != "planned" or o.end <= now or keep_planned

    fixed = {d: o.start for d, o in existing.items() if d in set(days) and o.start is not None and kept(o)}
    start = _starting_burden(ctx, r, members)
    try:
        plan = rotation.plan_in_blocks([rotation_member(m, start[m.id], away.get(m.id, frozenset()))
                                        for m in members], days, duration,
                                       candidates=list(r.candidates) if r.candidates else None,
                                       fixed=fixed, paid=_paid(ctx, r), night_cap=r.night_cap,
                                       notes_from=now.date())
    except rotation.RotationError as err:
        log.warning("retro %s in %s cannot be planned: %s", r.name, r.workspace, err)
        return
    moved: list[tuple[Occurrence, Occurrence]] = []
    for day, planned in zip(days, plan.occurrences, strict=True):
        old = existing.get(day)
        if day in fixed and old is not None:
            continue
        occ = Occurrence(r.workspace, r.name, day, planned.start_utc, planned.start_utc + duration,
                         planned.start_utc - r.open_before, penalty={k: round(v, 3) for k, v in planned.penalty.items()},
                         night=tuple(sorted(planned.night)))
        ctx.store.save_occurrence(occ)
        if old is not None and is_coming(old, now):
            moved.append((old, occ))
    previous = state.get("members")
    if state.get("fingerprint") and isinstance(previous, dict):
        names = {m.id: m.name or m.id for m in members}
        why = _reasons(previous, members) + [f"{names[mid]}'s time off changed" for mid in time_off if mid in names]
        replanned(ctx, r, previous, members, moved, plan.night_cap_met, why)
    ctx.app.store.kv_set(r.workspace, plan_state_key(r), {
        "fingerprint": fingerprint, "notes": plan.notes, "night_cap_met": plan.night_cap_met,
        "members": _member_snapshot(members), "away": _away_snapshot(away)})


# --- telling people what a re-plan changed -------------------------------------------------------
def _reasons(previous: dict[str, list[object]], members: list[Member]) -> list[str]:
    now = _member_snapshot(members)
    names = {m.id: m.name or m.id for m in members}
    out = [f"{names[mid]} joined" for mid in now if mid not in previous]
    out += ["someone left" for mid in previous if mid not in now][:1]  # a forgotten person is not named
    for mid, (tz, hours, workdays) in now.items():
        if mid in previous:
            was = previous[mid]
            out += [f"{names[mid]}'s {what} changed" for what, a, b in
                    (("time zone", was[0], tz), ("hours", was[1], hours), ("workdays", was[2], workdays)) if a != b]
    return out




def replanned(ctx: RetroContext, r: Retro, previous: dict[str, list[object]], members: list[Member],
              moved: list[tuple[Occurrence, Occurrence]], night_cap_met: bool, why: list[str]) -> None:
    """Record what a re-plan changed, for the channel and for each person whose local time changed (not for
    an occurrence they are absent from: they are not coming).

    The notice is delivered as due work (``retro.replanned``), so it goes through the outbox once.
    """
    slots = [(old, new) for old, new in moved if old.start != new.start]
    people: dict[str, list[list[str]]] = {}
    for m in members:
        if m.id not in previous:
            continue
        was = Member("", "", "", tz=str(previous[m.id][0])).zone
        mine = [[new.day.isoformat(), old.start.isoformat(), new.start.isoformat(), str(previous[m.id][0])]
                for old, new in moved if old.start is not None and new.start is not None and not is_absent(m, new)
                and old.start.astimezone(was).replace(tzinfo=None) != new.start.astimezone(m.zone).replace(tzinfo=None)]
        if mine:
            people[m.id] = mine
    if not slots and not people:
        return
    notices = ctx.app.store.kv_get(r.workspace, notices_key(r)) or []
    notices = [n for n in notices if datetime.fromisoformat(n["at"]) > ctx.app.now() - NOTICE_KEPT]
    # Named by the instant (and its place among that instant's notices): never reused, even after pruning.
    now = ctx.app.now()
    number = f"{now:%Y%m%dT%H%M%SZ}.{sum(n['at'] == now.isoformat() for n in notices) + 1}"
    notices.append({"id": number, "at": now.isoformat(), "why": why or ["the retro's settings changed"],
                    "slots": [[new.day.isoformat(), old.start.isoformat(), new.start.isoformat(), list(new.night)]
                              for old, new in slots if old.start and new.start],
                    "people": people, "night_cap_met": night_cap_met})
    ctx.app.store.kv_set(r.workspace, notices_key(r), notices)
    ctx.app.engine.replan()  # deliver it on the next pass, whoever asked for the plan


def _notice_items(ctx: RetroContext, r: Retro, start: datetime, end: datetime) -> list[DueItem]:
    items = []
    for n in ctx.app.store.kv_get(r.workspace, notices_key(r)) or []:
        at = max(datetime.fromisoformat(n["at"]), start)
        if at < end:
            items.append(DueItem(key(r, "replan", n["id"]), "retro.replanned", r.workspace, at,
                                 {"retro": r.name, "notice": n["id"]}))
    return items


def publish(ctx: RetroContext, r: Retro, occ: Occurrence) -> Occurrence:
    """Fix an occurrence's start and write what it costs each member into the burden history."""
    if occ.published:
        return occ
    occ = replace(occ, published=True)
    ctx.store.save_occurrence(occ)
    if occ.start is not None:
        entries = []
        for m in participants(ctx, r):
            if is_absent(m, occ):  # recorded at nothing, so they stay known to the ledger (not a newcomer)
                entries.append(BurdenEntry(r.workspace, r.name, m.id, occ.day, "meeting", 0.0))
                continue
            early, late = early_late(m, occ.start)
            entries.append(BurdenEntry(r.workspace, r.name, m.id, occ.day, "meeting", occ.penalty.get(m.id, 0.0),
                                       early, late, m.id in occ.night))
        ctx.store.add_burden(entries)
    return occ


def current_round(ctx: RetroContext, r: Retro) -> Occurrence | None:
    return next((o for o in ctx.store.occurrences(r.workspace, r.name) if o.status == "open"), None)


def next_round(ctx: RetroContext, r: Retro) -> Occurrence | None:
    return next((o for o in ensure_plan(ctx, r) if o.status == "planned"), None)


def burden_table(ctx: RetroContext, r: Retro, occs: list[Occurrence]) -> list[tuple[str, float, int, int, int]]:
    """(member, burden, early, late, night): what the planner counts, through the last of ``occs``.

    That is the published history plus every unpublished occurrence of the stored plan up
    to there, those before the team started using the bot included (the rotation counts
    from ``starts``).
    """
    members = participants(ctx, r)
    totals: dict[str, list[float]] = {m.id: [0.0, 0, 0, 0] for m in members}
    for e in ledger(ctx, r):
        if e.member in totals:
            row = totals[e.member]
            row[0] += e.penalty
            row[1] += e.early
            row[2] += e.late
            row[3] += e.night
    last = max((o.day for o in occs), default=None)
    planned = [o for o in ctx.store.occurrences(r.workspace, r.name)
               if last is not None and o.day <= last and not o.published and o.start is not None
               and o.status != SKIPPED]
    for occ in planned:
        assert occ.start is not None
        for m in present(members, occ):
            row = totals[m.id]
            early, late = early_late(m, occ.start)
            row[0] += occ.penalty.get(m.id, 0.0)
            row[1] += early
            row[2] += late
            row[3] += m.id in occ.night
    rows = [(mid, round(v[0], 2), int(v[1]), int(v[2]), int(v[3])) for mid, v in totals.items()]
    return sorted(rows, key=lambda row: (-row[1], row[0]))


# --- what the scheduler runs ---------------------------------------------------------------------
def _events(r: Retro, occ: Occurrence, members: list[Member], start: datetime, now: datetime) -> list[DueItem]:
    """The occurrence's instants. A thread whose lead time passed while nothing was running
    (the bot was down, or first started inside the lead time) opens at once, not at the close."""
    payload = {"retro": r.name, "day": occ.day.isoformat()}
    opens = occ.opens_at if occ.opens_at >= start or occ.status != "planned" else min(max(start, now), occ.end)
    items = [DueItem(key(r, occ.day, "open"), "retro.open", r.workspace, opens, payload)]
    if occ.start is not None:
        for m in present(members, occ):  # an absent member is not reminded of a meeting they are not coming to
            for tag, ahead in REMINDERS:
                at = occ.start - ahead
                if tag == "24h":
                    at = day_ahead_notice(m, occ.start)
                    if at < start:  # planned after those working hours went by: their next waking working hours
                        at = quiet.next_open(m, max(start, now))
                        if at >= occ.start - REMINDERS[-1][1]:
                            continue  # none before the meeting: the 15-minute reminder tells them
                items.append(DueItem(key(r, occ.day, f"remind{tag}", m.id), "retro.remind", r.workspace,
                                     at, {**payload, "member": m.id, "ahead": tag}))
    items.append(DueItem(key(r, occ.day, "close"), "retro.close", r.workspace, occ.end, payload))
    return items


def plan_retros(ctx: RetroContext, start: datetime, end: datetime) -> list[DueItem]:
    """Every open, reminder, close, re-plan notice and action reminder of every retro in [start, end).

    The slots come from the stored plan, extended as far as ``end`` (a preview of 120 days
    gets every occurrence in them); an occurrence is published once one of its instants
    falls in the window.
    """
    items: list[DueItem] = []
    for r in ctx.store.list_retros():
        members = participants(ctx, r)
        coming = ensure_plan(ctx, r, through=(end + ABSENCE_WARNING).date())
        for occ in coming:
            if occ.end < start:
                continue
            events = _events(r, occ, members, start, ctx.app.now())
            if occ.status == "closed":  # closed before its meeting: the meeting and its reminders stay
                items.extend(e for e in events if e.kind == "retro.remind" and start <= e.due_at < end)
                continue
            if not occ.published:
                if min(e.due_at for e in events) >= end:
                    continue
                occ = publish(ctx, r, occ)
            items.extend(e for e in events if start <= e.due_at < end)
        items.extend(_absence_warnings(ctx, r, members, coming, start, end))
        items.extend(_notice_items(ctx, r, start, end))
    items.extend(_action_reminders(ctx, start, end))
    return items


def mostly_away(members: list[Member], occ: Occurrence) -> bool:
    """More than half the retro's members are absent from the occurrence."""
    return bool(members) and 2 * (len(members) - len(present(members, occ))) > len(members)


def _absence_warnings(ctx: RetroContext, r: Retro, members: list[Member], coming: list[Occurrence],
                      start: datetime, end: datetime) -> list[DueItem]:
    """``retro.absences`` for each coming occurrence more than half its members are away from: 7 days ahead, or
    as soon as that is known when it comes later, while the meeting is still ahead. Once per occurrence (its
    key names the occurrence); the handler checks again before telling anyone."""
    now = ctx.app.now()
    items = []
    for occ in coming:
        if occ.start is None or occ.status != "planned" or not mostly_away(members, occ):
            continue
        at = occ.start - ABSENCE_WARNING
        if at < start:
            at = max(start, now)
        if start <= at < end and at < occ.start:
            items.append(DueItem(key(r, occ.day, "absences"), "retro.absences", r.workspace, at,
                                 {"retro": r.name, "day": occ.day.isoformat()}))
    return items


def best_other_day(ctx: RetroContext, r: Retro, occ: Occurrence) -> tuple[date, datetime, int] | None:
    """The other date of the occurrence's week (Monday to Sunday, UTC dates, still ahead and not another
    occurrence) where the most members are present, with the slot the rotation gives it and how many come.

    ``None`` when no other day has more members present than the occurrence itself. Ties go to the day
    nearest the occurrence, then the earlier one.
    """
    assert occ.start is not None
    members = participants(ctx, r)
    now = ctx.app.now()
    monday = occ.day - timedelta(days=occ.day.weekday())
    taken = {o.day for o in ctx.store.occurrences(r.workspace, r.name)}
    week = [monday + timedelta(days=k) for k in range(7)]
    days = [d for d in week if d not in taken and d >= now.date()]
    if not days:
        return None
    charged: dict[str, float] = defaultdict(float)
    for e in ledger(ctx, r):
        charged[e.member] += e.penalty
    duration = rotation.parse_duration(r.duration)
    options: list[tuple[int, date, datetime]] = []
    for day in days:
        team = [rotation_member(m, charged[m.id], away_days(m, [day])) for m in members]
        try:
            plan = rotation.plan_rotation(team, [day], duration, candidates=list(r.candidates) if r.candidates else None)
        except rotation.RotationError:
            return None
        slot = plan.occurrences[0]
        if slot.start_utc <= now:
            continue
        options.append((len(members) - len(slot.away), day, slot.start_utc))
    if not options:
        return None
    coming, day, slot_start = max(options, key=lambda o: (o[0], -abs((o[1] - occ.day).days), -o[1].toordinal()))
    return (day, slot_start, coming) if coming > len(present(members, occ)) else None


def _action_reminders(ctx: RetroContext, start: datetime, end: datetime) -> list[DueItem]:
    items = []
    for ws in sorted({r.workspace for r in ctx.store.list_retros()}):
        for a in ctx.store.actions(ws, status="open"):
            owner = ctx.app.store.get_member(ws, a.owner)
            if a.due is None or owner is None:
                continue
            at = at_local(a.due - timedelta(days=1), owner.hours.start, owner.tz)
            if start <= at < end:
                items.append(DueItem(f"retro:{ws}:{a.retro}:action:{a.id}:remind", "retro.action_remind", ws, at,
                                     {"action": a.id}))
    return items
