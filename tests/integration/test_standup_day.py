"""A whole stand-up day through the core's entry points, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from adapters.console.render import render_text
from bot.kernel.app import Action, IncomingMessage
from bot.kernel.commands import Invocation

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


async def test_each_member_is_reminded_once_at_0930_their_time(harness_factory: Any) -> None:
    h = harness_factory(datetime(2027, 3, 15, tzinfo=UTC))
    h.load(TEAM)
    await h.advance_to(datetime(2027, 3, 16, 0, 0, tzinfo=UTC))
    reminders = {m: [d for d in h.dms(m) if "Stand-up:" in d.text] for m in ("alice", "ravi", "kenji")}
    assert [d.at for d in reminders["ravi"]] == [datetime(2027, 3, 15, 4, 0, tzinfo=UTC)]
    assert [d.at for d in reminders["alice"]] == [datetime(2027, 3, 15, 13, 30, tzinfo=UTC)]  # EDT since 14 Mar
    # Sydney's Monday 09:30 was Sunday 22:30Z, 90 minutes before the clock started: inside the catch-up
    # window, so it goes out once, late; Tuesday is out of office.
    assert [d.at for d in reminders["kenji"]] == [datetime(2027, 3, 15, 0, 0, tzinfo=UTC)]


async def test_answers_go_into_the_days_thread_and_the_summary_lists_everyone(harness_factory: Any) -> None:
    h = harness_factory(datetime(2027, 3, 15, 3, 0, tzinfo=UTC))
    h.load(TEAM)
    await h.advance_to(datetime(2027, 3, 15, 4, 1, tzinfo=UTC))
    await answer_by_dm(h, "ravi", "Trained v7", "Evaluate v7", "Waiting on GPU quota")
    await h.advance_to(datetime(2027, 3, 15, 13, 31, tzinfo=UTC))
    await answer_by_dm(h, "alice", "Reviewed PRs", "Ship drift alerts", "none")
    await h.advance_to(datetime(2027, 3, 16, 12, 0, tzinfo=UTC))

    channel = h.chat.in_channel("#ml")
    parents = [m for m in channel if m.thread is None]
    # one thread per day: Monday's, and Tuesday's, opened by Tuesday's first reminder (Ravi's, 04:00Z)
    assert [p.text.splitlines()[0] for p in parents] == ["📋 daily — Mon 15 Mar 2027", "📋 daily — Tue 16 Mar 2027"]
    replies = h.chat.thread_of(parents[0].id)
    assert [r.text.splitlines()[0].split(" ·")[0] for r in replies[:2]] == ["@Ravi", "@Alice"]
    summary = replies[-1].text
    assert "Answered (2): Ravi, Alice" in summary or "Answered (2): Alice, Ravi" in summary
    assert "Not answered (1): Kenji" in summary
    assert "Blockers (1)" in summary and "Waiting on GPU quota" in summary and "Ship drift" not in summary
    assert "2/3 answered · 1 blocker" in parents[0].text  # the thread's headline was updated
    # without a date, /standup report shows the newest closed day, not an empty "today", to the asker only
    alice = h.store.get_member("acme", "alice")
    report = await h.app.command(Invocation("acme", alice, "standup", "report", channel="#ml"))
    assert not report.public and "summary — Mon 15 Mar 2027" in render_text(report.message)
    assert "Answered (2)" in render_text(report.message)
    posted = await h.app.command(Invocation("acme", alice, "standup", "report public", channel="#ml"))
    assert posted.public and "summary — Mon 15 Mar 2027" in render_text(posted.message)


async def test_silent_member_is_nudged_once_and_answerer_is_not(harness_factory: Any) -> None:
    h = harness_factory(datetime(2027, 3, 15, 3, 0, tzinfo=UTC))
    h.load(TEAM)
    await h.advance_to(datetime(2027, 3, 15, 4, 5, tzinfo=UTC))
    await answer_by_dm(h, "ravi", "a", "b", "c")
    await h.advance_to(datetime(2027, 3, 15, 20, 0, tzinfo=UTC))
    assert [d for d in h.dms("ravi") if "Still open" in d.text] == []
    assert len([d for d in h.dms("alice") if "Still open" in d.text]) == 1


async def test_no_reminder_on_out_of_office_or_weekend(harness_factory: Any) -> None:
    h = harness_factory(datetime(2027, 3, 15, 12, 0, tzinfo=UTC))
    h.load(TEAM)
    await h.advance_to(datetime(2027, 3, 22, 0, 0, tzinfo=UTC))
    kenji_days = [d.at.astimezone(h.store.get_member("acme", "kenji").zone).date().isoformat()
                  for d in h.dms("kenji") if "Stand-up:" in d.text]
    assert "2027-03-16" not in kenji_days            # out of office
    assert kenji_days == ["2027-03-17", "2027-03-18", "2027-03-19", "2027-03-22"]  # Monday 09:30 AEDT is Sunday 22:30Z; no weekend


async def test_skip_today_and_until_stop_the_reminders(harness_factory: Any) -> None:
    h = harness_factory(datetime(2027, 3, 15, 0, 0, tzinfo=UTC))
    h.load(TEAM)
    alice = h.store.get_member("acme", "alice")
    reply = await h.app.command(Invocation("acme", alice, "standup", "skip until 2027-03-17", channel="#ml"))
    assert "until Wed 17 Mar 2027" in reply.message.fallback
    await h.advance_to(datetime(2027, 3, 19, 0, 0, tzinfo=UTC))
    alice_days = [d.at.date().isoformat() for d in h.dms("alice") if "Stand-up:" in d.text]
    assert alice_days == ["2027-03-18"]


async def test_evening_answer_counts_for_the_next_working_day(harness_factory: Any) -> None:
    # Friday 19:00 in New York: after the cut-off, so the answer is for Monday.
    h = harness_factory(datetime(2027, 3, 19, 23, 0, tzinfo=UTC))
    h.load(TEAM)
    alice = h.store.get_member("acme", "alice")
    reply = await h.app.command(Invocation("acme", alice, "standup", "", channel="#ml"))
    assert "Mon 22 Mar 2027" in reply.message.fallback
    await answer_by_dm(h, "alice", "Prepared the demo", "Run the demo", "none")
    run = h.store.get_run("acme", "daily", "alice", datetime(2027, 3, 22).date())
    assert run is not None and run.status == "answered"
    await h.advance_to(datetime(2027, 3, 22, 14, 0, tzinfo=UTC))
    assert not [d for d in h.dms("alice") if "Stand-up:" in d.text and d.at.date().isoformat() == "2027-03-22"]


async def test_editing_before_the_cutoff_updates_the_thread_post(harness_factory: Any) -> None:
    h = harness_factory(datetime(2027, 3, 15, 14, 0, tzinfo=UTC))
    h.load(TEAM)
    alice = h.store.get_member("acme", "alice")
    form_reply = await h.app.command(Invocation("acme", alice, "standup", "", channel="#ml", trigger="t1"))
    assert form_reply.form is not None and len(form_reply.form.inputs) == 3
    values = {"q0": "first", "q1": "second", "q2": "none"}
    await h.app.action(Action("acme", alice, "standup.submit", values=values, metadata=form_reply.form.metadata))
    values["q0"] = "first, corrected"
    await h.app.action(Action("acme", alice, "standup.submit", values=values, metadata=form_reply.form.metadata))
    posts = [m for m in h.chat.in_channel("#ml") if m.thread]
    assert len(posts) == 1 and "first, corrected" in posts[0].text and posts[0].edits


async def test_stats_report_participation_and_open_blocker_age(harness_factory: Any) -> None:
    h = harness_factory(datetime(2027, 3, 15, 3, 0, tzinfo=UTC))
    h.load(TEAM)
    for day in range(3):
        base = datetime(2027, 3, 15, 4, 1, tzinfo=UTC) + timedelta(days=day)
        await h.advance_to(base)
        await answer_by_dm(h, "ravi", "x", "y", "blocked on data access")
    await h.advance_to(datetime(2027, 3, 18, 12, 0, tzinfo=UTC))
    ravi = h.store.get_member("acme", "ravi")
    reply = await h.app.command(Invocation("acme", ravi, "standup", "stats", channel="#ml"))
    text = render_text(reply.message)
    assert "3/4 days answered (75%)" in text
    assert "Open blockers (1)" in text and "(day 4): blocked on data access" in text  # Mon to Thu in Kolkata


async def test_answer_with_mentions_is_kept_literally_and_long_text_is_truncated(harness_factory: Any) -> None:
    h = harness_factory(datetime(2027, 3, 15, 14, 0, tzinfo=UTC))
    h.load(TEAM)
    alice = h.store.get_member("acme", "alice")
    await h.app.command(Invocation("acme", alice, "standup", "", channel="#ml"))
    nasty = "<!channel> <!here> @everyone <@U123> & <b>"
    long = "x" * 40_000
    await answer_by_dm(h, "alice", nasty, long, "none")
    run = h.store.get_run("acme", "daily", "alice", datetime(2027, 3, 15).date())
    assert run is not None and run.answers[0] == nasty and len(run.answers[1]) == 40_000
    post = next(m for m in h.chat.in_channel("#ml") if m.thread)
    assert nasty in post.text
    assert "37,000 more characters not shown" in post.text
    # in the neutral message the user's text is plain text, never a mention
    from bot.kernel.messages import Mention, Section

    sections = [b for b in post.message.blocks if isinstance(b, Section)]
    mentions = [p for s in sections for p in s.text if isinstance(p, Mention)]
    assert [m.member_id for m in mentions] == ["alice"]


async def test_timezone_change_moves_future_reminders(harness_factory: Any) -> None:
    h = harness_factory(datetime(2027, 3, 15, 0, 0, tzinfo=UTC))
    h.load(TEAM)
    await h.advance_to(datetime(2027, 3, 15, 1, 0, tzinfo=UTC))
    alice = h.store.get_member("acme", "alice")
    reply = await h.app.command(Invocation("acme", alice, "meridian", "tz Europe/Berlin"))
    assert "Europe/Berlin" in reply.message.fallback
    await h.advance_to(datetime(2027, 3, 16, 0, 0, tzinfo=UTC))
    assert [d.at for d in h.dms("alice") if "Stand-up:" in d.text] == [datetime(2027, 3, 15, 8, 30, tzinfo=UTC)]


async def test_forget_me_deletes_answers_and_settings(harness_factory: Any) -> None:
    h = harness_factory(datetime(2027, 3, 15, 14, 0, tzinfo=UTC))
    h.load(TEAM)
    alice = h.store.get_member("acme", "alice")
    await h.app.command(Invocation("acme", alice, "standup", "", channel="#ml"))
    await answer_by_dm(h, "alice", "a", "b", "c")
    reply = await h.app.command(Invocation("acme", alice, "meridian", "forget-me confirm"))
    assert "Removed 1 stand-up answer, 1 stand-up post taken down and your settings" in reply.message.fallback
    assert h.store.get_member("acme", "alice") is None
    assert h.store.runs_between("acme", "daily", datetime(2027, 1, 1).date(), datetime(2027, 12, 31).date()) == []


async def test_setup_participants_may_be_written_as_mentions_or_names_but_must_be_members(
        harness_factory: Any) -> None:
    h = harness_factory(datetime(2027, 3, 15, tzinfo=UTC))
    h.load(TEAM)
    alice = h.store.get_member("acme", "alice")
    await h.app.command(Invocation("acme", alice, "standup", "setup daily members=@ravi,Kenji", channel="#ml"))
    assert h.store.get_standup("acme", "daily").members == ("ravi", "kenji")
    refused = await h.app.command(Invocation("acme", alice, "standup", "setup daily members=ravi,kenjj"))
    assert refused.message is not None and "Did you mean @kenji?" in render_text(refused.message)
    assert h.store.get_standup("acme", "daily").members == ("ravi", "kenji")


# --- answering sessions (issue 10, items 1, 3 and 4) ---------------------------------------------
def thread_posts(h: Any, channel: str = "#ml") -> list[Any]:
    return [m for m in h.chat.in_channel(channel) if m.thread]


async def test_a_dm_outside_an_answering_session_is_never_an_answer(harness_factory: Any) -> None:
    h = harness_factory(datetime(2027, 3, 15, 3, 0, tzinfo=UTC))
    h.load(TEAM)
    # Ravi is reminded at 09:30 IST (04:00Z) and says nothing until after his 17:00 cut-off (11:30Z).
    await h.advance_to(datetime(2027, 3, 15, 12, 0, tzinfo=UTC))
    await answer_by_dm(h, "ravi", "thanks!", "ok", "bye")
    run = h.store.get_run("acme", "daily", "ravi", datetime(2027, 3, 15).date())
    assert run is not None and run.status == "reminded" and run.answers == ()
    assert thread_posts(h) == []
    reply = h.dms("ravi")[-1].text
    assert "No stand-up is open in this chat right now" in reply
    # the next one, in his own time: Tuesday 09:30 IST
    assert "Your next daily stand-up opens Tue 16 Mar at 09:30 IST" in reply
    # the next morning, before her reminder, Alice says hello: still not an answer
    await h.advance_to(datetime(2027, 3, 16, 12, 0, tzinfo=UTC))
    await answer_by_dm(h, "alice", "hello")
    assert h.store.get_run("acme", "daily", "alice", datetime(2027, 3, 15).date()).status == "reminded"
    assert h.store.get_run("acme", "daily", "alice", datetime(2027, 3, 16).date()) is None
    assert "opens Tue 16 Mar at 09:30 EDT" in h.dms("alice")[-1].text
    assert not [p for p in thread_posts(h) if "hello" in p.text]
    # inside the session that the reminder opens, the same words are answers
    await h.advance_to(datetime(2027, 3, 16, 13, 31, tzinfo=UTC))
    await answer_by_dm(h, "alice", "hello", "ok", "none")
    assert h.store.get_run("acme", "daily", "alice", datetime(2027, 3, 16).date()).status == "answered"


async def test_a_session_that_runs_past_the_cutoff_posts_nothing(harness_factory: Any) -> None:
    h = harness_factory(datetime(2027, 3, 15, 3, 0, tzinfo=UTC))
    h.load(TEAM)
    await h.advance_to(datetime(2027, 3, 15, 11, 0, tzinfo=UTC))
    await answer_by_dm(h, "ravi", "Retrained churn v7")
    await h.advance_to(datetime(2027, 3, 15, 11, 40, tzinfo=UTC))  # 17:10 IST, after his cut-off
    await answer_by_dm(h, "ravi", "Compare v7")
    texts = [d.text for d in h.dms("ravi")]
    assert any("closed at 17:00 your time before the last question" in t for t in texts)
    assert h.store.get_run("acme", "daily", "ravi", datetime(2027, 3, 15).date()).status == "reminded"
    assert thread_posts(h) == []


async def test_an_answer_after_the_cutoff_is_shown_late_everywhere(harness_factory: Any) -> None:
    h = harness_factory(datetime(2027, 3, 15, 3, 0, tzinfo=UTC))
    h.load(TEAM)
    await h.advance_to(datetime(2027, 3, 15, 4, 1, tzinfo=UTC))
    ravi = h.store.get_member("acme", "ravi")
    # Ravi opens the form at 09:31 IST and sends it at 17:30 IST, after his 17:00 cut-off
    form = (await h.app.command(Invocation("acme", ravi, "standup", "", channel="#ml", trigger="t1"))).form
    assert form is not None
    await h.advance_to(datetime(2027, 3, 15, 12, 0, tzinfo=UTC))
    done = await h.app.action(Action("acme", ravi, "standup.submit", metadata=form.metadata,
                                     values={"q0": "Trained v7", "q1": "Evaluate v7", "q2": "none"}))
    assert done is not None and "marked late" in done.message.fallback
    post = thread_posts(h)[-1]
    assert post.text.splitlines()[0] == "@Ravi · 17:30 IST · late"
    await h.advance_to(datetime(2027, 3, 16, 12, 0, tzinfo=UTC))
    summary = next(p for p in thread_posts(h) if "summary — Mon 15 Mar" in p.text)
    assert "Answered (1): Ravi (late)" in summary.text
    report = await h.app.command(Invocation("acme", ravi, "standup", "report 2027-03-15", channel="#ml"))
    assert "Ravi (late)" in render_text(report.message)
    # an answer already given cannot be changed after the cut-off
    again = await h.app.action(Action("acme", ravi, "standup.submit", metadata=form.metadata,
                                      values={"q0": "rewritten", "q1": "x", "q2": "none"}))
    assert again is not None and "stay as they were" in again.message.fallback
    assert h.store.get_run("acme", "daily", "ravi", datetime(2027, 3, 15).date()).answers[0] == "Trained v7"


async def test_editing_in_the_dm_shows_the_current_answers_and_confirms_each_change_there(
        harness_factory: Any) -> None:
    h = harness_factory(datetime(2027, 3, 15, 4, 0, tzinfo=UTC))
    h.load(TEAM)
    await h.advance_to(datetime(2027, 3, 15, 4, 1, tzinfo=UTC))
    await answer_by_dm(h, "ravi", "Trained v7", "Evaluate v7", "none")
    ravi = h.store.get_member("acme", "ravi")
    reply = await h.app.command(Invocation("acme", ravi, "standup", "", channel="#ml"))
    assert "change them there" in reply.message.fallback
    shown = h.dms("ravi")[-1].text
    assert "Edit: daily — Mon 15 Mar 2027" in shown
    assert "Trained v7" in shown and "Evaluate v7" in shown and "`keep`" in shown
    await answer_by_dm(h, "ravi", "keep")
    assert "Kept 1/3." in h.dms("ravi")[-1].text and "Now: Evaluate v7" in h.dms("ravi")[-1].text
    await answer_by_dm(h, "ravi", "Evaluate v7 against the champion")
    assert "Changed 2/3." in h.dms("ravi")[-1].text
    await answer_by_dm(h, "ravi", "keep")
    assert h.dms("ravi")[-1].text.startswith("Changed answer 2 of 3.")
    post = thread_posts(h)[0]
    assert "Evaluate v7 against the champion" in post.text and post.edits
    assert len(thread_posts(h)) == 1
    # cancel leaves everything as it was
    await h.app.command(Invocation("acme", ravi, "standup", "", channel="#ml"))
    await answer_by_dm(h, "ravi", "something else", "cancel")
    assert "Nothing changed" in h.dms("ravi")[-1].text
    assert h.store.get_run("acme", "daily", "ravi", datetime(2027, 3, 15).date()).answers[0] == "Trained v7"


async def test_an_early_answer_waits_for_its_days_thread_across_a_restart(harness_factory: Any) -> None:
    from bot.bootstrap import build_core

    h = harness_factory(datetime(2027, 3, 15, 12, 0, tzinfo=UTC))
    h.load(TEAM)
    # Monday 17:30 IST, after Ravi's cut-off: /standup answers for Tuesday
    ravi = h.store.get_member("acme", "ravi")
    reply = await h.app.command(Invocation("acme", ravi, "standup", "", channel="#ml"))
    assert "Tue 16 Mar 2027" in reply.message.fallback
    await answer_by_dm(h, "ravi", "Tuesday: trained v7", "Tuesday: evaluate", "none")
    assert "go into that day's thread" in h.dms("ravi")[-1].text
    await h.advance_to(datetime(2027, 3, 16, 3, 59, tzinfo=UTC))
    assert not [m for m in h.chat.in_channel("#ml") if "Tue 16 Mar" in m.text]  # Tuesday's thread is not open
    assert not [p for p in thread_posts(h) if "Tuesday: trained v7" in p.text]
    # the process restarts; Tuesday's first reminder (Ravi's own, 04:00Z) opens the thread with his answer
    h.app = build_core(h.store, h.clock, {"console": h.chat}, worker="restarted")
    await h.advance_to(datetime(2027, 3, 16, 14, 0, tzinfo=UTC))
    tuesday = [m for m in h.chat.in_channel("#ml") if m.thread is None and "Tue 16 Mar" in m.text]
    assert len(tuesday) == 1 and tuesday[0].at == datetime(2027, 3, 16, 4, 0, tzinfo=UTC)
    posted = [p for p in h.chat.thread_of(tuesday[0].id) if "Tuesday: trained v7" in p.text]
    assert len(posted) == 1 and posted[0].text.splitlines()[0] == "@Ravi · Mon 17:30 IST"
    assert not [d for d in h.dms("ravi") if "Stand-up: daily — Tue" in d.text]  # answered: no reminder


async def test_cancel_ends_a_session_and_the_day_stays_open_for_standup(harness_factory: Any) -> None:
    h = harness_factory(datetime(2027, 3, 15, 4, 0, tzinfo=UTC))
    h.load(TEAM)
    await h.advance_to(datetime(2027, 3, 15, 4, 1, tzinfo=UTC))
    await answer_by_dm(h, "ravi", "Trained v7", "cancel")
    assert "Stopped: nothing was posted for Mon 15 Mar 2027" in h.dms("ravi")[-1].text
    await answer_by_dm(h, "ravi", "hello?")
    assert "You can still answer daily for Mon 15 Mar 2027 until Mon 15 Mar at 17:00 IST" in h.dms("ravi")[-1].text
    assert h.store.get_run("acme", "daily", "ravi", datetime(2027, 3, 15).date()).status == "reminded"
    assert thread_posts(h) == []
