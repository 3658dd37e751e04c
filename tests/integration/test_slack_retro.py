"""A retro on Slack from its scheduled opening to its action items, through the real app over HTTP."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.kernel.team import apply_team
from bot.kernel.teamfile import parse_team
from bot.kernel.timekeeping import utc
from tests.emulators.slack import Call
from tests.integration.slack_harness import SlackHarness

TEAM = """
workspace: T0001
members:
  - {id: alice, name: Alice, tz: America/Los_Angeles, admin: true, accounts: {slack: U0ALICE}}
  - {id: ravi, name: Ravi, tz: Asia/Kolkata, accounts: {slack: U0RAVI}}
  - {id: marta, name: Marta, tz: Europe/Berlin, accounts: {slack: U0MARTA}}
raci:
  - {activity: churn model retraining, R: [ravi], A: alice, C: [marta], I: []}
retros:
  - {name: sprint-retro, channel: C0TEAM, every: 2w, duration: 60m, starts: 2027-01-04, members: all,
     candidates: ["14:00"], max_votes: 2}
"""
PEOPLE = {"U0ALICE": ("Alice", "America/Los_Angeles"), "U0RAVI": ("Ravi", "Asia/Kolkata"),
          "U0MARTA": ("Marta", "Europe/Berlin")}
NEW_YEAR = utc(2027, 1, 1, 0, 0)


@pytest.fixture
async def slack(tmp_path: Path) -> AsyncIterator[SlackHarness]:
    async with SlackHarness(tmp_path, NEW_YEAR) as harness:
        clock = harness.clock
        harness.emulator._clock = lambda: clock.now().timestamp()
        for user, (name, tz) in PEOPLE.items():
            harness.emulator.add_user(user, name, tz, is_admin=user == "U0ALICE")
        apply_team(harness.app, parse_team(TEAM, "team.yaml", harness.app.sections), platform="slack")
        yield harness


def posts(slack: SlackHarness, channel: str, containing: str = "") -> list[Call]:
    return [c for c in slack.emulator.calls("chat.postMessage")
            if c.where == channel and containing in json.dumps(c.params, ensure_ascii=False)]


def text_of(call: Call) -> str:
    return json.dumps(call.params.get("blocks") or call.params.get("view"), ensure_ascii=False)


async def reply(slack: SlackHarness, user: str, text: str, thread: str, ts: str) -> None:
    await slack.event({"type": "message", "channel": "C0TEAM", "channel_type": "channel", "user": user,
                       "text": text, "ts": ts, "thread_ts": thread})


async def react(slack: SlackHarness, user: str, ts: str, reaction: str = "+1", added: bool = True) -> None:
    await slack.event({"type": "reaction_added" if added else "reaction_removed", "user": user,
                       "reaction": reaction, "item_user": "UBOT",
                       "item": {"type": "message", "channel": "C0TEAM", "ts": ts}, "event_ts": "1.1"})


def at(call: Call) -> datetime:
    return datetime.fromtimestamp(call.at, tz=UTC)


async def test_a_retro_on_slack_from_its_thread_to_the_owners_reminder(slack: SlackHarness) -> None:
    emulator = slack.emulator

    # The thread opens on schedule, 48 hours before the 14:00 UTC meeting.
    await slack.engine.advance_to(utc(2027, 1, 2, 14, 1), slack.clock)
    (opened,) = posts(slack, "C0TEAM", "sprint-retro")
    assert at(opened) == utc(2027, 1, 2, 14, 0) and "thread_ts" not in opened.params
    assert opened.result is not None
    thread = str(opened.result["ts"])

    # Replies in the thread become items; chatter does not.
    await reply(slack, "U0RAVI", "improve: flaky CI on the training repo", thread, "1790000500.000100")
    await reply(slack, "U0MARTA", "🟢 the new eval harness saved hours", thread, "1790000500.000200")
    await reply(slack, "U0ALICE", "+1", thread, "1790000500.000300")
    # An anonymous item by DM is posted in the thread with no author.
    await slack.event({"type": "message", "channel": "D0ALICE", "channel_type": "im", "user": "U0ALICE",
                       "text": "anon: improve: reviews wait too long for the Berlin side", "ts": "1790000500.000400"})
    await slack.until(lambda: bool(posts(slack, "D0ALICE", "Taken anonymously")))
    assert not posts(slack, "C0TEAM", "reviews wait too long")  # held until the thread's next hour mark
    await slack.engine.advance_to(utc(2027, 1, 2, 15, 1), slack.clock)
    (anon,) = posts(slack, "C0TEAM", "reviews wait too long")
    assert at(anon) == utc(2027, 1, 2, 15, 0)
    assert anon.params["thread_ts"] == thread and anon.result is not None
    assert "U0ALICE" not in json.dumps(anon.params) and "Alice" not in json.dumps(anon.params)
    anon_ts = str(anon.result["ts"])

    # 👍 reactions are votes: on a person's reply and on the bot's anonymous item, with a skin tone too;
    # a 👍 taken back takes the vote back, and other emoji are not votes.
    await react(slack, "U0ALICE", "1790000500.000100")
    await react(slack, "U0ALICE", anon_ts)
    await react(slack, "U0RAVI", anon_ts, "+1::skin-tone-4")
    await react(slack, "U0MARTA", "1790000500.000100", "heart")
    await react(slack, "U0MARTA", "1790000500.000200")
    await slack.settle(0.2)
    await react(slack, "U0ALICE", "1790000500.000100", added=False)
    await slack.settle(0.2)

    # The day-ahead notice reaches each person in their own time, with the meeting as a calendar file. For
    # Ravi 24 hours before is Sunday evening, so it came in his last working hour, Friday 16:00 IST.
    await slack.engine.advance_to(utc(2027, 1, 3, 14, 1), slack.clock)
    (ravi_reminder,) = posts(slack, "D0RAVI", "on Monday at 19:30")
    assert at(ravi_reminder) == utc(2027, 1, 1, 10, 30)
    assert "Mon 4 Jan 19:30 IST" in text_of(ravi_reminder) and "BEGIN:VCALENDAR" not in text_of(ravi_reminder)
    for dm in ("D0ALICE", "D0RAVI", "D0MARTA"):
        (ics,) = emulator.uploaded(dm)
        assert ics.name == "sprint-retro-2027-01-04.ics"
        assert "BEGIN:VCALENDAR" in ics.text and "DTSTART" in ics.text and ics.thread_ts is None

    # /retro close before the meeting asks first; confirmed, the summary (most votes first, nobody's name on
    # an item) is posted once, in the channel.
    await slack.command("close", user="U0ALICE", command="/retro")
    await slack.command("close confirm", user="U0ALICE", command="/retro")
    await slack.until(lambda: len(posts(slack, "C0TEAM", "summary")) == 1)
    await slack.settle(0.2)
    (in_channel,) = posts(slack, "C0TEAM", "summary")
    assert "thread_ts" not in in_channel.params
    summary = text_of(in_channel)
    assert "2 👍  reviews wait too long for the Berlin side" in summary
    assert "0 👍  flaky CI on the training repo" in summary and "1 👍  the new eval harness saved hours" in summary
    assert "U0" not in summary

    # An action item in the thread names its owner by Slack mention.
    await reply(slack, "U0MARTA", "action: <@U0RAVI> fix the flaky CI test by 2027-01-20", thread,
                "1790000600.000100")
    await slack.until(lambda: bool(posts(slack, "C0TEAM", "fix the flaky CI test")))
    (action,) = posts(slack, "C0TEAM", "fix the flaky CI test")
    assert action.params["thread_ts"] == thread and "<@U0RAVI>" in text_of(action)

    # Its owner is reminded the day before it is due, at the start of their own working day (09:00 in Kolkata).
    await slack.engine.advance_to(utc(2027, 1, 19, 6, 0), slack.clock)
    (due,) = posts(slack, "D0RAVI", "due tomorrow")
    assert at(due) == utc(2027, 1, 19, 3, 30)
    assert "fix the flaky CI test" in text_of(due) and "/retro done 1" in text_of(due)


async def test_the_app_home_shows_raci_roles_the_next_slot_and_open_action_items(slack: SlackHarness) -> None:
    await slack.command("open", user="U0ALICE", command="/retro")
    await slack.until(lambda: bool(posts(slack, "C0TEAM", "sprint-retro")))
    await slack.command("action <@U0RAVI> retrain with the new features by 2027-01-15", user="U0ALICE",
                        command="/retro")
    await slack.until(lambda: bool(posts(slack, "C0TEAM", "retrain with the new features")))

    await slack.event({"type": "app_home_opened", "user": "U0RAVI", "channel": "D0RAVI", "tab": "home"})
    await slack.until(lambda: bool(slack.emulator.calls("views.publish")))
    home = text_of(slack.emulator.calls("views.publish")[0])
    assert "Your RACI roles" in home and "*churn model retraining* — Responsible" in home
    assert "Your retros" in home and "open now, until *Mon 4 Jan 20:30 IST* your time" in home
    assert "retrain with the new features — due Fri 15 Jan 2027" in home

    await slack.command("close confirm", user="U0ALICE", command="/retro")
    await slack.until(lambda: len(posts(slack, "C0TEAM", "summary")) == 1)
    await slack.event({"type": "app_home_opened", "user": "U0ALICE", "channel": "D0ALICE", "tab": "home"})
    await slack.until(lambda: len(slack.emulator.calls("views.publish")) == 2)
    home = text_of(slack.emulator.calls("views.publish")[1])
    assert "*churn model retraining* — Accountable" in home
    # Closed before its meeting, the round keeps the meeting: 14:00 UTC, in Los Angeles.
    assert "meeting *Mon 4 Jan 06:00 PST* your time (items and votes closed early)" in home
    assert "Your open action items" not in home  # the action is Ravi's



async def test_retro_schedule_sends_the_plan_as_a_calendar_file_to_the_persons_dm(slack: SlackHarness) -> None:
    await slack.command("schedule", user="U0RAVI", command="/retro")
    await slack.until(lambda: bool(slack.emulator.calls("response_url")))
    answer = json.dumps(slack.emulator.calls("response_url")[0].params["blocks"], ensure_ascii=False)
    assert "Mon 4 Jan 19:30 IST" in answer and "📎 *sprint-retro-plan.ics* is in your DM with Meridian" in answer
    (plan,) = slack.emulator.uploaded("D0RAVI")
    assert plan.name == "sprint-retro-plan.ics" and plan.text.count("BEGIN:VEVENT") == 6
