"""Asking Meridian from any Slack message: ``@Meridian who owns churn retraining?`` in a channel (an
``app_mention``, answered in the message's thread) and the message shortcut "Ask who owns this" (a
``message_action``, answered to the presser alone). Both reach the same answer as ``/raci ask``.

Everything goes as Slack sends it, signed, to ``/slack/events``: a person's message is the events the
emulator says Slack delivers for it (a mention is a ``message`` and an ``app_mention``, each with its own
event id), and a shortcut is the ``message_action`` payload built from the message the emulator kept.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from adapters.slack.app import ASK_OWNER
from bot.kernel.team import apply_team
from bot.kernel.teamfile import parse_team
from bot.kernel.timekeeping import utc
from tests.emulators.slack import Call
from tests.integration.core_inbox import Seen
from tests.integration.slack_harness import SlackHarness

TEAM = """
workspace: T0001
members:
  - {id: alice, name: Alice, tz: Europe/London, admin: true, accounts: {slack: U0ALICE}}
  - {id: ravi, name: Ravi, tz: Asia/Kolkata, hours: "08:00-20:00", accounts: {slack: U0RAVI}}
raci:
  - {activity: churn model retraining, R: [ravi], A: alice}
  - {activity: feature store, R: [alice], A: alice}
retros:
  - {name: sprint-retro, channel: C0TEAM, every: 2w, duration: 60m, starts: 2027-03-22, members: all,
     candidates: ["14:00"]}
