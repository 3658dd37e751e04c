"""A year of a random team, whole: no DM Meridian starts lands in someone's night, on their day off, on their
public holiday or while they are away, except the reminders they configured (the stand-up's own time, a
meeting's 15 minutes); and nobody carries burden for a retro they were away from.

The team is random (zones from San Francisco to Auckland, working weeks, hours, quiet hours, holiday
calendars, time off in the team file and time off and hours changed by command during the year) and runs
through the same composition and the same console commands as ``meridian console``. What counts as a
person's night, holiday or day away is worked out here from the generated inputs and the ``holidays``
package, not read back from Meridian.
"""

from __future__ import annotations

import asyncio
import io
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.console.chat import ConsoleMessage
from adapters.console.session import ConsoleSession
from bot.retros.context import RetroContext
from bot.retros.plan import ledger
from storage.kernel.repo import SqlStore
from tests.conftest import Harness, _truncate
from tests.integration.test_retros import repo

YEAR_START = datetime(2027, 1, 1, tzinfo=UTC)
YEAR_END = datetime(2028, 1, 1, tzinfo=UTC)
ZONES = ["America/Los_Angeles", "America/Sao_Paulo", "Europe/London", "Europe/Berlin", "Asia/Dubai",
         "Asia/Kolkata", "Asia/Tokyo", "Australia/Sydney", "Pacific/Auckland"]
CALENDARS = [None, ("US", "CA"), ("GB", None), ("DE", "BE"), ("IN", "KA"), ("AE", None), ("AU", "NSW"),
             ("NZ", None), ("JP", None), ("BR", "SP")]
WEEKS = {"mon-fri": (0, 1, 2, 3, 4), "sun-thu": (6, 0, 1, 2, 3), "tue-sat": (1, 2, 3, 4, 5)}
DAY_NAMES = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
REMIND_AT = time(9, 30)


@dataclass
class Person:
    id: str
    tz: str
    week: tuple[int, ...]
    start: time
    quiet: tuple[time, time]
    calendar: tuple[str, str | None] | None
    time_off: list[tuple[date, date]]
    changes: list[tuple[datetime, str, tuple[date, date] | None]] = field(default_factory=list)
    """(when, command, the time off it adds)"""

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)

    def away_on(self, day: date, at: datetime) -> bool:
        """Away on a local date as of ``at``: a holiday, time off in the file, or time off asked for by then."""
        if self.calendar and day in holidays.country_holidays(self.calendar[0], subdiv=self.calendar[1],
                                                              years=day.year):
            return True
        spans = self.time_off + [span for when, _, span in self.changes if span is not None and when <= at]
        return any(first <= day <= last for first, last in spans)

    def asleep(self, local: datetime) -> bool:
        begin, end = self.quiet
        moment = local.time()
        return moment >= begin or moment < end


def _team_yaml(people: list[Person]) -> str:
    lines = ["workspace: acme", "members:"]
    for i, p in enumerate(people):
        cal = "none" if p.calendar is None else "-".join(x for x in p.calendar if x)
        hours = f"{p.start:%H:%M}-{(datetime.combine(date.min, p.start) + timedelta(hours=8)).time():%H:%M}"
        off = ", ".join(f'"{a.isoformat()}..{b.isoformat()}"' for a, b in p.time_off)
        lines.append(f"  - {{id: {p.id}, name: {p.id.title()}, tz: {p.tz}, admin: {str(i == 0).lower()}, "
                     f"workdays: [{', '.join(DAY_NAMES[d] for d in p.week)}], hours: \"{hours}\", "
                     f"quiet: \"{p.quiet[0]:%H:%M}-{p.quiet[1]:%H:%M}\", holidays: {cal}, ooo: [{off}]}}")
    ids = [p.id for p in people]
    lines += [
        "standups:",
        f'  - {{name: daily, channel: "#ml", remind_at: "{REMIND_AT:%H:%M}", '
        "days: [mon, tue, wed, thu, fri, sat, sun], members: all}",
        "raci:",
        f"  - {{activity: churn model, R: [{ids[0]}], A: {ids[-1]}, C: [{', '.join(ids[1:-1]) or ids[0]}]}}",
        "retros:",
        '  - {name: retro, channel: "#ml", every: 2w, duration: 60m, starts: "2027-01-04", members: all}',
    ]
    return "\n".join(lines) + "\n"


