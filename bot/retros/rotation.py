"""The fair retro-slot planner: who pays for a recurring meeting across time zones.

A distributed team cannot meet at a time that suits everyone, so somebody is always
early, late or up at night. This module spreads that cost fairly over a horizon of
occurrences. It is pure: no I/O, no clock, no chat SDK; callers pass members, dates and
history in and get a typed plan back.

Model
-----
In ``bot.retros.burden``. Each local clock hour has a *pain density*; a meeting's
penalty for a member is the mean density over its minutes, plus a flat penalty on a
non-working day, computed for each occurrence's real date so DST is honoured. A
member's *burden* is the carried-over burden plus the penalties of the plan.

Objective
---------
Leximin over the cumulative burdens: first make the worst-off as well off as possible,
then the second worst-off, and so on. Ties go to the lower total, then to fewer changes
of slot between consecutive occurrences, then to the earliest times, so that the same
input always gives the same plan. An optional night cap (at most K meetings per member
that touch the member's local 22:00-06:00) is treated as a hard constraint when it can be
met and as "as few excess nights as possible" when it cannot.

Search
------
In ``bot.retros.leximin``. A greedy start, a min-conflicts walk on the peak burden,
then local search on the full leximin key with a few seeded kicks, all bounded by step
counts rather than the clock, on an integer grid so the same input always gives the
same plan.
``benchmarks/rotation_bench.py`` measures the result against baselines and an exact MILP.

This module is the entry point: the team file's settings parsed, the input checked, the
search run, and the plan presented as a table or as JSON.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta

from bot.retros.burden import (
    DEFAULT_HOURLY_PAIN,
    DEFAULT_PAIN,
    EARLY_BEFORE_MINUTE,
    LATE_FROM_MINUTE,
    WEEKDAYS,
    Member,
    PainScale,
    PlannedOccurrence,
    RotationError,
    RotationPlan,
    is_night_meeting,
    meeting_penalty,
)
from bot.retros.leximin import Instance, State, build_instance, search

__all__ = [
    "BLOCK",
    "DEFAULT_HOURLY_PAIN",
    "DEFAULT_PAIN",
    "Member",
    "PainScale",
    "PlannedOccurrence",
    "RotationError",
    "RotationPlan",
    "format_plan_table",
    "is_night_meeting",
    "meeting_penalty",
    "occurrence_dates",
    "parse_candidates",
    "parse_duration",
    "parse_every",
    "parse_hours",
    "parse_workdays",
    "plan_in_blocks",
    "plan_retro",
    "plan_rotation",
    "plan_to_json",
    "starting_burden_for_newcomer",
]


# --------------------------------------------------------------------------- parsing

_EVERY_RE = re.compile(r"^\s*(\d+)\s*([dw])\s*$", re.IGNORECASE)
_DURATION_RE = re.compile(r"^\s*(?:(\d+)\s*h)?\s*(?:(\d+)\s*m)?\s*$", re.IGNORECASE)
_HHMM_RE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*$")


def parse_every(text: str) -> timedelta:
    """Parse a retro's ``every`` (``1w``, ``2w``, ``10d``) into the gap between occurrences."""
    match = _EVERY_RE.match(text or "")
    if not match or int(match.group(1)) == 0:
        raise RotationError(f"cannot read every={text!r}: use a number of days or weeks such as 1w, 2w or 10d")
    count = int(match.group(1))
    return timedelta(weeks=count) if match.group(2).lower() == "w" else timedelta(days=count)


def parse_duration(text: str) -> timedelta:
    """Parse a meeting length (``60m``, ``1h``, ``1h30m``); it must be between 5 minutes and 12 hours."""
    match = _DURATION_RE.match(text or "")
    if not match or not (match.group(1) or match.group(2)):
        raise RotationError(f"cannot read duration={text!r}: use minutes or hours such as 45m, 60m or 1h30m")
    minutes = int(match.group(1) or 0) * 60 + int(match.group(2) or 0)
    if not 5 <= minutes <= 12 * 60:
        raise RotationError(f"duration={text!r} is out of range: a retro lasts between 5m and 12h")
    return timedelta(minutes=minutes)


def _parse_hhmm(text: str, what: str) -> time:
    match = _HHMM_RE.match(text) if isinstance(text, str) else None
    if not match or int(match.group(1)) > 23 or int(match.group(2)) > 59:
        raise RotationError(f"cannot read {what} {text!r}: use a 24-hour time such as 09:30")
    return time(int(match.group(1)), int(match.group(2)))


