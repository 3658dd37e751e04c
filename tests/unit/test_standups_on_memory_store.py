"""Stand-up rules, run fast: the real ``Meridian`` with only ``Standups`` and ``People`` installed,
on the memory store, a simulated clock and the console chat.

The integration tests walk the same day through the full app on SQLite and PostgreSQL;
here each rule is checked on its own in milliseconds, so a rule about zones, workdays,
nudges or the summary can be pinned down without a database.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from adapters.console.chat import ConsoleChat, ConsoleMessage
from bot.kernel.app import IncomingMessage, Meridian
from bot.kernel.clock import SimulatedClock
from bot.kernel.commands import Invocation
from bot.kernel.people import People
from bot.kernel.team import apply_team
from bot.kernel.teamfile import parse_team
from bot.standups.install import Standups
from tests.memory_store import MemoryStore

WS = "acme"
ALL_WEEK = "[mon, tue, wed, thu, fri, sat, sun]"
TEAM = f"""
workspace: {WS}
members:
  - {{id: alice, name: Alice, tz: America/New_York, admin: true}}
  - {{id: ravi, name: Ravi, tz: Asia/Kathmandu}}
  - {{id: omar, name: Omar, tz: Asia/Riyadh, workdays: [sun, mon, tue, wed, thu]}}
standups:
  - {{name: daily, channel: "#ml", remind_at: "09:30", days: {ALL_WEEK}, nudge_after: 2h, tz: Europe/London}}
"""
"""The stand-up runs every day; each member's workdays decide whether it is theirs.