@st.composite
def teams(draw: st.DrawFn) -> list[Person]:
    people = []
    for i in range(draw(st.integers(3, 4))):
        off = []
        for _ in range(draw(st.integers(0, 2))):
            first = date(2027, 1, 1) + timedelta(days=draw(st.integers(0, 350)))
            off.append((first, first + timedelta(days=draw(st.integers(0, 13)))))
        people.append(Person(
            id=f"p{i}", tz=draw(st.sampled_from(ZONES)), week=WEEKS[draw(st.sampled_from(sorted(WEEKS)))],
            start=time(draw(st.integers(7, 10)), draw(st.sampled_from([0, 30]))),
            quiet=(time(draw(st.integers(20, 23)), draw(st.sampled_from([0, 30]))),
                   time(draw(st.integers(5, 7)), draw(st.sampled_from([0, 30])))),
            calendar=draw(st.sampled_from(CALENDARS)), time_off=off))
    # During the year: someone asks for time off (a week or so, some weeks ahead), someone changes their hours;
    # both re-plan the retro and send people news that must wait for their working hours.
    for _ in range(draw(st.integers(1, 3))):
        p = draw(st.sampled_from(people))
        when = YEAR_START + timedelta(days=draw(st.integers(5, 330)), minutes=draw(st.integers(0, 24 * 60 - 1)))
        first = when.date() + timedelta(days=draw(st.integers(3, 30)))
        span = (first, first + timedelta(days=draw(st.integers(0, 9))))
        p.changes.append((when, f"/meridian ooo {span[0].isoformat()}..{span[1].isoformat()}", span))
    p = draw(st.sampled_from(people))
    when = YEAR_START + timedelta(days=draw(st.integers(5, 330)), hours=draw(st.integers(0, 23)))
    p.changes.append((when, "/meridian hours 07:00-15:00", None))
    return people


def _script(people: list[Person]) -> list[tuple[datetime, str, str]]:
    return sorted((when, p.id, command) for p in people for when, command, _ in p.changes)


async def _live_the_year(h: Harness, people: list[Person]) -> set[tuple[str, datetime]]:
    """Run the year with the commands at their instants; returns (member, instant) of each command typed."""
    session = ConsoleSession(h.app, h.chat, h.clock, "acme", out=io.StringIO())
    typed = set()
    for when, who, command in _script(people):
        assert await session.run_line(f":at {when:%Y-%m-%dT%H:%MZ}") is not False
        assert await session.run_line(f":as {who}") is not False
        assert await session.run_line(command) is not False, command
        typed.add((who, h.clock.now()))
    await h.advance_to(YEAR_END)
    return typed


def _configured(m: ConsoleMessage, local: datetime) -> bool:
    """A reminder the person configured: the stand-up at its own time, or a meeting's 15 minutes (the meeting is
    when it is; its reminder goes with it)."""
    key = m.key or ""
    if ":dm:" in key and key.endswith(":reminder") and key.startswith("standup:"):
        return local.time().replace(second=0, microsecond=0) == REMIND_AT
    return ":remind15m:" in key


def _violations(h: Harness, people: list[Person], typed: set[tuple[str, datetime]]) -> list[str]:
    found = []
    for p in people:
        for m in h.dms(p.id):
            if (p.id, m.at) in typed:  # the answer to a command they typed just then
                continue
            local = m.at.astimezone(p.zone)
            what = f"{p.id} {m.at:%Y-%m-%d %H:%MZ} ({local:%a %H:%M} local) {m.key}: {m.text[:60]!r}"
            if p.away_on(local.date(), m.at):
                found.append("away: " + what)
            elif not _configured(m, local) and (p.asleep(local) or local.weekday() not in p.week):
                found.append("quiet or day off: " + what)
    return found


@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(teams())
def test_a_year_of_a_random_team_sends_no_dm_into_a_night_a_holiday_or_time_away(
        sqlite_url: str, people: list[Person]) -> None:
    store = SqlStore.from_url(sqlite_url, create=False)
    _truncate(store)
    try:
        h = Harness(store, YEAR_START)
        h.load(_team_yaml(people))
        typed = asyncio.run(_live_the_year(h, people))
        sent = [m for p in people for m in h.dms(p.id)]
        assert len(sent) > 200  # a year of reminders, nudges and retro notices went out at all
        violations = _violations(h, people, typed)
        assert not violations, "\n".join(violations[:20])
        # nobody pays for a retro they were away from
        ctx = RetroContext(h.app, repo(h))
        charged = {(e.member, e.day): e.penalty for e in ledger(ctx, repo(h).get_retro("acme", "retro"))}
        by_id = {p.id: p for p in people}
        published = [o for o in repo(h).occurrences("acme", "retro") if o.published and o.start is not None]
        assert len(published) >= 20
        for occ in published:
            assert occ.start is not None
            for pid, p in by_id.items():
                if p.away_on(occ.start.astimezone(p.zone).date(), YEAR_END):  # time off marked later counts too
                    assert charged.get((pid, occ.day), 0.0) == 0.0, (pid, occ.day)
    finally:
        store.engine.dispose()
