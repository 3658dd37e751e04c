"""The leximin search behind the fair rotation: integer matrices, a greedy start and local search.

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
reproducible across platforms. The objective is described in ``bot.retros.rotation``.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from bot.retros.burden import (
    MINUTES_PER_DAY,
    Member,
    PainScale,
    as_utc,
    is_night_minute,
    local_sample_minutes,
    sample_count,
    shift_minutes,
)

# --------------------------------------------------------------------------- the instance


@dataclass
class Instance:
    """Everything the search needs, as integer matrices indexed [occurrence][candidate][member]."""

    members: list[Member]
    starts: list[list[datetime]]  # per occurrence, candidate starts in ascending order
    slot_of: list[list[int]]  # per occurrence, candidate start as UTC minute of day (for "changes")
    penalty: list[list[list[int]]]  # quantised penalties
    nights: list[list[tuple[int, ...]]]  # indices of members for whom that start is a night meeting
    away: list[list[tuple[int, ...]]]  # indices of members absent at that start (penalty 0, no night)
    free: list[int]  # occurrences the search may change
    base: list[int]  # quantised carried-over burden
    quantum: float  # 1 unit of the integer grid, in penalty points
    cap: int | None


def build_instance(
    members: Sequence[Member],
    dates: Sequence[date],
    duration: timedelta,
    candidates: Sequence[time] | None,
    fixed: Mapping[date, datetime],
    night_cap: int | None,
    scale: PainScale,
) -> Instance:
    """Compute every penalty once; penalties depend only on local times, so they are cached.

    Within a UTC day a zone's offset is almost always constant, so a meeting's local
    samples are its local start plus multiples of the step; only on transition days are
    samples converted one by one.
    """
    count = sample_count(duration, scale)
    step = scale.sample_minutes
    # One penalty point is ``count * 1000`` units: exact for densities with up to three decimals.
    units = count * 1000
    day_candidates = list(candidates) if candidates is not None else [time(h, m) for h in range(24) for m in (0, 30)]
    zones = sorted({m.tz for m in members})
    zone_index = {tz: z for z, tz in enumerate(zones)}
    profiles = [(zone_index[m.tz], shift_minutes(m, scale), m.workdays, m.away) for m in members]
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
    away: list[list[tuple[int, ...]]] = []
    free: list[int] = []
    for index, day in enumerate(dates):
        if day in fixed:
            day_starts = [as_utc(fixed[day])]
        else:
            day_starts = [datetime.combine(day, t, tzinfo=UTC) for t in day_candidates]
            free.append(index)
        first_start, last_end = min(day_starts), max(day_starts) + span
        # local[z][c] = (samples, weekday of the local start, local date of the start)
        local: list[list[tuple[tuple[int, ...], int, date]]] = []
        for tz in zones:
            zone = ZoneInfo(tz)
            offset = first_start.astimezone(zone).utcoffset()
            steady = offset == last_end.astimezone(zone).utcoffset() and offset is not None
            per_candidate = []
            for start in day_starts:
                if steady and offset is not None:
                    wall = start + offset
                    samples = regular_samples(wall.hour * 60 + wall.minute)
                    weekday, local_day = wall.weekday(), wall.date()
                else:
                    samples = tuple(local_sample_minutes(zone, start, count, step))
                    moment = start.astimezone(zone)
                    weekday, local_day = moment.weekday(), moment.date()
                per_candidate.append((samples, weekday, local_day))
            local.append(per_candidate)
        absent = [tuple(i for i, (z, _s, _w, gone) in enumerate(profiles) if gone and local[z][c][2] in gone)
                  for c in range(len(day_starts))]
        starts.append(day_starts)
        slot_of.append([s.hour * 60 + s.minute for s in day_starts])
        rows: list[list[int]] = []
        night_rows: list[tuple[int, ...]] = []
        for c in range(len(day_starts)):
            row = []
            night_members = []
            out = set(absent[c])
            for i, (z, shift, workdays, _gone) in enumerate(profiles):
                if i in out:
                    row.append(0)
                    continue
                samples, weekday, _day = local[z][c]
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
        away.append(absent)
    base = [round(m.burden * units) for m in members]
    return Instance(list(members), starts, slot_of, penalty, nights, away, free, base, 1.0 / units, night_cap)


@lru_cache(maxsize=4096)
def _night_samples(samples: tuple[int, ...]) -> bool:
    return any(is_night_minute(m) for m in samples)


# --------------------------------------------------------------------------- the search


class State:
    """A plan under construction with its burdens and night counts kept up to date."""

    __slots__ = ("burden", "choice", "inst", "nights")

    def __init__(self, inst: Instance, choice: list[int]) -> None:
        self.inst = inst
        self.choice = choice
        self.burden = list(inst.base)
        self.nights = [0] * len(inst.members)
        for o, c in enumerate(choice):
            for m, p in enumerate(inst.penalty[o][c]):
                self.burden[m] += p
            for m in inst.nights[o][c]:
                self.nights[m] += 1

    def copy(self) -> State:
        other = State.__new__(State)
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


def _excess_after(state: State, changes: Sequence[tuple[int, int]]) -> int:
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


def _greedy(inst: Instance) -> State:
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
    return State(inst, choice)


def _descend(state: State, thorough: bool = False) -> None:
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


def _better_tie(state: State, moves: Sequence[tuple[int, int]]) -> bool:
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


def _kick(state: State, rng: random.Random, strength: int) -> None:
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


def _lower_the_peak(state: State, steps: int, rng: random.Random, sample: int) -> State:
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
    return State(inst, best_choice)


def search(inst: Instance, steps: int, rounds: int, seed: int) -> State:
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
        trial = State(inst, uniform)
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
