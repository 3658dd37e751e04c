"""Blocker answers, reports, stats and admin commands as a team meets them, on SQLite and PostgreSQL.

Issue 10, stand-up items 2 (blockers), 5 (reports), 6 (stats) and 7 (admin typos).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from adapters.console.render import render_text
from bot.kernel.app import Action, IncomingMessage
from bot.kernel.commands import Invocation, Reply
from bot.kernel.teamfile import TeamFileError, parse_team

TEAM = """
workspace: acme
members:
  - {id: alice, name: Alice, tz: America/New_York, admin: true}
  - {id: ravi, name: Ravi, tz: Asia/Kolkata}
  - {id: kenji, name: Kenji, tz: Australia/Sydney, ooo: ["2027-03-16"]}
standups:
  - {name: daily, channel: "#ml", remind_at: "09:30", tz: Europe/London}
"""


async def answer_by_dm(h: Any, member_id: str, *answers: str) -> None:
    m = h.store.get_member("acme", member_id)
    for text in answers:
        assert await h.app.message(IncomingMessage("acme", m, text, None, True))


async def command(h: Any, member_id: str, text: str) -> Reply:
    return await h.app.command(Invocation("acme", h.store.get_member("acme", member_id), "standup", text,
                                          channel="#ml"))


def text_of(reply: Reply) -> str:
    assert reply.message is not None
    return render_text(reply.message)


def summary_of(h: Any) -> str:
    return [m for m in h.chat.in_channel("#ml") if m.thread and "summary —" in m.text][-1].text


async def press(h: Any, member_id: str, label: str) -> Reply | None:
    """Press the newest button with this label in the member's DMs, as a person would."""
    member = h.store.get_member("acme", member_id)
    for msg in reversed(h.dms(member_id)):
        for button in msg.buttons:
            if button.label == label:
                return await h.app.action(Action("acme", member, button.action_id, button.value))
    raise AssertionError(f"no {label} button in {member_id}'s DMs")


# --- 2. blockers --------------------------------------------------------------------------------
async def test_a_no_blocker_answer_is_not_listed_and_an_unclear_one_is_asked_once(harness_factory: Any) -> None:
    h = harness_factory(datetime(2027, 3, 15, 0, 0, tzinfo=UTC))
    h.load(TEAM)
    await h.advance_to(datetime(2027, 3, 15, 0, 1, tzinfo=UTC))
    await answer_by_dm(h, "kenji", "Eval harness", "Drift report", "the data pipeline")
    await h.advance_to(datetime(2027, 3, 15, 4, 1, tzinfo=UTC))
    await answer_by_dm(h, "ravi", "Trained v7", "Evaluate v7", "VPN fixed, no blockers")

    questions = [d for d in h.dms("kenji") if "is this a blocker?" in d.text]
    assert len(questions) == 1 and "the data pipeline" in questions[0].text
    assert [b.label for b in questions[0].buttons] == ["Blocker", "Not a blocker"]
    assert not [d for d in h.dms("ravi") if "is this a blocker?" in d.text]
    kenji_post = next(m for m in h.chat.in_channel("#ml") if m.thread and "@Kenji" in m.text)
    assert "Possible blocker (asked Kenji to confirm): the data pipeline" in kenji_post.text

    # editing other answers with the same blocker text does not ask again
    alice = h.store.get_member("acme", "alice")
    kenji = h.store.get_member("acme", "kenji")
    assert alice is not None
    await h.app.action(Action("acme", kenji, "standup.submit", values={
        "q0": "Eval harness, done", "q1": "Drift report", "q2": "the data pipeline"},
        metadata={"standup": "daily", "day": "2027-03-15"}))
    assert len([d for d in h.dms("kenji") if "is this a blocker?" in d.text]) == 1

    reply = await press(h, "kenji", "Not a blocker")
    assert reply is not None and "is not a blocker" in text_of(reply)
    assert "Blocker" not in kenji_post.text.split("Anything blocking you?")[0] and "Possible" not in kenji_post.text

    await h.advance_to(datetime(2027, 3, 16, 12, 0, tzinfo=UTC))
    summary = summary_of(h)
    assert "No blockers reported." in summary
    assert "VPN fixed" not in summary and "the data pipeline" not in summary


