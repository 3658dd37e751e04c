"""The kernel's own rules, run fast: the real ``Meridian`` on the memory store, a simulated clock and the console chat.

The scheduled work here comes from ``Reminders``, a capability of a few lines made only of
the kernel's public registries (a planner, a due-work handler, the outbox), so these tests
depend on no capability package: what they check is the kernel's behaviour — a person's
new zone moves their pending reminders, work older than the catch-up window is recorded as
missed, an outbox key goes out once, a team file is applied whole or not at all.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

import pytest

from adapters.console.chat import ConsoleChat
from bot.kernel.app import Meridian
from bot.kernel.clock import SimulatedClock
from bot.kernel.commands import Invocation
from bot.kernel.domain import Member, Standup, Workspace
from bot.kernel.messages import Message
from bot.kernel.people import People
from bot.kernel.ports import ClaimedItem, DueItem, OutboxEntry, StandupRun
from bot.kernel.retention import Retention
from bot.kernel.team import apply_team
from bot.kernel.teamfile import TeamFile, TeamSection, parse_team
from tests.memory_store import MemoryStore

WS = "acme-ml"
MONDAY = datetime(2027, 3, 15, 0, 0, tzinfo=UTC)
"""Europe/Paris is UTC+1 that week (summer time starts on the 28th); Asia/Tokyo is UTC+9."""


@dataclass
class Reminders:
    """A reminder at 09:30 on each member's own clock, keyed as stand-up reminders are."""

    name: str = "reminders"
    handled: list[str] = field(default_factory=list)

    def install(self, app: Meridian) -> None:
        app.add_planner(self.plan)
        app.on_due("test.reminder", self.remind)

    def plan(self, app: Meridian, start: datetime, end: datetime) -> list[DueItem]:
        items = []
        for standup in app.store.list_standups(WS):
            for member in app.store.list_members(WS):
                day = start.astimezone(member.zone).date()
                while day <= end.astimezone(member.zone).date():
                    at = datetime.combine(day, time(9, 30), tzinfo=member.zone).astimezone(UTC)
                    if start <= at < end:
                        items.append(DueItem(f"standup:{WS}:{standup.name}:reminder:{member.id}:{day}",
                                             "test.reminder", WS, at, {"member": member.id}))
                    day += timedelta(days=1)
        return items

    async def remind(self, app: Meridian, item: ClaimedItem) -> None:
        self.handled.append(item.key)
        await app.outbox.dm(item.key, item.workspace, item.payload["member"], Message.text("Stand-up time."))


@dataclass
class World:
    app: Meridian
    store: MemoryStore
    clock: SimulatedClock
    chat: ConsoleChat
    reminders: Reminders

    def dms(self, member: str) -> list[datetime]:
        return [m.at for m in self.chat.messages if m.channel == f"@{member}"]

    def pending(self, member: str) -> list[datetime]:
        return [r.due_at for r in self.store.due_items(f"standup:{WS}:daily:reminder:{member}:")
                if r.status == "pending"]

    async def run(self, line: str, member: str = "alice") -> str:
        who = self.store.get_member(WS, member)
        assert who is not None
        family, _, text = line.lstrip("/").partition(" ")
        reply = await self.app.command(Invocation(WS, who, family, text))
        assert reply.message is not None
        return reply.message.fallback


@pytest.fixture
def world() -> World:
    store = MemoryStore()
    clock = SimulatedClock(MONDAY)
    chat = ConsoleChat(clock, out=io.StringIO())
    app = Meridian(store, clock, {"console": chat}, worker_id="test")
    reminders = Reminders()
    app.install([People(), Retention(), reminders])
    store.upsert_workspace(Workspace(WS, "console", "Acme ML"))
    store.upsert_members([Member(WS, "alice", "Alice", tz="Europe/Paris"),
                          Member(WS, "bea", "Bea", tz="Europe/Paris")])
    store.upsert_standup(Standup(WS, "daily", "#ml"))
    return World(app, store, clock, chat, reminders)