def parse_candidates(items: Sequence[str | time]) -> list[time]:
    """Parse a retro's ``candidates:`` list of UTC start times ("HH:MM"), sorted and de-duplicated."""
    if isinstance(items, str) or not items:
        raise RotationError('candidates must be a non-empty list of UTC times such as ["08:00", "14:00"]')
    times = {item if isinstance(item, time) else _parse_hhmm(item, "candidate time") for item in items}
    return sorted(t.replace(second=0, microsecond=0, tzinfo=None) for t in times)


def parse_hours(text: str) -> tuple[time, time]:
    """Parse working hours such as ``10:00-18:00``."""
    parts = text.split("-") if isinstance(text, str) else []
    if len(parts) != 2:
        raise RotationError(f"cannot read hours {text!r}: use a range such as 09:00-17:00")
    start, end = _parse_hhmm(parts[0], "hours start"), _parse_hhmm(parts[1], "hours end")
    if start == end:
        raise RotationError(f"hours {text!r} are empty: the start and the end are the same")
    return start, end


def parse_workdays(names: Sequence[str]) -> frozenset[int]:
    """Parse ``[mon, tue, ...]`` into weekday numbers (Monday is 0)."""
    days = set()
    for name in names:
        key = str(name).strip().lower()[:3]
        if key not in WEEKDAYS:
            raise RotationError(f"unknown workday {name!r}: use mon, tue, wed, thu, fri, sat or sun")
        days.add(WEEKDAYS.index(key))
    if not days:
        raise RotationError("a member needs at least one workday")
    return frozenset(days)


def occurrence_dates(starts: date, every: timedelta, count: int) -> list[date]:
    """The UTC dates of the first ``count`` occurrences of a retro."""
    if count < 0:
        raise RotationError("the number of occurrences cannot be negative")
    if every < timedelta(days=1) or every % timedelta(days=1):
        raise RotationError("a retro repeats every whole number of days")
    return [starts + every * i for i in range(count)]


def starting_burden_for_newcomer(burdens: Mapping[str, float]) -> float:
    """The burden a member who joins starts with: the current lowest, not zero.

    Starting at zero would make the newcomer the worst-off "creditor" and hand every
    painful slot to the people who have already paid the most.
    """
    return min(burdens.values(), default=0.0)



# --------------------------------------------------------------------------- public entry


def plan_rotation(
    members: Sequence[Member],
    dates: Sequence[date],
    duration: timedelta,
    *,
    candidates: Sequence[str | time] | None = None,
    fixed: Mapping[date, datetime] | None = None,
    night_cap: int | None = None,
    scale: PainScale = DEFAULT_PAIN,
    effort: float = 1.0,
    seed: int = 0,
) -> RotationPlan:
    """Choose one start per occurrence so the cumulative burden is shared as fairly as possible.

    ``dates`` are the occurrences' UTC dates; each may start at any ``candidates`` time
    (UTC "HH:MM"; default every 30 minutes of the day). ``fixed`` maps already published
    occurrences to their start, which is kept. ``effort`` scales the search (1.0 keeps
    a year of weekly retros for 40 people within a few seconds); the result depends only
    on the input, ``effort`` and ``seed``, never on the clock.
    """
    if not members:
        raise RotationError("a retro needs at least one member")
    ids = [m.id for m in members]
    if len(set(ids)) != len(ids):
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        raise RotationError(f"member ids must be unique; repeated: {', '.join(duplicates)}")
    if len(set(dates)) != len(dates):
        raise RotationError("occurrence dates must be distinct")
    if duration < timedelta(minutes=1):
        raise RotationError("a retro must last at least a minute")
    if night_cap is not None and night_cap < 0:
        raise RotationError("the night cap cannot be negative")
    fixed = dict(fixed or {})
    stray = sorted(d for d in fixed if d not in set(dates))
    if stray:
        raise RotationError(f"fixed occurrence {stray[0].isoformat()} is not one of the retro's dates")
    parsed = parse_candidates(candidates) if candidates is not None else None

    inst = build_instance(members, dates, duration, parsed, fixed, night_cap, scale)
    steps, rounds = _default_effort(inst, effort)
    state = search(inst, steps, rounds, seed)
    return _to_plan(inst, state)


