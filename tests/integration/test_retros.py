"""Retros through the core's entry points (commands, thread messages, DMs, reactions, buttons), on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import logging
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from icalendar import Calendar
from sqlalchemy import select
from sqlmodel import SQLModel

from adapters.console.chat import ConsoleChat
from adapters.console.render import render_text
from bot.kernel.app import Action, IncomingMessage, Meridian, Reaction
from bot.kernel.clock import SimulatedClock
from bot.kernel.commands import Invocation
from bot.kernel.team import apply_team
from bot.kernel.teamfile import parse_team
from bot.retros.context import RetroContext
from bot.retros.install import Retros
from bot.retros.model import Occurrence, Retro
from bot.retros.plan import ensure_plan
from storage.retros.repo import RetroRepo

TEAM = """
workspace: acme
members:
  - {id: alice, name: Alice, tz: America/Los_Angeles, admin: true}
  - {id: marta, name: Marta, tz: Europe/Berlin}
  - {id: ravi, name: Ravi, tz: Asia/Kolkata, accounts: {console: U04RAVI}}
retros:
  - {name: retro, channel: "#ml", every: 1w, duration: 60m, starts: 2027-03-01, members: all, max_votes: 2,
     candidates: ["06:00", "09:00", "14:00", "16:00"]}
"""
EVERYONE_PAYS = TEAM.replace('["06:00", "09:00", "14:00", "16:00"]', '["02:00"]')  # late, night, early
NEWCOMER = EVERYONE_PAYS.replace("retros:", "  - {id: kenji, name: Kenji, tz: Australia/Sydney}\nretros:")
START = datetime(2027, 2, 25, tzinfo=UTC)
OPEN_AT = datetime(2027, 2, 27, 18, 0, tzinfo=UTC)  # after the thread opened, 48 h before any candidate


def repo(h: Any) -> RetroRepo:
    """The retros' tables, read through their own repository on the harness's database."""
    return RetroRepo(h.store.engine)


def planned(h: Any, retro: Retro) -> list[Occurrence]:
    return ensure_plan(RetroContext(h.app, repo(h)), retro)


async def run(h: Any, member: str, text: str, channel: str = "#ml") -> str:
    family, _, rest = text.lstrip("/").partition(" ")
    reply = await h.app.command(Invocation("acme", h.store.get_member("acme", member), family, rest, channel=channel))
    return render_text(reply.message) if reply.message else ""


def thread_of(h: Any) -> str:
    parents = [m for m in h.chat.in_channel("#ml") if m.thread is None and m.text.startswith("🔁")]
    return str(parents[-1].id)


async def say_in_thread(h: Any, member: str, text: str) -> tuple[bool, str]:
    m = h.store.get_member("acme", member)
    posted = h.chat.record("#ml", m.name, text, m.tz, thread_of(h))
    taken = await h.app.message(IncomingMessage("acme", m, text, "#ml", False, thread_of(h), posted.id))
    return taken, posted.id


async def opened(harness_factory: Any) -> Any:
    h = harness_factory(START)
    h.load(TEAM)
    await h.advance_to(OPEN_AT)
    assert thread_of(h)
    return h


# --- the rolling plan --------------------------------------------------------------------------
async def test_published_slots_stay_fixed_when_the_team_changes_and_the_rest_is_planned_again(
        harness_factory: Any) -> None:
    h = await opened(harness_factory)
    before = {o.day: o for o in repo(h).occurrences("acme", "retro")}
    first = before[date(2027, 3, 1)]
    assert first.published and first.status == "open"
    assert {e.member for e in repo(h).burden_history("acme", "retro")} == {"alice", "marta", "ravi"}

    await run(h, "marta", "/meridian tz Asia/Tokyo")  # the team changed: everything not published moves
    retro = repo(h).get_retro("acme", "retro")
    after = {o.day: o for o in planned(h, retro)}
    assert after[first.day].start == first.start and after[first.day].published
    assert [o.day for o in after.values()][:2] == [date(2027, 3, 1), date(2027, 3, 8)]
    assert len(after) == 6 and all(not o.published for d, o in after.items() if d != first.day)


async def test_a_newcomer_starts_at_the_lowest_current_burden_not_at_zero(harness_factory: Any) -> None:
    h = harness_factory(START)
    h.load(EVERYONE_PAYS)
    await h.advance_to(datetime(2027, 3, 6, 18, 0, tzinfo=UTC))  # the second round is published too
    history = repo(h).burden_history("acme", "retro")
    totals = {m: sum(e.penalty for e in history if e.member == m) for m in ("alice", "marta", "ravi")}
    h.load(NEWCOMER)
    await run(h, "kenji", "/retro schedule")
    start = [e for e in repo(h).burden_history("acme", "retro") if e.member == "kenji"]
    assert [(e.kind, e.penalty) for e in start] == [("start", min(totals.values()))]
    assert min(totals.values()) > 0, "the test needs someone to have paid something"


async def test_schedule_shows_slots_in_the_readers_zone_and_a_calendar_of_the_plan(harness_factory: Any) -> None:
    h = harness_factory(START)
    h.load(TEAM)
    reply = await h.app.command(Invocation("acme", h.store.get_member("acme", "ravi"), "retro", "schedule"))
    assert reply.message is not None
    text = "\n".join(str(b) for b in reply.message.blocks)
    assert "IST" in text and "Ravi" in text and "night" in text
    (ics,) = reply.message.attachments
    cal = Calendar.from_ical(ics.content)
    assert len([c for c in cal.walk("VEVENT")]) == 6


# --- calendar files -----------------------------------------------------------------------------
def utc_of(event: Any, cal: Any) -> datetime:
    """Resolve DTSTART through the file's own VTIMEZONE, as a calendar client would."""
    local = event["DTSTART"].dt.replace(tzinfo=None)
    tzid = event["DTSTART"].params["TZID"]
    (tz,) = [t for t in cal.walk("VTIMEZONE") if str(t["TZID"]) == tzid]
    observances = sorted((c["DTSTART"].dt.replace(tzinfo=None), c["TZOFFSETTO"].td) for c in tz.subcomponents)
    offset = [off for start, off in observances if start <= local][-1]
    return (local - offset).replace(tzinfo=UTC)