async def test_an_unclear_blocker_nobody_confirmed_is_listed_as_unconfirmed(harness_factory: Any) -> None:
    h = harness_factory(datetime(2027, 3, 15, 4, 0, tzinfo=UTC))
    h.load(TEAM)
    await h.advance_to(datetime(2027, 3, 15, 4, 1, tzinfo=UTC))
    await answer_by_dm(h, "ravi", "Trained v7", "Evaluate v7", "Noor's PR")
    await h.advance_to(datetime(2027, 3, 16, 12, 0, tzinfo=UTC))
    summary = summary_of(h)
    assert "🚧 Blockers (1)" in summary and "Ravi (unconfirmed): Noor's PR" in summary
    parent = next(m for m in h.chat.in_channel("#ml") if m.thread is None and "daily —" in m.text)
    assert "1 blocker (1 unconfirmed)" in parent.text

    # confirming after the summary went out corrects the summary where it was posted
    await press(h, "ravi", "Blocker")
    summary = summary_of(h)
    assert "Ravi: Noor's PR" in summary and "unconfirmed" not in summary


# --- 5. reports ----------------------------------------------------------------------------------
async def test_a_report_for_a_day_without_a_stand_up_is_one_private_line(harness_factory: Any) -> None:
    h = harness_factory(datetime(2027, 3, 15, 0, 0, tzinfo=UTC))
    h.load(TEAM)
    await command(h, "ravi", "skip until 2027-03-18")
    await h.advance_to(datetime(2027, 3, 16, 12, 0, tzinfo=UTC))
    before = len(h.chat.in_channel("#ml"))

    long_ago = await command(h, "alice", "report 2026-01-01")
    assert not long_ago.public
    assert text_of(long_ago) == "There was no daily stand-up on Thu 1 Jan 2026: its first day was Mon 15 Mar 2027."
    saturday = await command(h, "alice", "report 2027-03-20 public")
    assert not saturday.public
    assert text_of(saturday) == "There is no daily report for Sat 20 Mar 2027: daily runs on mon, tue, wed, thu, fri."
    assert len(h.chat.in_channel("#ml")) == before, "nothing was posted in the channel"


async def test_todays_report_says_who_is_not_yet_due_and_a_skip_runs_from_when_it_was_given(
        harness_factory: Any) -> None:
    h = harness_factory(datetime(2027, 3, 15, 3, 0, tzinfo=UTC))
    h.load(TEAM)
    await h.advance_to(datetime(2027, 3, 15, 4, 1, tzinfo=UTC))
    await answer_by_dm(h, "ravi", "Trained v7", "Evaluate v7", "none")
    await h.advance_to(datetime(2027, 3, 15, 6, 0, tzinfo=UTC))

    today = text_of(await command(h, "alice", "report 2027-03-15"))
    assert "summary so far — Mon 15 Mar 2027" in today
    assert "Answered (1): Ravi" in today
    assert "Not yet due (1): Alice" in today  # 09:30 in New York is still hours away
    assert "Not answered (1): Kenji" in today  # his Monday closed at 17:00 in Sydney

    await h.advance_to(datetime(2027, 3, 15, 14, 0, tzinfo=UTC))
    await command(h, "kenji", "skip until 2027-03-19")  # given early on Tuesday in Sydney
    await h.advance_to(datetime(2027, 3, 17, 12, 0, tzinfo=UTC))
    monday = text_of(await command(h, "alice", "report 2027-03-15"))
    assert "Not answered (2): Alice, Kenji" in monday and "Skipped" not in monday  # the skip began after Monday
    wednesday = text_of(await command(h, "alice", "report 2027-03-17"))
    assert "Skipped (1): Kenji" in wednesday


async def test_report_help_names_the_public_option(harness_factory: Any) -> None:
    h = harness_factory()
    h.load(TEAM)
    assert "report [YYYY-MM-DD] [public]" in text_of(await command(h, "alice", "help"))
    wrong = text_of(await command(h, "alice", "report 2027-03-15 2027-03-16"))
    assert "`public`" in wrong and "Usage: /standup report [YYYY-MM-DD] [public]" in wrong


# --- 6. stats ------------------------------------------------------------------------------------
async def test_skipped_and_away_days_are_excused_in_stats_and_the_headline_names_them(harness_factory: Any) -> None:
    h = harness_factory(datetime(2027, 3, 14, 20, 0, tzinfo=UTC))
    h.load(TEAM)
    await h.advance_to(datetime(2027, 3, 15, 4, 1, tzinfo=UTC))
    await answer_by_dm(h, "ravi", "a", "b", "none")
    await command(h, "alice", "skip today")
    await h.advance_to(datetime(2027, 3, 16, 0, 0, tzinfo=UTC))
    await command(h, "alice", "skip until 2027-03-17")
    await h.advance_to(datetime(2027, 3, 18, 12, 0, tzinfo=UTC))

    stats = text_of(await command(h, "alice", "stats"))
    # skip today (Mon) and skip until (Tue, Wed) are excused alike: none is a miss
    assert "Alice: 0/0 days answered (—) · not counted: 3 skipped" in stats
    # Kenji's day out of office is excused; his three silent days count
    assert "Kenji: 0/3 days answered (0%) · not counted: 1 away" in stats
    assert "Ravi: 1/4 days answered (25%)" in stats

    parent = next(m for m in h.chat.in_channel("#ml") if m.thread is None and "Tue 16 Mar" in m.text)
    assert "0/1 answered (Alice skipped; Kenji away) · 0 blockers" in parent.text