BLOCK = 6
"""Occurrences are planned in blocks of this many, counted from the retro's first date.

A block is the unit of the leximin search and of the night cap. Anchoring the blocks on
``starts`` (not on today, not on the length of a preview) makes the slot of occurrence N
depend only on the team, the settings and the history: every view that asks gets the
same answer.
"""


def plan_in_blocks(
    members: Sequence[Member],
    dates: Sequence[date],
    duration: timedelta,
    *,
    candidates: Sequence[str | time] | None = None,
    fixed: Mapping[date, datetime] | None = None,
    paid: Mapping[date, Mapping[str, float]] | None = None,
    night_cap: int | None = None,
    scale: PainScale = DEFAULT_PAIN,
    block: int = BLOCK,
    notes_from: date | None = None,
) -> RotationPlan:
    """The one planning function: the retro's dates from its first, planned block by block.

    ``dates`` must start at the retro's first occurrence and hold whole blocks (a partial
    last block is planned as it is, so callers that want stable answers pass whole ones).
    Each block starts from the burden the earlier blocks left: ``paid`` (what members
    were charged when an occurrence was published) where known, else the planned
    penalty. ``fixed`` starts are kept; the night cap counts them. Members are taken in
    id order so the plan never depends on the order they were listed in. Notes are kept
    only for blocks that reach ``notes_from`` (blocks all in the past say nothing useful).
    """
    ordered = sorted(members, key=lambda m: m.id)
    carried = {m.id: m.burden for m in ordered}
    fixed = dict(fixed or {})
    paid = paid or {}
    occurrences: list[PlannedOccurrence] = []
    notes: list[str] = []
    met = True
    for first in range(0, len(dates), block):
        chunk = list(dates[first:first + block])
        part = plan_rotation(
            [replace(m, burden=carried[m.id]) for m in ordered],
            chunk,
            duration,
            candidates=candidates,
            fixed={d: s for d, s in fixed.items() if d in set(chunk)},
            night_cap=night_cap,
            scale=scale,
        )
        for day, occ in zip(chunk, part.occurrences, strict=True):
            charged = paid.get(day, occ.penalty)
            for mid in carried:
                carried[mid] += charged.get(mid, 0.0)
        occurrences.extend(part.occurrences)
        if notes_from is None or chunk[-1] >= notes_from:
            met = met and part.night_cap_met
            notes.extend(n for n in part.notes if n not in notes)
    return RotationPlan(occurrences, carried, met, notes)