async def test_reminders_carry_a_calendar_file_in_the_members_zone_with_a_stable_uid(harness_factory: Any) -> None:
    h = harness_factory(START)
    h.load(TEAM)
    await h.advance_to(datetime(2027, 3, 15, 0, 0, tzinfo=UTC))
    files = [a.content for d in h.dms("alice") if d.message for a in d.message.attachments]
    assert len(files) >= 4  # 24 h and 15 min before each round
    uids = []
    for content in files:
        assert "\r\n" in content and "BEGIN:VTIMEZONE" in content and "TZID:America/Los_Angeles" in content
        cal = Calendar.from_ical(content)
        (event,) = cal.walk("VEVENT")
        assert event["DTSTART"].params["TZID"] == "America/Los_Angeles"
        day = date.fromisoformat(str(event["UID"]).split("retro-retro-")[1].split("@")[0])
        occ = repo(h).get_occurrence("acme", "retro", day)
        assert utc_of(event, cal) == occ.start
        uids.append(str(event["UID"]))
    assert uids[0] == uids[1] and uids[0] != uids[2]  # the same round, the same event


async def test_calendar_spans_the_dst_change_with_the_right_offsets(harness_factory: Any) -> None:
    h = harness_factory(START)
    h.load(TEAM)  # US clocks go forward on 14 March 2027, inside the six planned weeks
    reply = await h.app.command(Invocation("acme", h.store.get_member("acme", "alice"), "retro", "schedule"))
    cal = Calendar.from_ical(reply.message.attachments[0].content)
    starts = {o.day: o.start for o in planned(h, repo(h).get_retro("acme", "retro"))}
    for event in cal.walk("VEVENT"):
        day = date.fromisoformat(str(event["UID"]).split("retro-retro-")[1].split("@")[0])
        assert utc_of(event, cal) == starts[day]
    offsets = {str(c["TZOFFSETTO"].to_ical()) for c in cal.walk("VTIMEZONE")[0].subcomponents}
    assert offsets >= {"-0800", "-0700"}


# --- anonymity ----------------------------------------------------------------------------------
def snapshot(h: Any) -> set[str]:
    rows: set[str] = set()
    with h.store.engine.connect() as conn:
        for table in SQLModel.metadata.sorted_tables:
            for row in conn.execute(select(table)):
                rows.add(f"{table.name}: {tuple(row)!r}")
    return rows


