"""How much public holidays add to the question every planner asks: ``Member.works_on(day)``.

Run ``python benchmarks/holiday_lookup.py``. It asks ``works_on`` for every day of a year for a
1,000-member team spread over the demo team's six calendars (365,000 questions), three ways:
members with no calendar (the baseline: what the question cost before holidays), members with a
calendar after its years are cached (the steady state), and the first pass, which builds each
country's year once from the ``holidays`` package (the cold cost, paid once per process).
"""

from __future__ import annotations

import sys
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.kernel.calendars import HolidayCalendar, public_holidays
from bot.kernel.domain import DateRange, Member

CALENDARS = [HolidayCalendar("US", "CA"), HolidayCalendar("BR", "SP"), HolidayCalendar("DE", "BE"),
             HolidayCalendar("AE"), HolidayCalendar("IN", "KA"), HolidayCalendar("AU", "NSW")]
DAYS = [date(2027, 1, 1) + timedelta(days=i) for i in range(365)]
OOO = (DateRange(date(2027, 4, 1), date(2027, 4, 9)), DateRange(date(2027, 12, 20), date(2027, 12, 31)))


def team(with_calendars: bool) -> list[Member]:
    return [Member("w", f"m{i}", f"M{i}", ooo=OOO, holidays=CALENDARS[i % 6] if with_calendars else None)
            for i in range(1000)]


def timed(members: list[Member]) -> tuple[float, int]:
    start = time.perf_counter()
    working = sum(m.works_on(day) for m in members for day in DAYS)
    return time.perf_counter() - start, working


def main() -> None:
    public_holidays.cache_clear()
    baseline, _ = timed(team(False))
    cold, _ = timed(team(True))
    warm, working = timed(team(True))
    per = 1e9 / (len(DAYS) * 1000)
    print(f"works_on for 1,000 members x 365 days ({len(DAYS) * 1000:,} questions), {working:,} working days")
    print(f"  baseline, no calendar:          {baseline:6.3f} s  ({baseline * per:5.0f} ns each)")
    print(f"  with calendars, years cached:   {warm:6.3f} s  ({warm * per:5.0f} ns each)")
    print(f"  first pass (6 years built):     {cold:6.3f} s  (cache: {public_holidays.cache_info().currsize} years)")


if __name__ == "__main__":
    main()