The week of Monday 15 March 2027: New York is on EDT (UTC-4, since the 14th), Kathmandu
is UTC+05:45, Riyadh UTC+3. So 09:30 local is 13:30Z, 03:45Z and 06:30Z, and 17:00 local
(the end of default working hours, each member's cut-off) is 21:00Z, 11:15Z and 14:00Z.
"""


def utc(month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2027, month, day, hour, minute, tzinfo=UTC)


@dataclass
class World:
    app: Meridian
    clock: SimulatedClock
    chat: ConsoleChat

    def dms(self, member: str, marker: str) -> list[datetime]:
        return [m.at for m in self.chat.messages if m.channel == f"@{member}" and marker in m.text]

    def reminders(self, member: str) -> list[datetime]:
        return self.dms(member, "☀️ Stand-up:")

    def nudges(self, member: str) -> list[datetime]:
        return self.dms(member, "⏰ Still open:")

    def summaries(self, channel: str = "#ml") -> list[ConsoleMessage]:
        return [m for m in self.chat.in_channel(channel) if m.thread and "summary —" in m.text]

    async def advance_to(self, instant: datetime) -> None:
        await self.app.engine.advance_to(instant, self.clock)

    async def answer_by_dm(self, member_id: str, *answers: str) -> None:
        member = self.app.store.get_member(WS, member_id)
        assert member is not None
        for text in answers:
            assert await self.app.message(IncomingMessage(WS, member, text, None, True))

    async def run(self, member_id: str, line: str) -> str:
        member = self.app.store.get_member(WS, member_id)
        assert member is not None
        family, _, text = line.lstrip("/").partition(" ")
        reply = await self.app.command(Invocation(WS, member, family, text, channel="#ml"))
        assert reply.message is not None
        return reply.message.fallback


def world(start: datetime, team: str = TEAM) -> World:
    clock = SimulatedClock(start)
    chat = ConsoleChat(clock, out=io.StringIO())
    app = Meridian(MemoryStore(), clock, {"console": chat}, worker_id="test")
    app.install([Standups(), People()])
    apply_team(app, parse_team(team, "team.yaml", app.sections), platform="console")
    return World(app, clock, chat)


async def test_each_member_is_reminded_once_at_0930_local_on_their_own_workdays() -> None:
    w = world(utc(3, 15))
    await w.advance_to(utc(3, 22))

    weekdays = range(15, 20)
    assert w.reminders("alice") == [utc(3, d, 13, 30) for d in weekdays]
    assert w.reminders("ravi") == [utc(3, d, 3, 45) for d in weekdays]
    assert w.reminders("omar") == [utc(3, d, 6, 30) for d in (15, 16, 17, 18, 21)]  # Sunday to Thursday
    for member, zone in (("alice", "America/New_York"), ("ravi", "Asia/Kathmandu"), ("omar", "Asia/Riyadh")):
        assert {at.astimezone(ZoneInfo(zone)).strftime("%H:%M") for at in w.reminders(member)} == {"09:30"}


NIGHT_OWL = f"""
workspace: {WS}
members:
  - {{id: nora, name: Nora, tz: America/New_York, workdays: {ALL_WEEK}}}
standups:
  - {{name: night, channel: "#ops", remind_at: "{{at}}", days: {ALL_WEEK}}}
"""


async def test_a_reminder_in_the_spring_forward_gap_fires_at_the_rfc5545_instant() -> None:
    """02:30 does not exist in New York on 14 March 2027; it is taken with the offset before the gap."""
    w = world(utc(3, 13, 12), NIGHT_OWL.replace("{at}", "02:30"))
    await w.advance_to(utc(3, 15))

    assert w.reminders("nora") == [utc(3, 14, 7, 30)]
    local = w.reminders("nora")[0].astimezone(ZoneInfo("America/New_York"))
    assert (f"{local:%H:%M}", local.tzname()) == ("03:30", "EDT")


async def test_a_reminder_in_the_fall_back_hour_fires_once_at_its_first_occurrence() -> None:
    """01:30 happens twice in New York on 7 November 2027 (EDT, then EST); Nora hears from us once."""
    w = world(datetime(2027, 11, 6, 12, tzinfo=UTC), NIGHT_OWL.replace("{at}", "01:30"))
    await w.advance_to(datetime(2027, 11, 8, tzinfo=UTC))

    assert w.reminders("nora") == [datetime(2027, 11, 7, 5, 30, tzinfo=UTC)]
    local = w.reminders("nora")[0].astimezone(ZoneInfo("America/New_York"))
    assert (f"{local:%H:%M}", local.tzname()) == ("01:30", "EDT")


async def test_no_reminder_on_an_out_of_office_day_and_the_summary_counts_the_member_away() -> None:
    team = TEAM.replace("tz: Asia/Kathmandu}", 'tz: Asia/Kathmandu, ooo: ["2027-03-16"]}')
    w = world(utc(3, 15), team)
    await w.advance_to(utc(3, 18))

    assert w.reminders("ravi") == [utc(3, 15, 3, 45), utc(3, 17, 3, 45)]
    assert w.nudges("ravi") == [utc(3, 15, 5, 45), utc(3, 17, 5, 45)]
    tuesday = [s.text for s in w.summaries() if "Tue 16 Mar 2027" in s.text]
    assert len(tuesday) == 1 and "Away (1): Ravi" in tuesday[0]


async def test_one_nudge_after_nudge_after_for_the_silent_and_none_for_who_answered() -> None:
    w = world(utc(3, 15, 3))
    await w.advance_to(utc(3, 15, 4))
    await w.answer_by_dm("ravi", "Trained v7", "Evaluate v7", "none")
    await w.advance_to(utc(3, 15, 20))

    assert w.nudges("ravi") == []
    assert w.nudges("omar") == [utc(3, 15, 8, 30)]
    assert w.nudges("alice") == [utc(3, 15, 15, 30)]


async def test_skip_today_stops_that_days_nudge_but_not_the_next_days_reminder() -> None:
    w = world(utc(3, 15, 13))
    await w.advance_to(utc(3, 15, 14))

    said = await w.run("alice", "/standup skip today")

    assert said == "Skipped daily for Mon 15 Mar 2027. No more reminders for that day."
    alice = w.app.store.get_member(WS, "alice")
    assert alice is not None
    # the DM is answered (no stand-up is open, the next is Tuesday's) but never taken as Monday's answer
    assert await w.app.message(IncomingMessage(WS, alice, "an answer after all", None, True))
    assert w.dms("alice", "No stand-up is open") == [utc(3, 15, 14)]
    run = w.app.store.get_run(WS, "daily", "alice", utc(3, 15).date())
    assert run is not None and run.status == "skipped" and run.answers == ()
    await w.advance_to(utc(3, 16, 16))
    assert w.reminders("alice") == [utc(3, 15, 13, 30), utc(3, 16, 13, 30)]
    assert w.nudges("alice") == [utc(3, 16, 15, 30)]
    monday = [s.text for s in w.summaries() if "Mon 15 Mar 2027" in s.text]
    assert len(monday) == 1 and "Skipped (1): Alice" in monday[0]


async def test_the_days_summary_goes_out_once_after_the_last_participants_cutoff() -> None:
    w = world(utc(3, 15, 3))
    await w.advance_to(utc(3, 15, 4))
    await w.answer_by_dm("ravi", "Trained v7", "Evaluate v7", "none")

    await w.advance_to(utc(3, 15, 21) - timedelta(seconds=1))  # Ravi's and Omar's cut-offs passed, Alice's not
    assert w.summaries() == []

    await w.advance_to(utc(3, 15, 21))
    w.app.engine.replan()
    await w.advance_to(utc(3, 16, 12))

    [summary] = w.summaries()
    assert summary.at == utc(3, 15, 21)
    assert "daily summary — Mon 15 Mar 2027" in summary.text
    assert "Answered (1): Ravi" in summary.text and "Not answered (2)" in summary.text
    parent = w.chat.by_id[summary.thread or ""]
    assert "1/3 answered · 0 blockers" in parent.text