async def test_an_anonymous_item_leaves_its_author_in_no_table_log_line_or_message(
        harness_factory: Any, caplog: pytest.LogCaptureFixture) -> None:
    h = await opened(harness_factory)
    before = snapshot(h)
    seen = len(h.chat.messages)
    caplog.set_level(logging.DEBUG)
    ravi = h.store.get_member("acme", "ravi")
    assert await h.app.message(IncomingMessage("acme", ravi, "anon: improve: reviews wait too long", None, True))
    answer = await run(h, "ravi", "/retro add --anon 🙌 thanks to whoever fixed the GPU queue")
    assert "Taken anonymously" in answer and "Sun 28 Feb 00:30 IST" in answer  # the next hour mark, his time
    assert repo(h).items("acme", "retro", date(2027, 3, 1)) == []  # held for the batch at the next hour mark
    await h.advance_to(OPEN_AT + timedelta(hours=1))
    # Moving the clock also plans everyone's meeting reminders: those rows name people, for another reason.
    new_rows = {row for row in snapshot(h) - before if ":remind" not in row}
    assert any("reviews wait too long" in r for r in new_rows) and any("GPU queue" in r for r in new_rows)
    for row in new_rows:
        assert "ravi" not in row.lower(), row
    for record in caplog.records:
        assert "ravi" not in record.getMessage().lower()
    for m in h.chat.messages[seen:]:
        if m.channel != "@ravi":  # the writer's own DM with the bot
            assert "ravi" not in m.text.lower(), m.text
    items = repo(h).items("acme", "retro", date(2027, 3, 1))
    assert [(i.category, i.author) for i in items] == [("improve", None), ("kudos", None)]


async def test_an_anonymous_item_needs_a_category_and_an_open_retro(harness_factory: Any) -> None:
    h = harness_factory(START)
    h.load(TEAM)
    assert "No retro is open" in await run(h, "ravi", "/retro add --anon improve: x")
    await h.advance_to(OPEN_AT)
    assert "Start it with a category" in await run(h, "ravi", "/retro add --anon deploys are slow")
    assert repo(h).items("acme", "retro", date(2027, 3, 1)) == []


# --- items, chatter and votes -------------------------------------------------------------------
async def test_chatter_is_left_alone(harness_factory: Any) -> None:
    h = await opened(harness_factory)
    dms_before = len(h.dms("marta"))
    for text in ("+1", "haha yes", "💡"):
        taken, _ = await say_in_thread(h, "marta", text)
        assert taken
    assert repo(h).items("acme", "retro", date(2027, 3, 1)) == []
    assert len(h.dms("marta")) == dms_before
    other = h.chat.record("#ml", "Marta", "unrelated thread", "Europe/Berlin")
    m = h.store.get_member("acme", "marta")
    assert not await h.app.message(IncomingMessage("acme", m, "well: not a retro thread", "#ml", False, other.id, "x"))


async def test_a_reply_without_a_category_becomes_an_item_only_when_its_writer_says_so(harness_factory: Any) -> None:
    h = await opened(harness_factory)
    await say_in_thread(h, "marta", "the data loader needs a rewrite soon")
    (ask,) = [d for d in h.dms("marta") if "as an item?" in d.text]
    idea = next(b for b in ask.buttons if "Ideas" in b.label)
    ravi = h.store.get_member("acme", "ravi")
    refused = await h.app.action(Action("acme", ravi, idea.action_id, idea.value))
    assert refused and "already been answered" in refused.message.fallback  # only the writer decides
    marta = h.store.get_member("acme", "marta")
    reply = await h.app.action(Action("acme", marta, idea.action_id, idea.value))
    assert reply and "Added as #1" in reply.message.fallback
    (item,) = repo(h).items("acme", "retro", date(2027, 3, 1))
    assert (item.category, item.author, item.text) == ("idea", "marta", "the data loader needs a rewrite soon")


