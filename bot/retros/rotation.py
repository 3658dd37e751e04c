"""The fair retro-slot planner: who pays for a recurring meeting across time zones.

A distributed team cannot meet at a time that suits everyone, so somebody is always
early, late or up at night. This module spreads that cost fairly over a horizon of
occurrences. It is pure: no I/O, no clock, no chat SDK; callers pass members, dates and
history in and get a typed plan back.

Model
-----
* Each local clock hour has a *pain density* (the documented default is
  ``DEFAULT_HOURLY_PAIN``), drawn for a 09:00-17:00 day and shifted for members whose
  working day starts elsewhere.
* A meeting's penalty for a member is the mean density over its minutes, sampled every
  five minutes (so half-hour and 45-minute zones count right), plus a flat penalty when
  the local date of the start is one of the member's non-working days. Local times are
  computed with ``zoneinfo`` for each occurrence's real date, so DST is honoured.
* A member's *burden* is the carried-over burden plus the penalties of the plan.

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
Greedy per-occurrence leximin alone gets stuck well above the optimum: on the benchmark's
reference team it reaches a peak of 53, and 50 after local search, where 47 is optimal.
So the better of the greedy plan and the best single slot is improved in three stages,
all seeded and bounded by step counts rather than the clock, so the result never depends
on machine speed:

1. a min-conflicts walk that drives the peak burden down (the first leximin term);
2. local search on the full leximin key (move one occurrence to another slot, swap the
   slots of two occurrences);
3. a few kicks aimed at the worst-off members, each followed by the local search.

Burdens are kept as integers on a fine grid so comparisons are exact and plans are
reproducible across platforms. ``benchmarks/rotation_bench.py`` measures the result
against baselines and an exact MILP.
"""

from __future__ import annotations

import itertools
import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
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
    "plan_retro",
    "plan_rotation",
    "plan_to_json",
    "starting_burden_for_newcomer",
]

WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MINUTES_PER_DAY = 24 * 60
NIGHT_START_MINUTE = 22 * 60
NIGHT_END_MINUTE = 6 * 60
EARLY_BEFORE_MINUTE = 8 * 60
LATE_FROM_MINUTE = 18 * 60

#: Pain of each local clock hour for someone whose working day is 09:00-17:00.
DEFAULT_HOURLY_PAIN: tuple[float, ...] = (
    10, 10, 10, 10, 10,  # 00-04
    8, 5, 3, 1,  # 05-08
    0, 0, 0, 0, 0, 0, 0, 0,  # 09-16
    1, 2, 3, 4, 6, 8, 10,  # 17-23
)  # fmt: skip


class RotationError(ValueError):
    """A problem with the input that the person who wrote it can fix; the message says how."""


@dataclass(frozen=True)
class PainScale:
    """How much a meeting hurts, by local clock hour; configurable per team.

    ``hourly`` is drawn for a working day that starts at ``anchor``; members whose day
    starts elsewhere get the same curve shifted by the difference.
    """

    hourly: tuple[float, ...] = DEFAULT_HOURLY_PAIN
    non_working_day: float = 6.0
    sample_minutes: int = 5
    anchor: time = time(9, 0)

    def __post_init__(self) -> None:
        if len(self.hourly) != 24:
            raise RotationError(f"the pain scale needs 24 hourly values, got {len(self.hourly)}")
        if any(v < 0 for v in self.hourly) or self.non_working_day < 0:
            raise RotationError("pain values cannot be negative")
        if not 1 <= self.sample_minutes <= 60:
            raise RotationError("the pain sampling step must be between 1 and 60 minutes")


DEFAULT_PAIN = PainScale()