async def test_a_new_time_zone_moves_only_that_persons_pending_reminders(world: World) -> None:
    world.app.engine.plan()
    paris = [datetime(2027, 3, 15, 8, 30, tzinfo=UTC), datetime(2027, 3, 16, 8, 30, tzinfo=UTC)]
    assert world.pending("alice") == paris

    said = await world.run("/meridian tz Asia/Tokyo")

    assert "Asia/Tokyo" in said
    assert world.store.kv_get(WS, "member:alice:tz_source") == "manual"
    world.app.engine.plan()
    assert world.pending("alice") == [datetime(2027, 3, 15, 0, 30, tzinfo=UTC),
                                      datetime(2027, 3, 16, 0, 30, tzinfo=UTC)]
    assert world.pending("bea") == paris
    await world.app.engine.advance_to(datetime(2027, 3, 15, 9, 0, tzinfo=UTC), world.clock)
    assert world.dms("alice") == [datetime(2027, 3, 15, 0, 30, tzinfo=UTC)]
    assert world.dms("bea") == [datetime(2027, 3, 15, 8, 30, tzinfo=UTC)]


async def test_an_invalid_zone_changes_nothing(world: World) -> None:
    world.app.engine.plan()
    said = await world.run("/meridian tz Mars/Olympus")
    assert "Mars/Olympus" in said
    assert getattr(world.store.get_member(WS, "alice"), "tz", None) == "Europe/Paris"
    assert world.pending("alice") == [datetime(2027, 3, 15, 8, 30, tzinfo=UTC),
                                      datetime(2027, 3, 16, 8, 30, tzinfo=UTC)]


async def test_work_older_than_the_catch_up_window_is_recorded_as_missed_not_sent(world: World) -> None:
    world.app.engine.plan()
    world.clock.set(datetime(2027, 3, 15, 8, 30, tzinfo=UTC) + world.app.settings.catch_up + timedelta(minutes=1))
    await world.app.engine.run_due()
    assert world.store.due_status(f"standup:{WS}:daily:reminder:alice:2027-03-15") == "missed"
    assert world.dms("alice") == [] and world.reminders.handled == []


async def test_work_inside_the_catch_up_window_is_done_once_late(world: World) -> None:
    world.app.engine.plan()
    world.clock.set(datetime(2027, 3, 15, 10, 0, tzinfo=UTC))
    await world.app.engine.run_due()
    await world.app.engine.run_due()
    assert world.dms("alice") == [datetime(2027, 3, 15, 10, 0, tzinfo=UTC)]
    assert world.store.due_status(f"standup:{WS}:daily:reminder:alice:2027-03-15") == "done"


async def test_a_failing_handler_is_retried_with_backoff(world: World) -> None:
    calls: list[datetime] = []

    async def flaky(app: Meridian, item: ClaimedItem) -> None:
        calls.append(app.now())
        if len(calls) < 3:
            raise ConnectionError("source down")

    world.app.on_due("test.flaky", flaky)
    world.store.schedule([DueItem("flaky:1", "test.flaky", WS, MONDAY, {})])
    await world.app.engine.advance_to(MONDAY + timedelta(minutes=30), world.clock)
    assert calls == [MONDAY, MONDAY + timedelta(minutes=1), MONDAY + timedelta(minutes=6)]
    assert world.store.due_status("flaky:1") == "done"


async def test_an_outbox_key_is_sent_once(world: World) -> None:
    first = await world.app.outbox.dm("welcome:alice", WS, "alice", Message.text("Welcome"))
    again = await world.app.outbox.dm("welcome:alice", WS, "alice", Message.text("Welcome, again"))
    assert first is not None and again == first
    assert [m.text for m in world.chat.messages] == ["Welcome"]
    assert getattr(world.store.outbox_get("welcome:alice"), "status", None) == "sent"


