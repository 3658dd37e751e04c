"""Calendar files (RFC 5545) for retro occurrences, written in the reader's own zone.

Each event's start and end carry ``TZID`` and the file embeds a ``VTIMEZONE`` built from
the zone's real transitions (``zoneinfo``) around the events, so a calendar shows the
meeting at the right wall-clock time even across a DST change. ``UID``s are derived
from the workspace, retro and occurrence date, so a re-sent file updates the same event
instead of adding a copy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

PRODID = "-//Meridian//Retros//EN"


@dataclass(frozen=True)
class CalendarEvent:
    uid: str
    start: datetime
    end: datetime
    summary: str
    description: str = ""
    location: str = ""


def event_uid(workspace: str, retro: str, day: str) -> str:
    return f"retro-{retro}-{day}@{workspace}.meridian"


def _escape(text: str) -> str:
    return (text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
            .replace("\r\n", "\\n").replace("\n", "\\n"))


def _fold(line: str) -> list[str]:
    """Lines longer than 75 octets continue on the next line after a space (RFC 5545 §3.1)."""
    out: list[str] = []
    current, size = "", 0
    for ch in line:
        width = len(ch.encode("utf-8"))
        if size + width > 75:
            out.append(current)
            current, size = " ", 1
        current += ch
        size += width
    out.append(current)
    return out


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _local(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%Y%m%dT%H%M%S")


def _offset(delta: timedelta | None) -> str:
    total = int((delta or timedelta(0)).total_seconds())
    sign = "-" if total < 0 else "+"
    total = abs(total)
    hours, rest = divmod(total, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{sign}{hours:02d}{minutes:02d}" + (f"{seconds:02d}" if seconds else "")


def _transitions(zone: ZoneInfo, first: datetime, last: datetime) -> list[datetime]:
    """UTC instants in [first, last] at which the zone's offset changes, to the second."""
    found: list[datetime] = []
    step = timedelta(hours=6)
    at = first
    while at < last:
        nxt = min(at + step, last)
        if at.astimezone(zone).utcoffset() != nxt.astimezone(zone).utcoffset():
            lo, hi = at, nxt
            while hi - lo > timedelta(seconds=1):
                mid = lo + (hi - lo) / 2
                if mid.astimezone(zone).utcoffset() == lo.astimezone(zone).utcoffset():
                    lo = mid
                else:
                    hi = mid
            found.append(hi.replace(microsecond=0))
        at = nxt
    return found


def vtimezone(tz: str, first: datetime, last: datetime) -> list[str]:
    """A ``VTIMEZONE`` covering [first, last]: the offset in force at the start, then each change."""
    zone = ZoneInfo(tz)
    begin = (first - timedelta(days=1)).astimezone(UTC)
    end = (last + timedelta(days=1)).astimezone(UTC)
    lines = ["BEGIN:VTIMEZONE", f"TZID:{tz}"]
    start_local = begin.astimezone(zone)

    def observance(at_utc: datetime, before: timedelta | None, after_local: datetime) -> list[str]:
        kind = "DAYLIGHT" if after_local.dst() else "STANDARD"
        wall = (at_utc + (before or timedelta(0))).replace(tzinfo=None)
        return [f"BEGIN:{kind}", f"DTSTART:{wall:%Y%m%dT%H%M%S}", f"TZOFFSETFROM:{_offset(before)}",
                f"TZOFFSETTO:{_offset(after_local.utcoffset())}", f"TZNAME:{after_local.tzname() or tz}",
                f"END:{kind}"]

    lines += observance(begin, start_local.utcoffset(), start_local)
    for change in _transitions(zone, begin, end):
        before = (change - timedelta(seconds=1)).astimezone(zone).utcoffset()
        lines += observance(change, before, change.astimezone(zone))
    lines.append("END:VTIMEZONE")
    return lines


def calendar(events: Sequence[CalendarEvent], tz: str, stamp: datetime, name: str = "") -> str:
    """A calendar file with every event shown in ``tz``; CRLF line ends as RFC 5545 requires."""
    zone = ZoneInfo(tz)
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", f"PRODID:{PRODID}", "CALSCALE:GREGORIAN", "METHOD:PUBLISH"]
    if name:
        lines.append(f"X-WR-CALNAME:{_escape(name)}")
    if events:
        lines += vtimezone(tz, min(e.start for e in events), max(e.end for e in events))
    for e in events:
        lines += ["BEGIN:VEVENT", f"UID:{e.uid}", f"DTSTAMP:{_utc(stamp)}",
                  f"DTSTART;TZID={tz}:{_local(e.start, zone)}", f"DTEND;TZID={tz}:{_local(e.end, zone)}",
                  f"SUMMARY:{_escape(e.summary)}"]
        if e.description:
            lines.append(f"DESCRIPTION:{_escape(e.description)}")
        if e.location:
            lines.append(f"LOCATION:{_escape(e.location)}")
        lines.append("END:VEVENT")
    lines.append("END:VCALENDAR")
    return "".join(folded + "\r\n" for line in lines for folded in _fold(line))
