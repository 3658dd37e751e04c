"""A whole stand-up day on Slack across three zones, driven by a simulated clock."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from bot.kernel.timekeeping import utc
from tests.emulators.slack import SlackEmulator
from tests.integration.slack_harness import SlackHarness

SUNDAY_NIGHT = utc(2027, 3, 14, 20, 0)
PEOPLE = {"U0ALICE": ("Alice", "America/Los_Angeles"), "U0RAVI": ("Ravi", "Asia/Kolkata"),
          "U0NOOR": ("Noor", "Asia/Dubai")}


@pytest.fixture
async def slack(tmp_path: Path) -> AsyncIterator[SlackHarness]:
    async with SlackHarness(tmp_path, SUNDAY_NIGHT) as harness:
        clock = harness.clock
        harness.emulator._clock = lambda: clock.now().timestamp()
        for user, (name, tz) in PEOPLE.items():
            harness.emulator.add_user(user, name, tz, is_admin=user == "U0ALICE")
        yield harness


def dm_times(emulator: SlackEmulator) -> dict[str, datetime]:
    """When each person's first reminder DM went out (simulated instant)."""
    out: dict[str, datetime] = {}
    for call in emulator.calls("chat.postMessage"):
        channel = str(call.where)
        if channel.startswith("D") and "Stand-up" in json.dumps(call.params["blocks"]):
            out.setdefault("U" + channel[1:], datetime.fromtimestamp(call.at, tz=utc(2027, 1, 1).tzinfo))
    return out


async def set_up_the_standup(slack: SlackHarness) -> None:
    for user in PEOPLE:
        await slack.event({"type": "member_joined_channel", "user": user, "channel": "C0TEAM", "team": "T0001"})
    await slack.until(lambda: len(slack.app.store.list_members("T0001")) == 3)
    await slack.command("setup", user="U0ALICE")
    await slack.until(lambda: bool(slack.emulator.calls("views.open")))
    view = slack.emulator.calls("views.open")[0].params["view"]
    assert view["callback_id"] == "standup.setup.submit"
    status, _ = await slack.submit(view, {"name": "ml-daily", "channel": "C0TEAM", "at": "09:30",
                                          "days": "mon,tue,wed,thu,fri", "members": "all",
                                          "questions": "What did you do?\nWhat will you do?\nAnything blocking you?"},
                                   user="U0ALICE")
    assert status == 200
    await slack.until(lambda: slack.app.store.get_standup("T0001", "ml-daily") is not None)


async def test_a_stand_up_day_across_three_zones(slack: SlackHarness) -> None:
    await set_up_the_standup(slack)
    emulator = slack.emulator

    await slack.engine.advance_to(utc(2027, 3, 15, 17, 0), slack.clock)
    reminded = dm_times(emulator)
    assert reminded == {
        "U0RAVI": utc(2027, 3, 15, 4, 0),     # 09:30 in Kolkata (+05:30)
        "U0NOOR": utc(2027, 3, 15, 5, 30),    # 09:30 in Dubai (+04:00)
        "U0ALICE": utc(2027, 3, 15, 16, 30),  # 09:30 in Los Angeles, already on daylight time (-07:00)
    }

    # Ravi presses "Answer" on his reminder: the modal asks the stand-up's own questions.
    reminder = next(c for c in emulator.calls("chat.postMessage") if c.where == "D0RAVI")
    buttons = next(b for b in reminder.params["blocks"] if b["type"] == "actions")["elements"]
    assert [b["text"]["text"] for b in buttons] == ["Answer", "Skip today", "Snooze 1 h"]
    await slack.press(buttons[0], user="U0RAVI", channel="D0RAVI")
    await slack.until(lambda: len(emulator.calls("views.open")) == 2)
    form = emulator.calls("views.open")[1].params["view"]
    assert [b["label"]["text"] for b in form["blocks"]] == ["What did you do?", "What will you do?",
                                                           "Anything blocking you?"]
    hostile = "Shipped the loader <!channel> <!here> <@U0ALICE> & more"
    status, _ = await slack.submit(form, {"q0": hostile, "q1": "Tune the model", "q2": "GPU quota"},
                                   user="U0RAVI")
    assert status == 200

    # Noor skips today from her reminder.
    noor = next(c for c in emulator.calls("chat.postMessage") if c.where == "D0NOOR")
    skip = next(b for b in noor.params["blocks"] if b["type"] == "actions")["elements"][1]
    await slack.press(skip, user="U0NOOR", channel="D0NOOR")
    await slack.settle(0.3)

    channel_posts = [c for c in emulator.calls("chat.postMessage") if c.where == "C0TEAM"]
    answers = [c for c in channel_posts if "thread_ts" in c.params and "Tune the model" in json.dumps(c.params)]
    assert len(answers) == 1
    posted = json.dumps(answers[0].params)
    assert "<@U0RAVI>" in posted
    for ping in ("<!channel>", "<!here>", "<@U0ALICE>"):
        assert ping not in posted
    assert "&lt;!channel&gt;" in posted

    # The summary follows once the day is over for everyone.
    await slack.engine.advance_to(utc(2027, 3, 16, 3, 0), slack.clock)
    await slack.settle(0.3)
    summaries = [c for c in emulator.calls("chat.postMessage") + emulator.calls("chat.update")
                 if c.where == "C0TEAM" and "GPU quota" in json.dumps(c.params)
                 and c is not answers[0]]
    assert summaries, "no summary mentioning the blocker was posted"
    # Nobody was reminded twice for the same day.
    assert len([c for c in emulator.calls("chat.postMessage") if c.where == "D0RAVI"
                and "Stand-up: ml-daily" in json.dumps(c.params["blocks"])]) == 1


