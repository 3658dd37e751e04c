"""Small text pieces the digests share: sparklines, numbers, durations, times.

Kept apart from the digest logic so they can be read, and tested, on their own.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

BARS = "▁▂▃▄▅▆▇█"
GAP = "·"


def sparkline(values: Sequence[float | None]) -> str:
    """Eight-level bars that read in every client; a missing value is a middle dot."""
    known = [v for v in values if v is not None and math.isfinite(v)]
    if not known:
        return GAP * len(values)
    low, high = min(known), max(known)
    span = high - low
    out = []
    for v in values:
        if v is None or not math.isfinite(v):
            out.append(GAP)
        elif span == 0:
            out.append(BARS[3])
        else:
            out.append(BARS[min(7, int((v - low) / span * 8))])
    return "".join(out)


def number(value: float | None) -> str:
    """Metric values as people read them: 4 significant digits, scientific when tiny."""
    if value is None:
        return "n/a"
    if value == 0:
        return "0"
    if abs(value) < 1e-3 or abs(value) >= 1e6:
        return f"{value:.2e}"
    return f"{value:.4g}"


def signed(delta: float) -> str:
    text = number(abs(delta))
    return f"+{text}" if delta >= 0 else f"−{text}"


def percent(share: float | None) -> str:
    return "n/a" if share is None else f"{share * 100:.0f}%"


def duration(span: timedelta) -> str:
    minutes = max(0, int(span.total_seconds() // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h" if hours else f"{days}d"
    if hours:
        return f"{hours}h {mins:02d}m" if mins else f"{hours}h"
    return f"{mins}m"


def clock(instant: datetime, tz: str, now: datetime | None = None) -> str:
    """``08:00`` today, ``Tue 08:00`` within a week, the date otherwise (in the digest's zone)."""
    local = instant.astimezone(ZoneInfo(tz))
    if now is not None:
        today = now.astimezone(ZoneInfo(tz)).date()
        if local.date() == today:
            return local.strftime("%H:%M")
        if timedelta(0) <= today - local.date() < timedelta(days=7):
            return local.strftime("%a %H:%M")
    return local.strftime("%Y-%m-%d %H:%M")