async def test_votes_one_per_person_per_item_own_item_included_and_limited_per_person(harness_factory: Any) -> None:
    h = await opened(harness_factory)
    marta, ravi = h.store.get_member("acme", "marta"), h.store.get_member("acme", "ravi")
    _, own = await say_in_thread(h, "marta", "🟢 the eval harness")
    await say_in_thread(h, "ravi", "improve: flaky CI")
    await say_in_thread(h, "ravi", "idea: pair on reviews")
    assert await h.app.reaction(Reaction("acme", marta, own, "👍"))  # voting on one's own item is fine…
    item = repo(h).items("acme", "retro", date(2027, 3, 1))[0]
    assert item.votes == 1
    reply = await h.app.action(Action("acme", marta, "retro.vote", f"retro|2027-03-01|{item.number}"))
    assert "already voted" in reply.message.fallback  # …but only once
    assert "counts" in await run(h, "marta", "/retro vote 2")
    assert "used all 2" in await run(h, "marta", "/retro vote 3")
    await h.app.reaction(Reaction("acme", marta, h.chat.messages[-1].id, "👍"))  # not an item: ignored
    assert await h.app.reaction(Reaction("acme", ravi, own, "👍🏼"))  # a skin tone is still a 👍
    assert await h.app.reaction(Reaction("acme", ravi, own, "👍🏼", added=False))  # taken back
    assert not await h.app.reaction(Reaction("acme", ravi, own, "🎉"))  # any other emoji is no vote
    votes = {i.number: i.votes for i in repo(h).items("acme", "retro", date(2027, 3, 1))}
    assert votes == {1: 1, 2: 1, 3: 0}


# --- close, action items, async -----------------------------------------------------------------
async def test_action_items_from_the_thread_are_stored_with_owner_and_due_date(harness_factory: Any) -> None:
    h = await opened(harness_factory)
    await say_in_thread(h, "marta", "action: @Ravi fix the flaky CI test by 2027-03-10")
    await say_in_thread(h, "marta", "action: @nobody do things by 2027-03-10")
    await say_in_thread(h, "marta", "action: @ravi do things by someday")
    await say_in_thread(h, "alice", "action: @U04RAVI update the runbook by fri")  # an account the file lists
    action, runbook = repo(h).actions("acme")
    assert (action.owner, action.text, action.due) == ("ravi", "fix the flaky CI test", date(2027, 3, 10))
    assert (runbook.owner, runbook.text, runbook.due) == ("ravi", "update the runbook", date(2027, 3, 5))
    await run(h, "ravi", f"/retro done {runbook.id}")
    errors = [d.text for d in h.dms("marta") if "couldn't record" in d.text]
    assert len(errors) == 2 and "nobody" in errors[0] and "someday" in errors[1]
    assert "fix the flaky CI test" in await run(h, "alice", "/retro actions")
    assert "done" in await run(h, "ravi", f"/retro done {action.id}")
    assert repo(h).actions("acme") == []


async def test_the_round_closes_at_the_end_of_its_slot_with_a_summary(harness_factory: Any) -> None:
    h = await opened(harness_factory)
    await say_in_thread(h, "ravi", "🔴 flaky CI")
    occ = repo(h).get_occurrence("acme", "retro", date(2027, 3, 1))
    await h.advance_to(occ.end + timedelta(minutes=1))
    summaries = [m for m in h.chat.messages if m.text.startswith("🧾 retro summary")]
    assert [m.thread for m in summaries] == [None]  # once, in the channel
    assert repo(h).get_occurrence("acme", "retro", date(2027, 3, 1)).status == "closed"
    assert "No retro is open right now" in await run(h, "ravi", "/retro vote 1")
    taken, _ = await say_in_thread(h, "ravi", "🟢 too late")
    assert taken and len(repo(h).items("acme", "retro", date(2027, 3, 1))) == 1


ASYNC_TEAM = """
workspace: acme
members:
  - {id: alice, name: Alice, tz: America/Los_Angeles}
  - {id: ravi, name: Ravi, tz: Asia/Kolkata}
retros:
  - {name: q1, channel: "#ml", async: {opens: "2027-03-01T09:00Z", closes: "2027-03-05T17:00Z"},
     prompts: {well: "Wins?", improve: "Pains?"}}
"""