def plan_retro(
    members: Sequence[Member],
    *,
    starts: date,
    every: str,
    duration: str,
    count: int,
    candidates: Sequence[str | time] | None = None,
    fixed: Mapping[date, datetime] | None = None,
    night_cap: int | None = None,
    scale: PainScale = DEFAULT_PAIN,
) -> RotationPlan:
    """Plan a retro as the team file describes it (``every: 2w``, ``duration: 60m``, ``starts``).

    Whole blocks are planned and the first ``count`` occurrences returned, so asking for
    8 shows the same slots as asking for 12: the plan the bot itself keeps.
    """
    whole = -(-count // BLOCK) * BLOCK
    dates = occurrence_dates(starts, parse_every(every), whole)
    full = plan_in_blocks(members, dates, parse_duration(duration), candidates=candidates, fixed=fixed,
                          night_cap=night_cap, scale=scale)
    shown = full.occurrences[:count]
    burden = {m.id: m.burden + sum(o.penalty.get(m.id, 0.0) for o in shown) for m in members}
    return RotationPlan(shown, burden, full.night_cap_met, full.notes)


def _default_effort(inst: Instance, effort: float) -> tuple[int, int]:
    """Walk steps and polishing rounds: small instances get searched hard, large ones within seconds."""
    if effort < 0:
        raise RotationError("effort cannot be negative")
    work = max(1, len(inst.free) * max(len(s) for s in inst.starts) * len(inst.members))
    steps = round(effort * max(300, min(2000, 200_000_000 // work)))
    rounds = round(effort * max(10, min(50, 1_000_000 // work)))
    return steps, rounds


def _to_plan(inst: Instance, state: State) -> RotationPlan:
    members = inst.members
    occurrences = []
    fixed_set = set(range(len(inst.starts))) - set(inst.free)
    for o, c in enumerate(state.choice):
        start = inst.starts[o][c]
        occurrences.append(
            PlannedOccurrence(
                start_utc=start,
                local={m.id: start.astimezone(m.zone) for m in members},
                penalty={m.id: inst.penalty[o][c][i] * inst.quantum for i, m in enumerate(members)},
                fixed=o in fixed_set,
                night=frozenset(members[i].id for i in inst.nights[o][c]),
                away=frozenset(members[i].id for i in inst.away[o][c]),
            )
        )
    burden = {m.id: state.burden[i] * inst.quantum for i, m in enumerate(members)}
    notes: list[str] = []
    night_cap_met = True
    carriers = {members[m].id: n for m, n in enumerate(state.nights) if n}
    carried = ", ".join(f"{who} ×{n}" for who, n in sorted(carriers.items(), key=lambda kv: (-kv[1], kv[0])))
    unavoidable = [
        inst.starts[o][0].date().isoformat()
        for o in range(len(inst.starts))
        if o not in fixed_set and all(inst.nights[o][c] for c in range(len(inst.starts[o])))
    ]
    if unavoidable:
        days = ", ".join(unavoidable[:3]) + (f" and {len(unavoidable) - 3} more" if len(unavoidable) > 3 else "")
        notes.append(
            f"No start time keeps everyone out of their night (22:00-06:00) on {days}; "
            f"night meetings in this plan: {carried}."
        )
    if inst.cap is not None:
        over = {members[m].id: n for m, n in enumerate(state.nights) if n > inst.cap}
        if over:
            night_cap_met = False
            who = ", ".join(f"{k} ({n})" for k, n in sorted(over.items(), key=lambda kv: (-kv[1], kv[0])))
            notes.append(
                f"The night cap of {inst.cap} per member could not be met; this is the fairest plan "
                f"found, and these members carry more night meetings than the cap: {who}."
            )
    return RotationPlan(occurrences, burden, night_cap_met, notes)



# --------------------------------------------------------------------------- presenting


def _iso_z(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def plan_to_json(plan: RotationPlan) -> dict[str, object]:
    """The plan as plain JSON data (the shape ``meridian rotation plan --json`` prints)."""
    return {
        "occurrences": [
            {
                "start_utc": _iso_z(occ.start_utc),
                "local": {who: local.isoformat() for who, local in occ.local.items()},
                "penalty": {who: round(p, 2) for who, p in occ.penalty.items()},
            }
            for occ in plan.occurrences
        ],
        "burden": {who: round(b, 2) for who, b in plan.burden.items()},
    }


def _minute_of(local: datetime) -> int:
    return local.hour * 60 + local.minute


def format_plan_table(plan: RotationPlan) -> str:
    """A plain-text table: each occurrence with everyone's local time, then the burden table."""
    ids = list(plan.burden)
    width = max([len(i) for i in ids] + [11])
    header = ["UTC start".ljust(17)] + [i.rjust(width) for i in ids]
    lines = ["  ".join(header)]
    early = dict.fromkeys(ids, 0)
    late = dict.fromkeys(ids, 0)
    night = dict.fromkeys(ids, 0)
    for occ in plan.occurrences:
        cells = [occ.start_utc.strftime("%Y-%m-%d %H:%M").ljust(17)]
        for who in ids:
            local = occ.local[who]
            if who in occ.away:
                cells.append("away".rjust(width))
                continue
            cells.append(local.strftime("%a %H:%M").rjust(width))
            start = _minute_of(local)
            if start < EARLY_BEFORE_MINUTE:
                early[who] += 1
            if start >= LATE_FROM_MINUTE:
                late[who] += 1
            if who in occ.night:
                night[who] += 1
        lines.append("  ".join(cells) + ("  (published)" if occ.fixed else ""))
    lines.append("")
    lines.append(f"{'member'.ljust(width)}  {'burden':>8}  {'early':>5}  {'late':>5}  {'night':>5}")
    for who in sorted(ids, key=lambda w: (-plan.burden[w], w)):
        lines.append(
            f"{who.ljust(width)}  {plan.burden[who]:8.2f}  {early[who]:5d}  {late[who]:5d}  {night[who]:5d}"
        )
    lines.append("early: starts before 08:00 local; late: starts at or after 18:00; night: touches 22:00-06:00"
                 + ("; away: absent that day, no burden" if any(o.away for o in plan.occurrences) else ""))
    lines.extend(plan.notes)
    return "\n".join(lines)