"""
MONDAY = utc(2027, 3, 15, 12, 0)
BOT = "<@UBOT>"


@pytest.fixture
async def slack(tmp_path: Path) -> AsyncIterator[SlackHarness]:
    async with SlackHarness(tmp_path, MONDAY) as harness:
        harness.emulator.add_user("U0ALICE", "Alice", "Europe/London", is_admin=True)
        harness.emulator.add_user("U0RAVI", "Ravi", "Asia/Kolkata")
        apply_team(harness.app, parse_team(TEAM, "team.yaml", harness.app.sections), platform="slack")
        yield harness


def posts(slack: SlackHarness, channel: str = "C0TEAM") -> list[Call]:
    return [c for c in slack.emulator.calls("chat.postMessage") if c.where == channel]


def shown(call: Call) -> str:
    return json.dumps(call.params.get("blocks"), ensure_ascii=False) + str(call.params.get("text", ""))


async def test_a_question_to_meridian_in_a_channel_is_answered_once_in_its_thread(slack: SlackHarness) -> None:
    seen = Seen(slack.app)
    ts = await slack.say("U0ALICE", "C0TEAM", f"{BOT} who owns churn retraining?")
    await slack.until(lambda: len(posts(slack)) == 1)
    await slack.settle(0.2)
    (answer,) = posts(slack)
    assert answer.params["thread_ts"] == ts and "churn model retraining" in shown(answer)
    assert "<@U0RAVI>" in shown(answer)  # Ravi is in his hours: a mention; the core decided, Slack renders it
    (offered,) = seen.messages  # offered to the core once, without Meridian's own mention, then asked
    assert offered.text == "who owns churn retraining?" and offered.thread is None and not offered.is_dm

    # Slack retries the app_mention (same event id): acknowledged, answered no second time.
    mention = slack.emulator.say("U0ALICE", "C0TEAM", f"{BOT} whose is the feature store?")[1]
    for retry in (None, 1):
        status, _ = await slack.event(mention, event_id="EvMENTION01", retry=retry)
        assert status == 200
    await slack.until(lambda: len(posts(slack)) == 2)
    await slack.settle(0.2)
    assert len(posts(slack)) == 2 and "feature store" in shown(posts(slack)[1])

    # A question about a person, named by their Slack mention; asked inside a thread, answered in that thread.
    await slack.say("U0RAVI", "C0TEAM", f"{BOT} what does <@U0ALICE> own?", thread=ts)
    await slack.until(lambda: len(posts(slack)) == 3)
    third = posts(slack)[2]
    assert third.params["thread_ts"] == ts and "Accountable (2)" in shown(third)


async def test_a_mention_that_is_no_question_gets_one_line_on_how_to_ask_and_pings_no_one(
        slack: SlackHarness) -> None:
    ts = await slack.say("U0RAVI", "C0TEAM", f"{BOT} hello <!channel> <!subteam^S1|@ml> & thanks")
    await slack.until(lambda: len(posts(slack)) == 1)
    await slack.settle(0.2)
    (hint,) = posts(slack)
    assert hint.params["thread_ts"] == ts
    text = shown(hint)
    assert "who owns churn retraining?" in text and "I found no RACI activity in that." in text
    assert "<!channel>" not in text and "<!subteam" not in text and "<!here>" not in text

    # Only the mention: the same line, not a traceback or silence.
    await slack.say("U0RAVI", "C0TEAM", BOT)
    await slack.until(lambda: len(posts(slack)) == 2)
    assert "I found no RACI activity in that." in shown(posts(slack)[1])


async def test_a_mention_in_a_retro_thread_stays_a_retro_item_and_gets_no_raci_answer(slack: SlackHarness) -> None:
    seen = Seen(slack.app)
    await slack.command("open", user="U0ALICE", command="/retro")
    await slack.until(lambda: any("sprint-retro" in shown(c) for c in posts(slack)))
    root = next(c for c in posts(slack) if "sprint-retro" in shown(c))
    assert root.result is not None
    before = len(posts(slack))
    await slack.say("U0RAVI", "C0TEAM", f"improve: {BOT} should post the churn retraining numbers",
                    thread=str(root.result["ts"]))
    await slack.until(lambda: len(seen.messages) == 1)
    await slack.settle(0.3)
    (item,) = seen.messages  # handed over once (by the app_mention; the message event left it to that)
    assert item.text == "improve: should post the churn retraining numbers" and item.thread == root.result["ts"]
    assert not any("RACI" in shown(c) or "churn model retraining" in shown(c) for c in posts(slack)[before:])


async def test_a_forgotten_person_asking_is_told_as_raci_tells_them(slack: SlackHarness) -> None:
    status, _ = await slack.command("forget-me confirm", user="U0RAVI", command="/meridian")
    assert status == 200
    await slack.until(lambda: len(slack.emulator.calls("response_url")) == 1)
    await slack.say("U0RAVI", "C0TEAM", f"{BOT} who owns churn retraining?")
    await slack.until(lambda: len(posts(slack)) >= 1)
    await slack.settle(0.2)
    answers = [shown(c) for c in posts(slack) if c.params.get("thread_ts")]
    assert len(answers) == 1 and "You are not a member of this team any more" in answers[0]
    assert slack.app.store.find_member_by_account("T0001", "slack", "U0RAVI") is None


def responses(slack: SlackHarness) -> list[dict[str, Any]]:
    return [c.params for c in slack.emulator.calls("response_url")]


async def test_ask_who_owns_this_on_a_message_answers_the_presser_alone(slack: SlackHarness) -> None:
    ts = await slack.say("U0RAVI", "C0TEAM", "The churn retraining run failed again last night &amp; "
                                             "nobody knows why <!here>")
    payload = slack.emulator.message_shortcut(ASK_OWNER, "U0ALICE", "C0TEAM", ts)
    assert payload["message"]["ts"] == ts and payload["message"]["user"] == "U0RAVI"
    for _ in range(2):  # a replayed payload (same trigger_id) is answered once
        status, body = await slack.interact(payload)
        assert status == 200 and body == ""
    await slack.until(lambda: len(responses(slack)) == 1)
    await slack.settle(0.2)
    (answer,) = responses(slack)
    assert answer["response_type"] == "ephemeral" and answer["replace_original"] is False
    text = json.dumps(answer["blocks"], ensure_ascii=False)
    assert "churn model retraining" in text and "The activity that message seems to be about." in text
    assert posts(slack) == []  # nothing in the channel: the answer is the presser's

    # A message that is a question is read as one; a message about nothing on the chart says how to ask.
    asked = await slack.say("U0RAVI", "C0TEAM", "whose is the feature store these days?")
    await slack.shortcut(ASK_OWNER, "U0ALICE", "C0TEAM", asked)
    await slack.until(lambda: len(responses(slack)) == 2)
    assert "feature store" in json.dumps(responses(slack)[1]["blocks"], ensure_ascii=False)
    chatter = await slack.say("U0RAVI", "C0TEAM", "lunch at 1? <!channel>")
    await slack.shortcut(ASK_OWNER, "U0ALICE", "C0TEAM", chatter)
    await slack.until(lambda: len(responses(slack)) == 3)
    last = responses(slack)[2]
    assert last["response_type"] == "ephemeral" and "I found no RACI activity in that." in last["text"]
    assert "<!channel>" not in json.dumps(last)