async def test_a_new_skip_does_not_undo_the_days_an_earlier_one_excused(harness_factory: Any) -> None:
    h = harness_factory(datetime(2027, 3, 15, 0, 0, tzinfo=UTC))
    h.load(TEAM)
    await command(h, "ravi", "skip until 2027-03-16")  # Monday morning in India
    await h.advance_to(datetime(2027, 3, 16, 2, 0, tzinfo=UTC))
    await command(h, "ravi", "skip until 2027-03-18")  # Tuesday: longer after all
    await h.advance_to(datetime(2027, 3, 19, 2, 0, tzinfo=UTC))
    for day in ("2027-03-15", "2027-03-16", "2027-03-17", "2027-03-18"):
        assert "Skipped (1): Ravi" in text_of(await command(h, "alice", f"report {day}")), day
    assert "Ravi: 0/0 days answered (—) · not counted: 4 skipped" in text_of(await command(h, "alice", "stats"))
    assert not [d for d in h.dms("ravi") if "Stand-up:" in d.text]


async def test_days_the_stand_up_was_paused_are_no_ones_miss(harness_factory: Any) -> None:
    h = harness_factory(datetime(2027, 3, 15, 3, 0, tzinfo=UTC))
    h.load(TEAM)
    await h.advance_to(datetime(2027, 3, 15, 4, 1, tzinfo=UTC))
    await answer_by_dm(h, "ravi", "a", "b", "none")
    await h.advance_to(datetime(2027, 3, 15, 21, 0, tzinfo=UTC))
    await command(h, "alice", "pause")  # before Tuesday's first reminder
    await h.advance_to(datetime(2027, 3, 17, 0, 0, tzinfo=UTC))
    await command(h, "alice", "resume")
    await h.advance_to(datetime(2027, 3, 17, 4, 1, tzinfo=UTC))
    await answer_by_dm(h, "ravi", "c", "d", "none")
    await h.advance_to(datetime(2027, 3, 17, 12, 0, tzinfo=UTC))
    assert "Ravi: 2/2 days answered (100%)" in text_of(await command(h, "alice", "stats"))
    tuesday = text_of(await command(h, "alice", "report 2027-03-16"))
    assert tuesday == "There was no daily stand-up on Tue 16 Mar 2027: nobody was reminded that day."


# --- 7. admin typos ------------------------------------------------------------------------------
async def test_setup_checks_days_as_the_team_file_does_and_announces_nothing_when_wrong(harness_factory: Any) -> None:
    h = harness_factory()
    h.load(TEAM)
    reply = await command(h, "alice", "setup daily days=mon-fry")
    assert not reply.public
    assert text_of(reply).startswith("`days=mon-fry`: unknown day fry; use mon tue wed thu fri sat sun.")
    standup = h.store.get_standup("acme", "daily")
    assert standup is not None and len(standup.days) == 5
    try:
        parse_team(TEAM.replace('remind_at: "09:30"', 'remind_at: "09:30", days: mon-fry'), "team.yaml",
                   h.app.sections)
    except TeamFileError as err:
        assert err.errors == ["team.yaml:8: unknown day fry; use mon tue wed thu fri sat sun"]
    else:
        raise AssertionError("the team file accepted mon-fry")

    ok = await command(h, "alice", "setup daily days=sun-thu at=10:00")
    assert ok.public and "on mon, tue, wed, thu, sun" in text_of(ok)
    bad_time = await command(h, "alice", "setup daily at=25:00")
    assert not bad_time.public and text_of(bad_time).startswith("`at=25:00`: ")


async def test_a_second_pause_or_resume_is_a_private_no_op(harness_factory: Any) -> None:
    h = harness_factory()
    h.load(TEAM)
    first = await command(h, "alice", "pause")
    assert first.public and text_of(first) == "daily is paused: no reminders until /standup resume."
    again = await command(h, "alice", "pause")
    assert not again.public and "already paused" in text_of(again)
    resumed = await command(h, "alice", "resume daily")
    assert resumed.public
    again = await command(h, "alice", "resume daily")
    assert not again.public and "already running" in text_of(again)
    standup = h.store.get_standup("acme", "daily")
    assert standup is not None and not standup.paused


def test_days_ranges_in_the_team_file_mean_every_day_between() -> None:
    tf = parse_team(TEAM.replace('remind_at: "09:30"', 'remind_at: "09:30", days: sun-thu'), "team.yaml", [])
    assert tf.standups[0].days == frozenset({"sun", "mon", "tue", "wed", "thu"})
