"""Wall-clock arithmetic on real IANA zones.

The one rule everything here follows (DESIGN §7): a local time is turned into an
instant for a *specific local date*, with ``zoneinfo`` and ``fold=0``. That gives
RFC 5545's answer for both transitions: a time in the spring-forward gap takes the
offset from before the gap (02:30 → 03:30), and a time that happens twice at
fall-back is its first occurrence. All arithmetic between instants is done in UTC.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from bot.kernel.domain import DateRange, Member, Standup, weekday_name


class TimeInputError(ValueError):
    """A time, date, zone or duration a person typed that cannot be used; the message says why."""


@cache
def zone(name: str) -> ZoneInfo:
    """Zones by name, kept for the process: ``ZoneInfo``'s own cache holds only a few strongly."""
    return ZoneInfo(name)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def at_local(day: date, at: time, tz: str) -> datetime:
    """The UTC instant of wall time ``at`` on local date ``day`` in ``tz`` (RFC 5545 gap/fold rules)."""
    wall = datetime.combine(day, at.replace(tzinfo=None, fold=0), tzinfo=zone(tz))
    return wall.astimezone(UTC)


def local_date(instant: datetime, tz: str) -> date:
    return instant.astimezone(zone(tz)).date()


def iso_z(instant: datetime) -> str:
    """ISO 8601 in UTC with a ``Z``, to the second."""
    return instant.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def iso_local(instant: datetime, tz: str) -> str:
    return instant.astimezone(zone(tz)).replace(microsecond=0).isoformat()


REGIONS = ("Africa", "America", "Antarctica", "Arctic", "Asia", "Atlantic", "Australia", "Europe", "Indian",
           "Pacific")
"""The areas of the IANA zones people live in; the rest (``Etc/GMT+4``, ``US/Pacific``) are aliases."""


@cache
def _cities() -> dict[str, tuple[str, ...]]:
    """Each city a zone is named after, as compared (``sao paulo``), and the zones named after it."""
    found: dict[str, list[str]] = {}
    for name in sorted(available_timezones()):
        if name.split("/", 1)[0] in REGIONS and "/" in name:
            found.setdefault(_folded(place_of(name)), []).append(name)
    return {city: tuple(zones) for city, zones in found.items()}


@cache
def _by_folded_name() -> dict[str, str]:
    return {_folded(name): name for name in available_timezones()}


def _folded(text: str) -> str:
    """Accents stripped, case folded, ``_`` and runs of spaces as one space: ``São_Paulo`` → ``sao paulo``."""
    bare = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return " ".join(bare.replace("_", " ").casefold().split())


def place_of(tz: str) -> str:
    """The city a zone is named after, as people say it: ``America/Sao_Paulo`` → ``Sao Paulo``."""
    return tz.rsplit("/", 1)[-1].replace("_", " ")


def zone_suggestions(text: str, limit: int = 3) -> list[str]:
    """Real zones spelled close to ``text``, by full name or by city (``Europe/Lisbn``, ``lisbn``)."""
    key = _folded(text)
    names = _by_folded_name()
    close = [names[n] for n in difflib.get_close_matches(key, list(names), n=limit, cutoff=0.85)]
    cities = _cities()
    for city in difflib.get_close_matches(_folded(place_of(text)), list(cities), n=limit, cutoff=0.8):
        close.extend(z for z in cities[city] if z not in close)
    return close[:limit]


def validate_zone(name: str) -> str:
    """Accept a real IANA zone name; anything else is a user error with the nearest real names."""
    try:
        if name and ("/" in name or name in {"UTC", "Etc/UTC"}):
            ZoneInfo(name)
            return name
    except (ZoneInfoNotFoundError, ValueError, IsADirectoryError):
        pass
    close = zone_suggestions(name) if name else []
    hint = (f" Did you mean {' or '.join(close)}?" if close
            else " Use a name like Europe/Berlin or Asia/Kolkata.")
    what = "a known time zone" if "/" in name else "an IANA time zone"
    raise TimeInputError(f"`{name}` is not {what}.{hint}")


def resolve_zone(text: str) -> str:
    """The zone a person means: an IANA name in any case, or a city a zone is named after (``lisbon``,
    ``São Paulo``) when exactly one zone is; anything else is refused with the nearest real names."""
    key = _folded(text)
    named = _by_folded_name().get(key)
    if named is not None and ("/" in named or named in {"UTC", "Etc/UTC"}):
        return named
    zones = _same_clock(_cities().get(_folded(place_of(text)) if "/" in text else key, ()))
    if len(zones) == 1 and ("/" not in text or _folded(zones[0]).startswith(_folded(text.split("/", 1)[0]))):
        return zones[0]
    if len(zones) > 1:
        raise TimeInputError(f"`{text}` could be {' or '.join(zones)}; give the full name.")
    return validate_zone(text)