async def test_an_unclear_blocker_is_asked_about_once_with_buttons_on_slack(slack: SlackHarness) -> None:
    """Issue 10 item 2 on Slack: the question is two buttons in the DM, and the answer corrects the thread post."""
    await set_up_the_standup(slack)
    emulator = slack.emulator
    await slack.engine.advance_to(utc(2027, 3, 15, 4, 5), slack.clock)
    reminder = next(c for c in emulator.calls("chat.postMessage") if c.where == "D0RAVI")
    answer = next(b for b in reminder.params["blocks"] if b["type"] == "actions")["elements"][0]
    await slack.press(answer, user="U0RAVI", channel="D0RAVI")
    await slack.until(lambda: len(emulator.calls("views.open")) == 2)
    form = emulator.calls("views.open")[1].params["view"]
    await slack.submit(form, {"q0": "Trained v7", "q1": "Tune the model", "q2": "the labelling vendor"}, user="U0RAVI")

    def questions() -> list[Any]:
        return [c for c in emulator.calls("chat.postMessage")
                if c.where == "D0RAVI" and "is this a blocker?" in json.dumps(c.params)]

    await slack.until(lambda: len(questions()) == 1)
    buttons = next(b for b in questions()[0].params["blocks"] if b["type"] == "actions")["elements"]
    assert [b["text"]["text"] for b in buttons] == ["Blocker", "Not a blocker"]
    posted = next(c for c in emulator.calls("chat.postMessage")
                  if c.where == "C0TEAM" and "Tune the model" in json.dumps(c.params))
    assert "Possible blocker" in json.dumps(posted.params)

    await slack.press(buttons[1], user="U0RAVI", channel="D0RAVI")
    await slack.until(lambda: any("Tune the model" in json.dumps(c.params) for c in emulator.calls("chat.update")))
    update = [c for c in emulator.calls("chat.update") if "Tune the model" in json.dumps(c.params)][-1]
    assert "blocker" not in json.dumps(update.params["blocks"]).lower()
    assert len(questions()) == 1


def posts_to(emulator: SlackEmulator, channel: str) -> list[str]:
    return [json.dumps(c.params) for c in emulator.calls("chat.postMessage") if c.where == channel]


async def test_on_slack_editing_prefills_the_form_and_a_dm_after_the_cutoff_is_not_an_answer(
        slack: SlackHarness) -> None:
    await set_up_the_standup(slack)
    emulator = slack.emulator
    await slack.engine.advance_to(utc(2027, 3, 15, 4, 5), slack.clock)  # Ravi was reminded at 09:30 IST
    await slack.command("", user="U0RAVI", channel="D0RAVI")
    await slack.until(lambda: len(emulator.calls("views.open")) == 2)
    form = emulator.calls("views.open")[1].params["view"]
    await slack.submit(form, {"q0": "Shipped the loader", "q1": "Tune the model", "q2": "none"}, user="U0RAVI")
    await slack.until(lambda: any("Tune the model" in p for p in posts_to(emulator, "C0TEAM")))

    # /standup again: the form comes back filled with what he answered
    await slack.command("", user="U0RAVI", channel="D0RAVI")
    await slack.until(lambda: len(emulator.calls("views.open")) == 3)
    again = emulator.calls("views.open")[2].params["view"]
    assert [b["element"].get("initial_value") for b in again["blocks"]] == ["Shipped the loader", "Tune the model",
                                                                           "none"]
    await slack.submit(again, {"q0": "Shipped the loader", "q1": "Tune the model on v7", "q2": "none"},
                       user="U0RAVI")
    await slack.until(lambda: any("Tune the model on v7" in json.dumps(c.params) for c in emulator.calls("chat.update")))
    # the change is confirmed to him in his DM
    await slack.until(lambda: any("updated in the thread" in p for p in posts_to(emulator, "D0RAVI")))
    assert len([p for p in posts_to(emulator, "C0TEAM") if "Tune the model" in p]) == 1

    # after his cut-off (the end of his working hours, 17:00 IST) a "thanks!" in the DM is not an answer and reaches no channel
    await slack.engine.advance_to(utc(2027, 3, 15, 13, 0), slack.clock)
    before = len(posts_to(emulator, "C0TEAM"))
    await slack.event({"type": "message", "channel": "D0RAVI", "channel_type": "im", "user": "U0RAVI",
                       "text": "thanks!", "ts": "1773579600.000100"})
    await slack.until(lambda: any("No stand-up is open" in p for p in posts_to(emulator, "D0RAVI")))
    reply = next(p for p in posts_to(emulator, "D0RAVI") if "No stand-up is open" in p)
    assert "Tue 16 Mar at 09:30 IST" in reply
    await slack.settle(0.3)
    assert len(posts_to(emulator, "C0TEAM")) == before
