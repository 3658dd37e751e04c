"""The rolling plan: which occurrences come next, when each starts, and what it costs whom.

A retro with a meeting repeats (``every: 2w``); the fair rotation (``bot.retros.rotation``)
chooses each occurrence's start so that early, late and night meetings are shared. The
next ``PLAN_AHEAD`` occurrences are planned again whenever the team or the settings
change, and an occurrence is *published* — fixed, and its cost written to the burden
history — once its first reminder or its thread falls inside the scheduler's window. A
member who joins starts at the current lowest burden.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import defaultdict
from dataclasses import replace
from datetime import date, datetime, timedelta

from bot.kernel.domain import WEEKDAYS, Member
from bot.kernel.ports import DueItem
from bot.kernel.timekeeping import at_local
from bot.retros import rotation
from bot.retros.burden import EARLY_BEFORE_MINUTE, LATE_FROM_MINUTE
from bot.retros.context import RetroContext, key, plan_state_key
from bot.retros.model import BurdenEntry, Occurrence, Retro

log = logging.getLogger("meridian.retros")

PLAN_AHEAD = 6
"""How many occurrences ahead the rotation plans (and ``/retro schedule`` shows)."""
REMINDERS: tuple[tuple[str, timedelta], ...] = (("24h", timedelta(hours=24)), ("15m", timedelta(minutes=15)))


# --- people ------------------------------------------------------------------------------------
def participants(ctx: RetroContext, r: Retro) -> list[Member]:
    return [m for m in ctx.app.store.list_members(r.workspace) if r.includes(m)]


def _rotation_member(m: Member, burden: float) -> rotation.Member:
    return rotation.Member(m.id, m.tz, hours=(m.hours.start, m.hours.end),
                           workdays=frozenset(WEEKDAYS.index(d) for d in m.workdays if d in WEEKDAYS),
                           burden=max(0.0, burden))


def early_late(m: Member, start: datetime) -> tuple[bool, bool]:
    local = start.astimezone(m.zone)
    minute = local.hour * 60 + local.minute
    return minute < EARLY_BEFORE_MINUTE, minute >= LATE_FROM_MINUTE


# --- the rolling plan --------------------------------------------------------------------------
def _fingerprint(r: Retro, members: list[Member], fixed: dict[date, datetime], days: list[date]) -> str:
    data = {
        "retro": [r.every, r.duration, r.starts.isoformat() if r.starts else None, r.candidates, r.night_cap,
                  int(r.open_before.total_seconds())],
        "members": [[m.id, m.tz, str(m.hours), sorted(m.workdays)] for m in members],
        "fixed": sorted((d.isoformat(), s.isoformat()) for d, s in fixed.items()),
        "days": [d.isoformat() for d in days],
    }
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:24]


def _window_days(r: Retro, existing: dict[date, Occurrence], now: datetime) -> list[date]:
    """The occurrences still to come (and any published one not yet closed), ``PLAN_AHEAD`` in all."""
    assert r.starts is not None and r.every is not None
    every = rotation.parse_every(r.every)
    days: list[date] = []
    i = 0
    while len(days) < PLAN_AHEAD and i < 5000:
        day = r.starts + every * i
        i += 1
        occ = existing.get(day)
        if occ is not None and occ.published:
            if occ.status != "closed" or occ.end >= now:
                days.append(day)
        elif day >= now.date():
            days.append(day)
    return days


def _carried(ctx: RetroContext, r: Retro, members: list[Member], days: list[date]) -> dict[str, float]:
    """Each member's burden before the window; newcomers are given the current lowest, once."""
    history = ctx.store.burden_history(r.workspace, r.name)
    carried: dict[str, float] = defaultdict(float)
    for e in history:
        if e.kind == "start" or e.day not in days:
            carried[e.member] += e.penalty
    known = {e.member for e in history}
    if known:
        current: dict[str, float] = defaultdict(float)  # everything published so far, this window included
        for e in history:
            current[e.member] += e.penalty
        start = rotation.starting_burden_for_newcomer({m.id: current[m.id] for m in members if m.id in known})
        newcomers = [BurdenEntry(r.workspace, r.name, m.id, ctx.app.now().date(), "start", start)
                     for m in members if m.id not in known]
        ctx.store.add_burden(newcomers)
        for e in newcomers:
            carried[e.member] += e.penalty
    return carried