def _same_clock(zones: tuple[str, ...]) -> tuple[str, ...]:
    """One zone when several names keep the same clock (``America/Buenos_Aires`` is a link to
    ``America/Argentina/Buenos_Aires``): a city is ambiguous only when its zones differ."""
    if len(zones) < 2:
        return zones
    instants = [datetime(2020, 1, 1, tzinfo=UTC) + timedelta(days=15 * i) for i in range(60)]
    clocks = {tuple(i.astimezone(zone(z)).utcoffset() for i in instants) for z in zones}
    return zones[:1] if len(clocks) == 1 else zones


def zone_label(local: datetime, tz: str) -> str:
    """A zone's short name at that instant, with its city when the short name is only an offset
    (``+04 Dubai``, never a bare ``+04``)."""
    short = local.tzname() or tz
    if short[:1] in "+-" and "/" in tz:
        return f"{short} {place_of(tz)}"
    return short


_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def parse_hhmm(text: str) -> time:
    m = _HHMM.match(text.strip())
    if not m:
        raise TimeInputError(f"`{text}` is not a time of day; write it as HH:MM, for example 09:30.")
    return time(int(m.group(1)), int(m.group(2)))


def parse_hours(text: str) -> tuple[time, time]:
    parts = text.split("-")
    if len(parts) != 2:
        raise TimeInputError(f"`{text}` is not a range of hours; write it as HH:MM-HH:MM, for example 08:00-16:00.")
    start, end = parse_hhmm(parts[0]), parse_hhmm(parts[1])
    if start == end:
        raise TimeInputError(f"`{text}` starts and ends at the same time.")
    return start, end


def parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise TimeInputError(f"`{text}` is not a date; write it as YYYY-MM-DD, for example 2027-01-04.") from None


def parse_date_range(text: str) -> DateRange:
    """``2026-12-24..2027-01-02`` (inclusive) or a single date."""
    if ".." in text:
        first_s, last_s = text.split("..", 1)
        first, last = parse_date(first_s), parse_date(last_s)
    else:
        first = last = parse_date(text)
    if last < first:
        raise TimeInputError(f"`{text}` ends before it starts; write the earlier date first.")
    return DateRange(first, last)


_DURATION = re.compile(r"(\d+)\s*(w|d|h|m|s)")
_UNITS = {"w": timedelta(weeks=1), "d": timedelta(days=1), "h": timedelta(hours=1),
          "m": timedelta(minutes=1), "s": timedelta(seconds=1)}


def parse_duration(text: str) -> timedelta:
    """``90m``, ``2d``, ``1h30m``, ``2w``."""
    compact = text.strip().lower().replace(" ", "")
    if not compact or _DURATION.sub("", compact):
        raise TimeInputError(f"`{text}` is not a duration; write it like 90m, 2h, 1h30m, 2d or 2w.")
    return sum((int(n) * _UNITS[u] for n, u in _DURATION.findall(compact)), timedelta())


def parse_instant(text: str) -> datetime:
    """An ISO 8601 instant with an offset or ``Z``; a bare one is refused rather than guessed."""
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise TimeInputError(f"`{text}` is not an instant; write it like 2027-03-15T13:00Z.") from None
    if value.tzinfo is None:
        raise TimeInputError(f"`{text}` has no offset; add Z or +HH:MM so it names one instant.")
    return value.astimezone(UTC)


def member_days(member: Member, first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


def is_standup_day(member: Member, standup: Standup, day: date) -> bool:
    """DESIGN §7: the stand-up's day, the member's workday, and neither out of office nor a public holiday of
    their calendar (``Member.works_on``). Reminders and nudges both ask this when they are due."""
    return weekday_name(day) in standup.days and member.works_on(day)


def reminder_at(member: Member, standup: Standup, day: date) -> datetime:
    return at_local(day, standup.remind_at, member.tz)


def cutoff_at(member: Member, standup: Standup, day: date) -> datetime:
    """When a member's answers for ``day`` close: the stand-up's cut-off, else the end of their hours."""
    end = standup.cutoff or member.hours.end
    instant = at_local(day, end, member.tz)
    if instant <= reminder_at(member, standup, day):
        instant = at_local(day + timedelta(days=1), end, member.tz)
    return instant


def next_standup_day(member: Member, standup: Standup, after: date, limit_days: int = 400) -> date | None:
    """The first stand-up day for this member strictly after ``after``."""
    day = after + timedelta(days=1)
    for _ in range(limit_days):
        if is_standup_day(member, standup, day):
            return day
        day += timedelta(days=1)
    return None
