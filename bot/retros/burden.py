"""The burden model: what one meeting costs one member, and the types a rotation plan is made of.

* Each local clock hour has a *pain density* (the documented default is
  ``DEFAULT_HOURLY_PAIN``), drawn for a 09:00-17:00 day and shifted for members whose
  working day starts elsewhere.
* A meeting's penalty for a member is the mean density over its minutes, sampled every
  five minutes (so half-hour and 45-minute zones count right), plus a flat penalty when
  the local date of the start is one of the member's non-working days. Local times are
  computed with ``zoneinfo`` for each occurrence's real date, so DST is honoured.
* A member's *burden* is the carried-over burden plus the penalties of the plan.
* A member who is away (out of office, a holiday) on the local date a meeting starts for
  them is *absent* from it: it costs them nothing and is no night meeting for them, so the
  slot is chosen for those present. Leaving someone out is no free gain for the search:
  their burden stays lower, and leximin hands them more of the later pain.

Pure: no I/O, no clock. ``bot.retros.leximin`` searches for the fairest plan under this
model; ``bot.retros.rotation`` is the entry point callers use.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

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
    away: frozenset[date] = frozenset()
    """Local dates the member is away (out of office, a holiday): a meeting starting on one costs them nothing."""

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
    away: frozenset[str] = frozenset()
    """Members absent from this occurrence (away on its local date): their penalty is 0."""


@dataclass(frozen=True)
class RotationPlan:
    """The chosen start of every occurrence and each member's resulting cumulative burden."""

    occurrences: list[PlannedOccurrence]
    burden: dict[str, float]
    night_cap_met: bool = True
    notes: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- penalties


def shift_minutes(member: Member, scale: PainScale) -> int:
    anchor = scale.anchor.hour * 60 + scale.anchor.minute
    return member.hours[0].hour * 60 + member.hours[0].minute - anchor


def sample_count(duration: timedelta, scale: PainScale) -> int:
    minutes = int(duration.total_seconds() // 60)
    return max(1, -(-minutes // scale.sample_minutes))


def local_sample_minutes(zone: ZoneInfo, start_utc: datetime, count: int, step: int) -> list[int]:
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


def is_night_minute(minute: int) -> bool:
    return minute >= NIGHT_START_MINUTE or minute < NIGHT_END_MINUTE


def meeting_penalty(
    member: Member, start_utc: datetime, duration: timedelta, scale: PainScale = DEFAULT_PAIN
) -> float:
    """The penalty of one meeting for one member (see the module docstring for the model)."""
    start_utc = as_utc(start_utc)
    if is_absent(member, start_utc):
        return 0.0
    count = sample_count(duration, scale)
    shift = shift_minutes(member, scale)
    samples = local_sample_minutes(member.zone, start_utc, count, scale.sample_minutes)
    pain = sum(scale.hourly[((m - shift) % MINUTES_PER_DAY) // 60] for m in samples) / count
    if start_utc.astimezone(member.zone).weekday() not in member.workdays:
        pain += scale.non_working_day
    return pain


def is_night_meeting(
    member: Member, start_utc: datetime, duration: timedelta, scale: PainScale = DEFAULT_PAIN
) -> bool:
    """Whether any sampled minute of the meeting falls in the member's local 22:00-06:00 (never when absent)."""
    if is_absent(member, as_utc(start_utc)):
        return False
    count = sample_count(duration, scale)
    samples = local_sample_minutes(member.zone, as_utc(start_utc), count, scale.sample_minutes)
    return any(is_night_minute(m) for m in samples)


def is_absent(member: Member, start_utc: datetime) -> bool:
    """Whether the member is away on the local date the meeting starts for them."""
    return bool(member.away) and start_utc.astimezone(member.zone).date() in member.away


def as_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise RotationError(f"{moment.isoformat()} has no time zone: give start times in UTC")
    return moment.astimezone(UTC)