def ensure_plan(ctx: RetroContext, r: Retro) -> list[Occurrence]:
    """The coming occurrences, planned again first when the team, the settings or what is published changed."""
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
    days = _window_days(r, existing, now)
    fixed = {d: existing[d].start for d in days if d in existing and existing[d].published and existing[d].start}
    fixed_starts = {d: s for d, s in fixed.items() if s is not None}
    fingerprint = _fingerprint(r, members, fixed_starts, days)
    state = app.store.kv_get(r.workspace, plan_state_key(r)) or {}
    if state.get("fingerprint") == fingerprint and all(d in existing for d in days):
        return [existing[d] for d in days]
    if not members:
        return [existing[d] for d in days if d in existing]
    carried = _carried(ctx, r, members, days)
    duration = rotation.parse_duration(r.duration)
    try:
        plan = rotation.plan_rotation([_rotation_member(m, carried[m.id]) for m in members], days, duration,
                                      candidates=list(r.candidates) if r.candidates else None,
                                      fixed=fixed_starts, night_cap=r.night_cap)
    except rotation.RotationError as err:
        log.warning("retro %s in %s cannot be planned: %s", r.name, r.workspace, err)
        return [existing[d] for d in days if d in existing]
    store.delete_unpublished(r.workspace, r.name)
    out: list[Occurrence] = []
    for day, planned in zip(days, plan.occurrences, strict=True):
        if day in fixed_starts:
            out.append(existing[day])
            continue
        occ = Occurrence(r.workspace, r.name, day, planned.start_utc, planned.start_utc + duration,
                         planned.start_utc - r.open_before, penalty={k: round(v, 3) for k, v in planned.penalty.items()},
                         night=tuple(sorted(planned.night)))
        store.save_occurrence(occ)
        out.append(occ)
    app.store.kv_set(r.workspace, plan_state_key(r), {"fingerprint": fingerprint, "notes": plan.notes,
                                                      "night_cap_met": plan.night_cap_met})
    return out


def publish(ctx: RetroContext, r: Retro, occ: Occurrence) -> Occurrence:
    """Fix an occurrence's start and write what it costs each member into the burden history."""
    if occ.published:
        return occ
    occ = replace(occ, published=True)
    ctx.store.save_occurrence(occ)
    if occ.start is not None:
        entries = []
        for m in participants(ctx, r):
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
    """(member, burden, early, late, night): published history plus the planned rounds still to come."""
    members = participants(ctx, r)
    totals: dict[str, list[float]] = {m.id: [0.0, 0, 0, 0] for m in members}
    for e in ctx.store.burden_history(r.workspace, r.name):
        if e.member in totals:
            row = totals[e.member]
            row[0] += e.penalty
            row[1] += e.early
            row[2] += e.late
            row[3] += e.night
    for occ in occs:
        if occ.published or occ.start is None:
            continue
        for m in members:
            row = totals[m.id]
            early, late = early_late(m, occ.start)
            row[0] += occ.penalty.get(m.id, 0.0)
            row[1] += early
            row[2] += late
            row[3] += m.id in occ.night
    rows = [(mid, round(v[0], 2), int(v[1]), int(v[2]), int(v[3])) for mid, v in totals.items()]
    return sorted(rows, key=lambda row: (-row[1], row[0]))


# --- what the scheduler runs ---------------------------------------------------------------------
def _events(r: Retro, occ: Occurrence, members: list[Member]) -> list[DueItem]:
    payload = {"retro": r.name, "day": occ.day.isoformat()}
    items = [DueItem(key(r, occ.day, "open"), "retro.open", r.workspace, occ.opens_at, payload)]
    if occ.start is not None:
        for m in members:
            for tag, ahead in REMINDERS:
                items.append(DueItem(key(r, occ.day, f"remind{tag}", m.id), "retro.remind", r.workspace,
                                     occ.start - ahead, {**payload, "member": m.id, "ahead": tag}))
    items.append(DueItem(key(r, occ.day, "close"), "retro.close", r.workspace, occ.end, payload))
    return items


def plan_retros(ctx: RetroContext, start: datetime, end: datetime) -> list[DueItem]:
    """Every open, reminder, close and action reminder of every retro that falls in [start, end)."""
    items: list[DueItem] = []
    for r in ctx.store.list_retros():
        members = participants(ctx, r)
        for occ in ensure_plan(ctx, r):
            events = _events(r, occ, members)
            if occ.status == "closed":  # closed before its meeting: the meeting and its reminders stay
                items.extend(e for e in events if e.kind == "retro.remind" and start <= e.due_at < end)
                continue
            if not occ.published:
                if min(e.due_at for e in events) >= end:
                    continue
                occ = publish(ctx, r, occ)
            items.extend(e for e in events if start <= e.due_at < end)
    items.extend(_action_reminders(ctx, start, end))
    return items


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