@dataclass(frozen=True)
class Member:
    """One person in the rotation: where they are, when they work, what they already carry."""

    id: str
    tz: str
    hours: tuple[time, time] = (time(9, 0), time(17, 0))
    workdays: frozenset[int] = frozenset(range(5))
    burden: float = 0.0

    def __post_init__(self) -> None:
        if not self.id:
            raise RotationError("every member needs an id")
        try:
            ZoneInfo(self.tz)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise RotationError(f"member {self.id!r}: unknown time zone {self.tz!r}") from exc
        if not self.workdays <= frozenset(range(7)):
            raise RotationError(f"member {self.id!r}: workdays must be weekday numbers 0 (mon) to 6 (sun)")
        if self.burden < 0:
            raise RotationError(f"member {self.id!r}: a carried-over burden cannot be negative")

    @property
    def zone(self) -> ZoneInfo:
        """The member's zone (``ZoneInfo`` caches instances, so this is cheap)."""
        return ZoneInfo(self.tz)


@dataclass(frozen=True)
class PlannedOccurrence:
    """One occurrence of the retro: when it starts, and what that means for each member."""

    start_utc: datetime
    local: dict[str, datetime]
    penalty: dict[str, float]
    fixed: bool = False
    night: frozenset[str] = frozenset()


@dataclass(frozen=True)
class RotationPlan:
    """The chosen start of every occurrence and each member's resulting cumulative burden."""

    occurrences: list[PlannedOccurrence]
    burden: dict[str, float]
    night_cap_met: bool = True
    notes: list[str] = field(default_factory=list)


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


# --------------------------------------------------------------------------- penalties


def _shift_minutes(member: Member, scale: PainScale) -> int:
    anchor = scale.anchor.hour * 60 + scale.anchor.minute
    return member.hours[0].hour * 60 + member.hours[0].minute - anchor