async def test_a_send_cut_short_after_it_landed_is_confirmed_not_sent_twice(world: World) -> None:
    """The process died after the chat took the message and before the outbox recorded it."""
    alice = world.store.get_member(WS, "alice")
    assert alice is not None
    world.store.outbox_add(_dm_entry("welcome:alice"), MONDAY)
    world.store.outbox_begin_attempt("welcome:alice", MONDAY, MONDAY - world.app.outbox.lease)
    await world.chat.dm(alice, Message.text("Welcome"), key="welcome:alice")

    world.clock.set(MONDAY + world.app.outbox.lease)
    assert await world.app.outbox.retry_pending() == 1
    assert [m.text for m in world.chat.messages] == ["Welcome"]
    assert getattr(world.store.outbox_get("welcome:alice"), "status", None) == "sent"


def _dm_entry(key: str) -> OutboxEntry:
    return OutboxEntry(key, WS, "dm", "alice", Message.text("Welcome").to_json(), "pending", 0)


async def test_the_nightly_purge_drops_answers_past_retention(world: World) -> None:
    world.store.save_run(StandupRun(WS, "daily", "alice", date(2026, 3, 1), "answered", ("old",)))
    world.store.save_run(StandupRun(WS, "daily", "alice", date(2027, 3, 1), "answered", ("recent",)))
    await world.app.engine.advance_to(datetime(2027, 3, 15, 4, 0, tzinfo=UTC), world.clock)
    assert world.store.due_status("retention:2027-03-15") == "done"
    assert world.store.get_run(WS, "daily", "alice", date(2026, 3, 1)) is None
    assert world.store.get_run(WS, "daily", "alice", date(2027, 3, 1)) is not None


async def test_forget_me_deletes_the_persons_answers_settings_and_reminders(world: World) -> None:
    world.app.engine.plan()
    world.store.save_run(StandupRun(WS, "daily", "alice", date(2027, 3, 12), "answered", ("x",)))
    forgotten: list[tuple[str, str]] = []
    world.app.on_forget(lambda ws, member: forgotten.append((ws, member)))

    said = await world.run("/meridian forget-me confirm")

    assert "Removed 1 stand-up answer and your settings" in said
    assert forgotten == [(WS, "alice")]
    assert world.store.get_member(WS, "alice") is None
    assert world.pending("alice") == []
    assert len(world.pending("bea")) == 2


TEAM = """\
workspace: acme-ml
members:
  - {id: carl, name: Carl, tz: Asia/Tokyo}
standups:
  - {name: weekly, channel: "#ml", remind_at: "10:00", days: [mon], members: all}
notes: {text: hello}
"""


def test_a_team_file_that_fails_half_way_leaves_the_store_as_it_was(world: World) -> None:
    def refuse(tf: TeamFile) -> None:
        raise RuntimeError("the notes store refused the section")

    notes = TeamSection("notes", validate=lambda tf: [], apply=refuse)
    world.app.add_section(notes)
    tf = parse_team(TEAM, "team.yaml", world.app.sections)
    with pytest.raises(RuntimeError, match="refused"):
        apply_team(world.app, tf)
    assert world.store.get_member(WS, "carl") is None
    assert world.store.get_standup(WS, "weekly") is None
    assert [m.id for m in world.store.list_members(WS)] == ["alice", "bea"]


def test_a_team_file_is_applied_whole(world: World) -> None:
    applied: list[str] = []
    world.app.add_section(TeamSection("notes", validate=lambda tf: [],
                                      apply=lambda tf: applied.append(tf.raw["notes"]["text"])))
    apply_team(world.app, parse_team(TEAM, "team.yaml", world.app.sections))
    assert applied == ["hello"]
    assert getattr(world.store.get_member(WS, "carl"), "tz", None) == "Asia/Tokyo"
    assert world.store.get_standup(WS, "weekly") is not None
