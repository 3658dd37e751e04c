"""Retro guard rails, natural dates and what Parabol and TeamRetro users expect, through the core's entry points
(``/retro`` commands, thread replies, buttons, the scheduler) on SQLite and PostgreSQL, and ``/standup`` and
``/meridian`` dates through ``meridian console``."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

from adapters.console.render import render_text
from bot.kernel.app import Action
from bot.kernel.commands import Invocation
from tests.conftest import Harness
from tests.integration.test_console_cli import meridian
from tests.integration.test_retros import OPEN_AT, START, TEAM, opened, repo, run, say_in_thread

DAY = date(2027, 3, 1)  # the first round; its facilitator by rotation is Alice (members by id: alice, marta, ravi)


def summaries(h: Any) -> list[Any]:
    return [m for m in h.chat.messages if m.text.startswith("🧾 retro summary")]


# --- 9. guard rails ------------------------------------------------------------------------------
async def test_only_admins_and_the_rounds_facilitator_open_and_close(harness_factory: Any) -> None:
    h = harness_factory(START)
    h.load(TEAM)
    assert await run(h, "ravi", "/retro open") == \
        "Only workspace admins or this round's facilitator (Alice) can open retro."
    assert repo(h).get_occurrence("acme", "retro", DAY).status == "planned"
    assert "Opened the retro retro" in await run(h, "alice", "/retro open")  # admin, and this round's facilitator
    assert await run(h, "marta", "/retro close confirm") == \
        "Only workspace admins or this round's facilitator (Alice) can close retro."
    assert repo(h).get_occurrence("acme", "retro", DAY).status == "open"
    parent = next(m for m in h.chat.in_channel("#ml") if m.text.startswith("🔁 retro"))
    assert "Facilitator: @Alice" in parent.text


async def test_a_facilitator_named_in_the_team_file_runs_every_round(harness_factory: Any) -> None:
    h = harness_factory(START)
    h.load(TEAM.replace("max_votes: 2,", "max_votes: 2, facilitator: ravi,"))
    assert "Opened the retro retro" in await run(h, "ravi", "/retro open")
    assert "Only workspace admins or this round's facilitator (Ravi)" in await run(h, "marta", "/retro close")
    assert "Closed retro" in await run(h, "ravi", "/retro close confirm")


async def test_closing_before_the_meeting_asks_first_and_keeps_the_meeting_and_its_reminders(
        harness_factory: Any) -> None:
    h = await opened(harness_factory)
    await say_in_thread(h, "marta", "🟢 the eval harness")
    occ = repo(h).get_occurrence("acme", "retro", DAY)
    alice = h.store.get_member("acme", "alice")
    reply = await h.app.command(_inv(h, "alice", "close"))
    assert reply.message is not None and reply.public is False
    question = render_text(reply.message)
    assert "Closing now ends items and votes" in question and "the meeting stays on" in question
    assert "[Close now]" in question and "/retro close confirm" in question
    assert repo(h).get_occurrence("acme", "retro", DAY).status == "open"  # asking changed nothing

    pressed = await h.app.action(Action("acme", alice, "retro.close.confirm", f"retro|{DAY.isoformat()}"))
    assert pressed is not None and pressed.message is not None
    assert "The meeting" in render_text(pressed.message) and "reminders still go out" in render_text(pressed.message)
    assert repo(h).get_occurrence("acme", "retro", DAY).status == "closed"
    again = await h.app.action(Action("acme", alice, "retro.close.confirm", f"retro|{DAY.isoformat()}"))
    assert again is not None and again.message is not None and "already closed" in render_text(again.message)

    assert occ.start is not None
    status = await run(h, "ravi", "/retro")
    assert "closed early" in status and "its meeting is still on" in status
    await h.advance_to(occ.end + timedelta(hours=1))
    for member in ("alice", "marta", "ravi"):
        got = [d.text for d in h.dms(member)]
        assert any(re.search(r"retro (in 24 hours|tomorrow at|on \w+ at)", t) for t in got), member
        assert any("retro in 15 minutes" in t and "closed early" in t for t in got), (member, got)
    (summary,) = summaries(h)  # once, in the channel, not again at the meeting's end
    assert summary.thread is None and summary.channel == "#ml" and "the eval harness" in summary.text
    assert "retro" in await run(h, "ravi", "/retro schedule")


async def test_an_empty_round_closes_with_one_line_in_its_thread_and_nothing_in_the_channel(
        harness_factory: Any) -> None:
    h = await opened(harness_factory)
    occ = repo(h).get_occurrence("acme", "retro", DAY)
    await h.advance_to(occ.end + timedelta(minutes=1))
    assert summaries(h) == []
    closing = [m for m in h.chat.messages if "closed with no items" in m.text]
    assert [(m.text, m.thread is not None) for m in closing] == \
        [("🧾 retro closed with no items and no action items.", True)]
    assert not [m for m in h.chat.messages if "No items this time" in m.text]


async def test_an_action_item_is_closed_by_its_owner_its_recorder_or_an_admin(harness_factory: Any) -> None:
    h = await opened(harness_factory)
    await say_in_thread(h, "marta", "action: @ravi fix the flaky CI test by 2027-03-10")
    assert "Saved action item" in await run(h, "ravi", "/retro action @ravi write the runbook")
    assert "Saved action item" in await run(h, "ravi", "/retro action @marta review the runbook")
    flaky, runbook, review = repo(h).actions("acme")
    assert await run(h, "marta", f"/retro done {runbook.id}") == \
        f"Action item #{runbook.id} is Ravi's: only its owner, whoever recorded it or an admin can mark it done."
    assert "is done" in await run(h, "marta", f"/retro done {flaky.id}")  # she recorded it
    assert "is done" in await run(h, "ravi", f"/retro done {review.id}")  # he recorded it
    assert "is done" in await run(h, "alice", f"/retro done {runbook.id}")  # an admin
    assert "already done" in await run(h, "ravi", f"/retro done {runbook.id}")
    assert repo(h).actions("acme") == []


# --- 10. natural dates ---------------------------------------------------------------------------
async def test_action_due_dates_are_read_as_people_write_them_in_the_speakers_zone(harness_factory: Any) -> None:
    h = await opened(harness_factory)
    await h.advance_to(datetime(2027, 2, 27, 20, 0, tzinfo=UTC))  # Sat 12:00 in Los Angeles, Sun 01:30 in Kolkata
    saved = await run(h, "marta", "/retro action ravi quarantine flaky tests by next friday")
    assert saved.startswith("Saved action item #") and saved.endswith(" for Ravi, due Fri 5 Mar 2027.")
    assert "due Sun 28 Feb 2027" in await run(h, "alice", "/retro action @marta tidy the dashboards by tomorrow")
    assert "due Mon 1 Mar 2027" in await run(h, "ravi", "/retro action @marta tidy the alerts by tomorrow")
    assert "(no due date)" in await run(h, "ravi", "/retro action @ravi cut review time by half")
    refused = await run(h, "marta", "/retro action ravi quarantine flaky tests by nxt friday")
    assert refused.startswith('I can\'t read "nxt friday" as a date — try "next friday" or 2027-03-05.')
    assert "in the past" in await run(h, "marta", "/retro action ravi rerun the eval by 2027-01-05")
    await say_in_thread(h, "marta", "action: @ravi retrain churn in 2 weeks by in 2 weeks")
    await say_in_thread(h, "marta", "action: @ravi write it up by someday")
    actions = {a.text: a.due for a in repo(h).actions("acme")}
    assert actions == {"quarantine flaky tests": date(2027, 3, 5), "tidy the dashboards": date(2027, 2, 28),
                       "tidy the alerts": date(2027, 3, 1), "cut review time by half": None,
                       "retrain churn in 2 weeks": date(2027, 3, 13)}
    (error,) = [d.text for d in h.dms("marta") if "couldn't record" in d.text]
    assert 'I can\'t read "someday" as a date' in error


STANDUP_DATES = """
:as ravi
:channel #ml-team
/standup skip until friday
/standup skip until nxt friday
/meridian ooo next week
/meridian ooo until 2027-03-01
/meridian me
/standup report yesterday
/standup report tomorow
"""


def test_standup_and_out_of_office_dates_are_read_the_same_way() -> None:
    result = meridian("console", "--start", "2027-03-16T06:00Z", "--strict", stdin=STANDUP_DATES)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Skipping ml-daily until Fri 19 Mar 2027 inclusive." in out
    assert 'I can\'t read "nxt friday" as a date — try "next friday" or 2027-03-26.' in out
    assert "Out of office 2027-03-22..2027-03-28" in out
    assert '"until 2027-03-01" ends before it starts' in out
    # "yesterday" in Ravi's Tuesday is Monday, a day before this console's stand-up began
    assert "There was no ml-daily stand-up on Mon 15 Mar 2027" in out
    assert 'I can\'t read "tomorow" as a date — try "tomorrow" or 2027-03-17.' in out
    assert "Traceback" not in out + result.stderr


# --- 11. Parabol and TeamRetro expectations ------------------------------------------------------
async def test_vote_counts_stay_hidden_until_the_close_and_a_vote_can_be_taken_back(harness_factory: Any) -> None:
    h = await opened(harness_factory)
    for text in ("🟢 the eval harness", "🔴 flaky CI"):
        await say_in_thread(h, "marta", text)
    assert await run(h, "ravi", "/retro vote 1") == "Your vote for #1 counts (1 left)."
    assert await run(h, "marta", "/retro vote 1") == "Your vote for #1 counts (1 left)."
    mine = await run(h, "ravi", "/retro")
    assert "#1 🟢 the eval harness  ✓ your vote" in mine and "#2 🔴 flaky CI\n" in mine + "\n"
    assert "👍" not in mine and "2 👍" not in mine
    assert "✓" not in (await run(h, "alice", "/retro")).replace("✓ marks", "")
    assert await run(h, "ravi", "/retro unvote 1") == "Took back your vote for #1 (2 left)."
    assert await run(h, "ravi", "/retro unvote 1") == \
        "You have not voted for #1, so there is no vote to take back."
    assert await run(h, "ravi", "/retro vote 2") == "Your vote for #2 counts (1 left)."
    await run(h, "alice", "/retro close confirm")
    (summary,) = summaries(h)
    assert "1 👍  the eval harness" in summary.text and "1 👍  flaky CI" in summary.text
    assert (await run(h, "ravi", "/retro unvote 2")).startswith("No retro is open right now.")


async def test_overdue_action_items_are_flagged_in_the_next_thread_and_in_retro_actions(harness_factory: Any) -> None:
    h = await opened(harness_factory)
    await say_in_thread(h, "marta", "action: @ravi fix the flaky CI test by 2027-03-03")
    await say_in_thread(h, "marta", "action: @marta write the runbook by 2027-03-20")
    await run(h, "alice", "/retro close confirm")
    await h.advance_to(datetime(2027, 3, 6, 20, 0, tzinfo=UTC))  # the next round's thread is open
    second = [m for m in h.chat.in_channel("#ml") if m.thread is None and m.text.startswith("🔁 retro — Mon 8 Mar")]
    assert len(second) == 1
    assert "Open action items from earlier retros (2, 1 overdue)" in second[0].text
    assert "fix the flaky CI test — ⚠️ overdue since Wed 3 Mar 2027" in second[0].text
    assert "write the runbook — due Sat 20 Mar 2027" in second[0].text
    listed = await run(h, "marta", "/retro actions")
    assert "📌 Open action items (2, 1 overdue)" in listed and "⚠️ overdue since Wed 3 Mar 2027" in listed


async def test_anonymous_items_go_out_together_at_the_next_hour_mark_even_across_a_restart(
        harness_factory: Any) -> None:
    h = await opened(harness_factory)
    occ = repo(h).get_occurrence("acme", "retro", DAY)
    mark = occ.opens_at + timedelta(hours=(OPEN_AT - occ.opens_at) // timedelta(hours=1) + 1)
    assert "Taken anonymously" in await run(h, "ravi", "/retro add --anon improve: reviews wait too long")
    await h.advance_to(OPEN_AT + timedelta(minutes=20))
    assert "Taken anonymously" in await run(h, "marta", "/retro add --anon 🙌 whoever fixed the GPU queue")
    assert repo(h).items("acme", "retro", DAY) == []

    restarted = Harness(h.store, h.clock.now())  # a new process on the same database
    await restarted.advance_to(mark + timedelta(minutes=1))
    posted = [m for m in restarted.chat.messages
              if m.thread is not None and ("🔴 reviews" in m.text or "🙌 whoever" in m.text)]
    assert len(posted) == 2 and {m.at for m in posted} == {mark}
    items = repo(h).items("acme", "retro", DAY)
    assert [(i.category, i.author) for i in items] == [("improve", None), ("kudos", None)]

    # One sent in the last hour before a close goes out with the close, before the summary.
    assert "Taken anonymously" in await run(restarted, "ravi", "/retro add --anon idea: pair on reviews")
    await run(restarted, "alice", "/retro close confirm")
    assert [i.text for i in repo(h).items("acme", "retro", DAY)][-1] == "pair on reviews"
    (summary,) = summaries(restarted)
    assert "pair on reviews" in summary.text


def _inv(h: Any, member: str, text: str) -> Invocation:
    return Invocation("acme", h.store.get_member("acme", member), "retro", text, channel="#ml")