def _sample_count(duration: timedelta, scale: PainScale) -> int:
    minutes = int(duration.total_seconds() // 60)
    return max(1, -(-minutes // scale.sample_minutes))


def _local_sample_minutes(zone: ZoneInfo, start_utc: datetime, count: int, step: int) -> list[int]:
    """Local minute-of-day of each sample; fast path when no offset change falls inside the meeting."""
    first = start_utc.astimezone(zone)
    last = (start_utc + timedelta(minutes=step * (count - 1))).astimezone(zone)
    base = first.hour * 60 + first.minute
    if first.utcoffset() == last.utcoffset():
        return [(base + step * k) % MINUTES_PER_DAY for k in range(count)]
    samples = []
    for k in range(count):
        local = (start_utc + timedelta(minutes=step * k)).astimezone(zone)
        samples.append(local.hour * 60 + local.minute)
    return samples


def _is_night_minute(minute: int) -> bool:
    return minute >= NIGHT_START_MINUTE or minute < NIGHT_END_MINUTE


def meeting_penalty(
    member: Member, start_utc: datetime, duration: timedelta, scale: PainScale = DEFAULT_PAIN
) -> float:
    """The penalty of one meeting for one member (see the module docstring for the model)."""
    start_utc = _as_utc(start_utc)
    count = _sample_count(duration, scale)
    shift = _shift_minutes(member, scale)
    samples = _local_sample_minutes(member.zone, start_utc, count, scale.sample_minutes)
    pain = sum(scale.hourly[((m - shift) % MINUTES_PER_DAY) // 60] for m in samples) / count
    if start_utc.astimezone(member.zone).weekday() not in member.workdays:
        pain += scale.non_working_day
    return pain


def is_night_meeting(
    member: Member, start_utc: datetime, duration: timedelta, scale: PainScale = DEFAULT_PAIN
) -> bool:
    """Whether any sampled minute of the meeting falls in the member's local 22:00-06:00."""
    count = _sample_count(duration, scale)
    samples = _local_sample_minutes(member.zone, _as_utc(start_utc), count, scale.sample_minutes)
    return any(_is_night_minute(m) for m in samples)


def _as_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise RotationError(f"{moment.isoformat()} has no time zone: give start times in UTC")
    return moment.astimezone(UTC)


# --------------------------------------------------------------------------- the instance


@dataclass
class _Instance:
    """Everything the search needs, as integer matrices indexed [occurrence][candidate][member]."""

    members: list[Member]
    starts: list[list[datetime]]  # per occurrence, candidate starts in ascending order
    slot_of: list[list[int]]  # per occurrence, candidate start as UTC minute of day (for "changes")
    penalty: list[list[list[int]]]  # quantised penalties
    nights: list[list[tuple[int, ...]]]  # indices of members for whom that start is a night meeting
    free: list[int]  # occurrences the search may change
    base: list[int]  # quantised carried-over burden
    quantum: float  # 1 unit of the integer grid, in penalty points
    cap: int | None


def _build_instance(
    members: Sequence[Member],
    dates: Sequence[date],
    duration: timedelta,
    candidates: Sequence[time] | None,
    fixed: Mapping[date, datetime],
    night_cap: int | None,
    scale: PainScale,
) -> _Instance:
    """Compute every penalty once; penalties depend only on local times, so they are cached.

    Within a UTC day a zone's offset is almost always constant, so a meeting's local
    samples are its local start plus multiples of the step; only on transition days are
    samples converted one by one.
    """
    count = _sample_count(duration, scale)
    step = scale.sample_minutes
    # One penalty point is ``count * 1000`` units: exact for densities with up to three decimals.
    units = count * 1000
    day_candidates = list(candidates) if candidates is not None else [time(h, m) for h in range(24) for m in (0, 30)]
    zones = sorted({m.tz for m in members})
    zone_index = {tz: z for z, tz in enumerate(zones)}
    profiles = [(zone_index[m.tz], _shift_minutes(m, scale), m.workdays) for m in members]
    non_working = round(scale.non_working_day * units)
    span = timedelta(minutes=step * (count - 1))

    pain_cache: dict[tuple[int, tuple[int, ...]], int] = {}

    def pain_units(shift: int, samples: tuple[int, ...]) -> int:
        key = (shift, samples)
        value = pain_cache.get(key)
        if value is None:
            raw = sum(scale.hourly[((m - shift) % MINUTES_PER_DAY) // 60] for m in samples)
            value = pain_cache[key] = round(raw * 1000)
        return value

    samples_cache: dict[int, tuple[int, ...]] = {}

    def regular_samples(first: int) -> tuple[int, ...]:
        value = samples_cache.get(first)
        if value is None:
            value = samples_cache[first] = tuple((first + step * k) % MINUTES_PER_DAY for k in range(count))
        return value

    starts: list[list[datetime]] = []
    slot_of: list[list[int]] = []
    penalty: list[list[list[int]]] = []
    nights: list[list[tuple[int, ...]]] = []
    free: list[int] = []
    for index, day in enumerate(dates):
        if day in fixed:
            day_starts = [_as_utc(fixed[day])]
        else:
            day_starts = [datetime.combine(day, t, tzinfo=UTC) for t in day_candidates]
            free.append(index)
        starts.append(day_starts)
        slot_of.append([s.hour * 60 + s.minute for s in day_starts])
        first_start, last_end = min(day_starts), max(day_starts) + span
        # local[z][c] = (samples, weekday of the local start)
        local: list[list[tuple[tuple[int, ...], int]]] = []
        for tz in zones:
            zone = ZoneInfo(tz)
            offset = first_start.astimezone(zone).utcoffset()
            steady = offset == last_end.astimezone(zone).utcoffset() and offset is not None
            per_candidate = []
            for start in day_starts:
                if steady and offset is not None:
                    wall = start + offset
                    samples = regular_samples(wall.hour * 60 + wall.minute)
                    weekday = wall.weekday()
                else:
                    samples = tuple(_local_sample_minutes(zone, start, count, step))
                    weekday = start.astimezone(zone).weekday()
                per_candidate.append((samples, weekday))
            local.append(per_candidate)
        rows: list[list[int]] = []
        night_rows: list[tuple[int, ...]] = []
        for c in range(len(day_starts)):
            row = []
            night_members = []
            for i, (z, shift, workdays) in enumerate(profiles):
                samples, weekday = local[z][c]
                value = pain_units(shift, samples)
                if weekday not in workdays:
                    value += non_working
                row.append(value)
                if _night_samples(samples):
                    night_members.append(i)
            rows.append(row)
            night_rows.append(tuple(night_members))
        penalty.append(rows)
        nights.append(night_rows)
    base = [round(m.burden * units) for m in members]
    return _Instance(list(members), starts, slot_of, penalty, nights, free, base, 1.0 / units, night_cap)


@lru_cache(maxsize=4096)
def _night_samples(samples: tuple[int, ...]) -> bool:
    return any(_is_night_minute(m) for m in samples)


# --------------------------------------------------------------------------- the search


class _State:
    """A plan under construction with its burdens and night counts kept up to date."""

    __slots__ = ("burden", "choice", "inst", "nights")

    def __init__(self, inst: _Instance, choice: list[int]) -> None:
        self.inst = inst
        self.choice = choice
        self.burden = list(inst.base)
        self.nights = [0] * len(inst.members)
        for o, c in enumerate(choice):
            for m, p in enumerate(inst.penalty[o][c]):
                self.burden[m] += p
            for m in inst.nights[o][c]:
                self.nights[m] += 1

    def copy(self) -> _State:
        other = _State.__new__(_State)
        other.inst, other.choice = self.inst, list(self.choice)
        other.burden, other.nights = list(self.burden), list(self.nights)
        return other

    def set(self, o: int, c: int) -> None:
        inst = self.inst
        old = self.choice[o]
        if old == c:
            return
        before, after = inst.penalty[o][old], inst.penalty[o][c]
        self.burden = [b - x + y for b, x, y in zip(self.burden, before, after, strict=True)]
        for m in inst.nights[o][old]:
            self.nights[m] -= 1
        for m in inst.nights[o][c]:
            self.nights[m] += 1
        self.choice[o] = c

    def excess_nights(self) -> int:
        cap = self.inst.cap
        if cap is None:
            return 0
        return sum(n - cap for n in self.nights if n > cap)

    def primary(self) -> tuple[int, list[int]]:
        return self.excess_nights(), sorted(self.burden, reverse=True)

    def secondary(self) -> tuple[int, int, list[int]]:
        """Total, slot changes, then the candidate indices (earliest first) — the tie-breaks."""
        inst = self.inst
        slots = [inst.slot_of[o][c] for o, c in enumerate(self.choice)]
        changes = sum(1 for a, b in itertools.pairwise(slots) if a != b)
        return sum(self.burden), changes, list(self.choice)

    def key(self) -> tuple[tuple[int, list[int]], tuple[int, int, list[int]]]:
        return self.primary(), self.secondary()


def _excess_after(state: _State, changes: Sequence[tuple[int, int]]) -> int:
    """Excess nights if the given (occurrence, candidate) changes were applied."""
    inst = state.inst
    cap = inst.cap
    if cap is None:
        return 0
    nights = list(state.nights)
    for o, c in changes:
        for m in inst.nights[o][state.choice[o]]:
            nights[m] -= 1
        for m in inst.nights[o][c]:
            nights[m] += 1
    return sum(n - cap for n in nights if n > cap)


def _greedy(inst: _Instance) -> _State:
    """Occurrence by occurrence, take the slot that is leximin-best for the burdens so far.

    Burdens so far are the carried-over ones, the published occurrences and the
    occurrences already decided; ties keep the previous slot, then take the earliest.
    """
    free = set(inst.free)
    burden = list(inst.base)
    for o in range(len(inst.starts)):
        if o not in free:
            burden = [b + p for b, p in zip(burden, inst.penalty[o][0], strict=True)]
    choice = [0] * len(inst.starts)
    previous_slot: int | None = None
    for o in range(len(inst.starts)):
        if o in free:
            rows = inst.penalty[o]
            ranked = [
                (
                    sorted([b + p for b, p in zip(burden, row, strict=True)], reverse=True),
                    inst.slot_of[o][c] != previous_slot,
                    c,
                )
                for c, row in enumerate(rows)
            ]
            choice[o] = min(ranked)[2]
            burden = [b + p for b, p in zip(burden, rows[choice[o]], strict=True)]
        previous_slot = inst.slot_of[o][choice[o]]
    return _State(inst, choice)


def _descend(state: _State, thorough: bool = False) -> None:
    """Local search to a local optimum of the full key under single moves and swaps.

    Swaps are the expensive neighbourhood (quadratic in occurrences); unless
    ``thorough``, only swaps that relieve the worst-off member are tried.
    """
    inst = state.inst
    free = inst.free
    improved = True
    while improved:
        improved = False
        excess, order = state.primary()
        # Single moves: change the slot of one occurrence.
        for o in free:
            cur = state.choice[o]
            rows = inst.penalty[o]
            before = rows[cur]
            top = max(range(len(state.burden)), key=state.burden.__getitem__)
            rest = [b - x for b, x in zip(state.burden, before, strict=True)]
            for c in range(len(rows)):
                if c == cur:
                    continue
                after = rows[c]
                if excess == 0 and after[top] > before[top]:
                    continue  # the worst-off would get worse: cannot be a leximin improvement
                new_excess = _excess_after(state, ((o, c),)) if inst.cap is not None else 0
                if new_excess > excess:
                    continue
                cand = sorted([r + a for r, a in zip(rest, after, strict=True)], reverse=True)
                if (new_excess, cand) < (excess, order) or (
                    (new_excess, cand) == (excess, order) and _better_tie(state, ((o, c),))
                ):
                    state.set(o, c)
                    excess, order = state.primary()
                    improved = True
                    break
        # Swaps: exchange the slots of two occurrences (same slot time, different dates).
        for i, o1 in enumerate(free):
            for o2 in free[i + 1 :]:
                c1, c2 = state.choice[o1], state.choice[o2]
                if c1 == c2 or c2 >= len(inst.penalty[o1]) or c1 >= len(inst.penalty[o2]):
                    continue
                p1, p2 = inst.penalty[o1], inst.penalty[o2]
                if excess == 0:
                    top = max(range(len(state.burden)), key=state.burden.__getitem__)
                    relief = p1[c1][top] + p2[c2][top] - p1[c2][top] - p2[c1][top]
                    if relief < 0 or (relief == 0 and not thorough):
                        continue
                cand = sorted(
                    [
                        b - a1 - a2 + n1 + n2
                        for b, a1, a2, n1, n2 in zip(state.burden, p1[c1], p2[c2], p1[c2], p2[c1], strict=True)
                    ],
                    reverse=True,
                )
                moves = ((o1, c2), (o2, c1))
                new_excess = _excess_after(state, moves) if inst.cap is not None else 0
                if (new_excess, cand) < (excess, order) or (
                    (new_excess, cand) == (excess, order) and _better_tie(state, moves)
                ):
                    state.set(o1, c2)
                    state.set(o2, c1)
                    excess, order = state.primary()
                    improved = True


def _better_tie(state: _State, moves: Sequence[tuple[int, int]]) -> bool:
    """Whether applying ``moves`` improves the tie-breaks, given an equal primary key.

    Equal sorted burdens mean equal totals, so only slot changes (counted on the pairs
    next to a moved occurrence) and then the earliest start are compared.
    """
    slot_of, choice = state.inst.slot_of, state.choice
    new = dict(moves)
    last = len(choice) - 1
    pairs = {(o + d, o + d + 1) for o in new for d in (-1, 0) if 0 <= o + d < last}

    def slot(o: int, c: int) -> int:
        return slot_of[o][c]

    before = sum(slot(a, choice[a]) != slot(b, choice[b]) for a, b in pairs)
    after = sum(slot(a, new.get(a, choice[a])) != slot(b, new.get(b, choice[b])) for a, b in pairs)
    if after != before:
        return after < before
    first = min((o for o, c in new.items() if c != choice[o]), default=None)
    return first is not None and new[first] < choice[first]


def _kick(state: _State, rng: random.Random, strength: int) -> None:
    """Perturb a plan towards relief for its worst-off members, to leave a local optimum."""
    inst = state.inst
    members = len(state.burden)
    ranked = sorted(range(members), key=lambda m: (-state.burden[m], m))
    for _ in range(strength):
        victim = ranked[min(int(rng.expovariate(1.0)), members - 1)]
        options = [o for o in inst.free if inst.penalty[o][state.choice[o]][victim] > 0]
        if not options:
            options = list(inst.free)
        o = rng.choice(options)
        cur = inst.penalty[o][state.choice[o]][victim]
        better = [c for c, row in enumerate(inst.penalty[o]) if row[victim] < cur]
        state.set(o, rng.choice(better) if better else rng.randrange(len(inst.penalty[o])))


def _lower_the_peak(state: _State, steps: int, rng: random.Random, sample: int) -> _State:
    """Min-conflicts walk that keeps pushing every burden under a target just below the best peak.

    Leximin's first term is the peak (the maximum burden), and a plain descent stalls on
    plateaus where no single move lowers it. This walk instead minimises the total excess
    over a target, picks a member who is over it, and takes the best move that relieves
    that member (ties and a little noise chosen by the seeded generator; recent moves are
    tabu). Each time everybody fits under the target the target drops below the new peak.
    Excess night meetings, when a cap is set, count before burden excess.
    """
    inst = state.inst
    penalty, nights, free, cap = inst.penalty, inst.nights, inst.free, inst.cap
    members = len(state.burden)
    burden, choice = list(state.burden), list(state.choice)
    night_count = list(state.nights)
    best_choice, best_key = list(choice), state.primary()
    target = max(burden) - 1
    tabu: dict[tuple[int, int], int] = {}

    def night_excess(counts: Sequence[int]) -> int:
        return 0 if cap is None else sum(n - cap for n in counts if n > cap)

    def excess(values: Sequence[int]) -> int:
        return sum(v - target for v in values if v > target)

    floor = max(inst.base)  # nobody's burden can go below what they carry over
    energy = (night_excess(night_count), excess(burden))
    for step in range(steps):
        if energy[1] == 0:
            if energy[0] == 0 and max(burden) <= floor:
                break  # the peak cannot go lower
            target = max(burden) - 1
            energy = (energy[0], excess(burden))
        over = [m for m in range(members) if burden[m] > target or (cap is not None and night_count[m] > cap)]
        victim = over[rng.randrange(len(over))]
        occurrences = [o for o in free if penalty[o][choice[o]][victim] > 0 or victim in nights[o][choice[o]]]
        if not occurrences:
            continue
        if len(occurrences) > sample:
            occurrences = rng.sample(occurrences, sample)
        best_delta: tuple[int, int] | None = None
        moves: list[tuple[int, int]] = []
        for o in occurrences:
            cur = choice[o]
            before = penalty[o][cur]
            rest = [b - x for b, x in zip(burden, before, strict=True)]
            for c, after in enumerate(penalty[o]):
                if c == cur or after[victim] > before[victim] or tabu.get((o, c), -1) > step:
                    continue
                if cap is not None:
                    counts = list(night_count)
                    for m in nights[o][cur]:
                        counts[m] -= 1
                    for m in nights[o][c]:
                        counts[m] += 1
                    new_nights = night_excess(counts)
                else:
                    new_nights = 0
                if after[victim] == before[victim] and new_nights >= energy[0]:
                    continue  # relieves nobody
                new_excess = 0
                for r, a in zip(rest, after, strict=True):
                    if r + a > target:
                        new_excess += r + a - target
                delta = (new_nights, new_excess)
                if best_delta is None or delta < best_delta:
                    best_delta, moves = delta, [(o, c)]
                elif delta == best_delta:
                    moves.append((o, c))
        if not moves:
            continue
        if rng.random() < 0.1:
            o = occurrences[rng.randrange(len(occurrences))]
            c = rng.randrange(len(penalty[o]))
        else:
            o, c = moves[rng.randrange(len(moves))]
        cur = choice[o]
        if c == cur:
            continue
        tabu[(o, cur)] = step + 5
        burden = [b - x + y for b, x, y in zip(burden, penalty[o][cur], penalty[o][c], strict=True)]
        for m in nights[o][cur]:
            night_count[m] -= 1
        for m in nights[o][c]:
            night_count[m] += 1
        choice[o] = c
        energy = (night_excess(night_count), excess(burden))
        key = (energy[0], sorted(burden, reverse=True))
        if key < best_key:
            best_key, best_choice = key, list(choice)
    return _State(inst, best_choice)


def _search(inst: _Instance, steps: int, rounds: int, seed: int) -> _State:
    """Greedy start, a min-conflicts walk on the peak, then leximin polishing with seeded kicks.

    The best single slot for every occurrence is also tried as a start, so the plan is
    never worse than the simplest thing a team could do by hand.
    """
    best = _greedy(inst)
    if not inst.free:
        return best
    width = min(len(inst.starts[o]) for o in inst.free)
    for c in range(width):
        uniform = [c if o in inst.free else 0 for o in range(len(inst.starts))]
        trial = _State(inst, uniform)
        if trial.key() < best.key():
            best = trial
    _descend(best)
    rng = random.Random(seed)
    sample = max(4, 2500 // max(1, len(inst.starts[inst.free[0]]) * len(inst.members)))
    walked = _lower_the_peak(best, steps, rng, sample)
    _descend(walked)
    if walked.key() < best.key():
        best = walked
    best_key = best.key()
    current = best.copy()
    thorough = len(inst.free) <= 24  # a full swap neighbourhood is cheap on short horizons
    for r in range(rounds):
        trial = current.copy()
        _kick(trial, rng, 1 + r % 3)
        _descend(trial, thorough)
        trial_key = trial.key()
        if trial_key < best_key:
            best, best_key = trial.copy(), trial_key
            current = trial
        elif trial.primary() <= current.primary():
            current = trial
        elif r % 8 == 7:
            current = best.copy()
    _descend(best, thorough=True)
    return best


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

    inst = _build_instance(members, dates, duration, parsed, fixed, night_cap, scale)
    steps, rounds = _default_effort(inst, effort)
    state = _search(inst, steps, rounds, seed)
    return _to_plan(inst, state)


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
    """Plan a retro as the team file describes it (``every: 2w``, ``duration: 60m``, ``starts``)."""
    dates = occurrence_dates(starts, parse_every(every), count)
    return plan_rotation(
        members,
        dates,
        parse_duration(duration),
        candidates=candidates,
        fixed=fixed,
        night_cap=night_cap,
        scale=scale,
    )


def _default_effort(inst: _Instance, effort: float) -> tuple[int, int]:
    """Walk steps and polishing rounds: small instances get searched hard, large ones within seconds."""
    if effort < 0:
        raise RotationError("effort cannot be negative")
    work = max(1, len(inst.free) * max(len(s) for s in inst.starts) * len(inst.members))
    steps = round(effort * max(300, min(2000, 200_000_000 // work)))
    rounds = round(effort * max(10, min(50, 1_000_000 // work)))
    return steps, rounds


def _to_plan(inst: _Instance, state: _State) -> RotationPlan:
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
    lines.append("early: starts before 08:00 local; late: starts at or after 18:00; night: touches 22:00-06:00")
    lines.extend(plan.notes)
    return "\n".join(lines)