async def test_an_async_retro_uses_the_same_thread_flow_without_a_meeting(harness_factory: Any) -> None:
    h = harness_factory(datetime(2027, 2, 28, tzinfo=UTC))
    h.load(ASYNC_TEAM)
    await h.advance_to(datetime(2027, 3, 1, 10, 0, tzinfo=UTC))
    parent = next(m for m in h.chat.in_channel("#ml") if m.text.startswith("🔁 q1"))
    assert "Wins?" in parent.text and "Pains?" in parent.text and "Ideas" not in parent.text
    assert "Sprint in numbers" not in parent.text  # no numbers source connected, no numbers section
    ravi = h.store.get_member("acme", "ravi")
    posted = h.chat.record("#ml", "Ravi", "well: shipped v7", ravi.tz, parent.id)
    await h.app.message(IncomingMessage("acme", ravi, "well: shipped v7", "#ml", False, parent.id, posted.id))
    await h.advance_to(datetime(2027, 3, 6, tzinfo=UTC))
    assert not [d for d in h.dms("ravi") if "in 24 hours" in d.text]  # no meeting, no meeting reminders
    summary = next(m for m in h.chat.in_channel("#ml") if m.thread is None and m.text.startswith("🧾 q1"))
    assert summary.at == datetime(2027, 3, 5, 17, 0, tzinfo=UTC) and "shipped v7" in summary.text
    assert "no round coming up" in await run(h, "ravi", "/retro schedule")


async def test_retro_help_lists_every_sub_command(harness_factory: Any) -> None:
    h = harness_factory(START)
    h.load(TEAM)
    text = await run(h, "ravi", "/retro help")
    for sub in ("schedule", "open", "close", "add [--anon]", "vote N", "action @OWNER", "actions", "done N"):
        assert f"/retro {sub}" in text
    assert "Unknown sub-command or retro" not in text
    assert "no retro called `nonsense`" in await run(h, "ravi", "/retro nonsense")


async def test_a_repeated_delivery_adds_an_item_once(harness_factory: Any) -> None:
    h = await opened(harness_factory)
    marta, ravi = h.store.get_member("acme", "marta"), h.store.get_member("acme", "ravi")
    reply = IncomingMessage("acme", marta, "🟢 the eval harness", "#ml", False, thread_of(h), "m-dup")
    anon = IncomingMessage("acme", ravi, "anon: improve: slow reviews", None, True, None, "d-dup")
    for _ in range(2):
        assert await h.app.message(reply)
        assert await h.app.message(anon)
    await h.advance_to(OPEN_AT + timedelta(hours=1))  # past the next hour mark: the anonymous batch is out
    assert [i.text for i in repo(h).items("acme", "retro", date(2027, 3, 1))] == ["the eval harness", "slow reviews"]


async def test_forget_me_removes_a_person_from_retros(harness_factory: Any) -> None:
    h = await opened(harness_factory)
    _, own = await say_in_thread(h, "marta", "🟢 the eval harness")
    await h.app.reaction(Reaction("acme", h.store.get_member("acme", "marta"), own, "👍"))
    await run(h, "marta", "/meridian forget-me confirm")
    (item,) = repo(h).items("acme", "retro", date(2027, 3, 1))
    assert (item.author, item.votes) == (None, 0)
    assert all(e.member != "marta" for e in repo(h).burden_history("acme", "retro"))


class TrackingServerDown:
    """A sprint-numbers source that cannot be reached (the tracking server is down)."""

    async def sprint_numbers(self, workspace: str, since: datetime, until: datetime) -> list[str]:
        raise ConnectionError("tracking server unreachable")


async def test_a_numbers_source_that_is_down_leaves_a_line_in_the_thread_and_the_retro_opens(store: Any) -> None:
    clock = SimulatedClock(datetime(2027, 2, 28, tzinfo=UTC))
    chat = ConsoleChat(clock, out=io.StringIO())
    app = Meridian(store, clock, {"console": chat}, worker_id="test")
    Retros(RetroRepo(store.engine), numbers=TrackingServerDown()).install(app)
    apply_team(app, parse_team(ASYNC_TEAM, "team.yaml", app.sections))
    await app.engine.advance_to(datetime(2027, 3, 1, 10, 0, tzinfo=UTC), clock)
    parent = next(m for m in chat.in_channel("#ml") if m.text.startswith("🔁 q1"))
    assert "Sprint in numbers" in parent.text and "Sprint numbers: source unavailable right now." in parent.text
    assert RetroRepo(store.engine).get_occurrence("acme", "q1", date(2027, 3, 1)).status == "open"
