"""Slack's mentions and reaction names reach the core in its own terms: ``@member-id`` and Unicode emoji.

Everything goes through signed HTTP to ``/slack/events``; a hook placed first in the real
app's message and reaction lists notes what the core was handed, and passes it on.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

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
  - {id: ravi, name: Ravi, tz: Asia/Kolkata, accounts: {slack: U0RAVI}}
  - {id: U0GUEST, name: Guest, tz: Europe/Berlin}
retros:
  - {name: sprint-retro, channel: C0TEAM, every: 2w, duration: 60m, starts: 2027-01-04, members: all,
     candidates: ["14:00"], max_votes: 2}
"""


@pytest.fixture
async def slack(tmp_path: Path) -> AsyncIterator[SlackHarness]:
    async with SlackHarness(tmp_path, utc(2027, 1, 2, 15, 0)) as harness:
        for user, name, tz in (("U0ALICE", "Alice", "Europe/London"), ("U0RAVI", "Ravi", "Asia/Kolkata"),
                               ("U0GUEST", "Guest", "Europe/Berlin")):
            harness.emulator.add_user(user, name, tz, is_admin=user == "U0ALICE")
        apply_team(harness.app, parse_team(TEAM, "team.yaml", harness.app.sections), platform="slack")
        yield harness


def posts(slack: SlackHarness, channel: str, containing: str = "") -> list[Call]:
    return [c for c in slack.emulator.calls("chat.postMessage")
            if c.where == channel and containing in json.dumps(c.params, ensure_ascii=False)]


async def open_retro(slack: SlackHarness) -> str:
    await slack.command("open", user="U0ALICE", command="/retro")
    await slack.until(lambda: bool(posts(slack, "C0TEAM", "sprint-retro")))
    (opened,) = posts(slack, "C0TEAM", "sprint-retro")
    assert opened.result is not None
    return str(opened.result["ts"])


async def reply(slack: SlackHarness, user: str, text: str, thread: str, ts: str) -> None:
    await slack.event({"type": "message", "channel": "C0TEAM", "channel_type": "channel", "user": user,
                       "text": text, "ts": ts, "thread_ts": thread})


async def react(slack: SlackHarness, user: str, ts: str, reaction: str) -> None:
    await slack.event({"type": "reaction_added", "user": user, "reaction": reaction, "item_user": "UBOT",
                       "item": {"type": "message", "channel": "C0TEAM", "ts": ts}, "event_ts": "1.1"})


async def test_a_thread_reply_and_a_dm_hand_the_core_member_ids_never_slack_markup(slack: SlackHarness) -> None:
    seen = Seen(slack.app)
    thread = await open_retro(slack)

    await reply(slack, "U0RAVI", "improve: <@U0ALICE|alice> and <@U0GUEST> pair with <@U0NOBODY> on CI "
                                 "<!channel> <!subteam^S1|@ml>", thread, "1799999000.000100")
    await slack.event({"type": "message", "channel": "D0ALICE", "channel_type": "im", "user": "U0ALICE",
                       "text": "anon: improve: <@U0RAVI> waits too long for reviews", "ts": "1799999000.000200"})
    await slack.until(lambda: len(seen.messages) == 2)

    by_dm, in_thread = sorted(seen.messages, key=lambda m: m.thread is not None)
    # Alice by her Slack account, the guest by a member id that is his Slack id; a stranger keeps his Slack id.
    assert in_thread.text == "improve: @alice and @U0GUEST pair with @U0NOBODY on CI @channel @ml"
    assert in_thread.thread == thread and not in_thread.is_dm and in_thread.member.id == "ravi"
    assert by_dm.text == "anon: improve: @ravi waits too long for reviews" and by_dm.is_dm

    # The anonymous item goes out (with the close, its batch) without its author; a ping typed into an item
    # never comes back out as one.
    await slack.command("close confirm", user="U0ALICE", command="/retro")
    await slack.until(lambda: len(posts(slack, "C0TEAM", "summary")) == 1)
    (anon,) = [c for c in posts(slack, "C0TEAM", "waits too long for reviews") if "thread_ts" in c.params]
    assert "U0ALICE" not in json.dumps(anon.params)
    summary = json.dumps([c.params for c in posts(slack, "C0TEAM", "summary")], ensure_ascii=False)
    assert "pair with" in summary and "<!channel>" not in summary and "<!subteam" not in summary
    assert "<!here>" not in summary and "<!everyone>" not in summary


async def test_a_plus_one_reaction_is_a_thumbs_up_vote_and_other_names_pass_as_shortcodes(slack: SlackHarness) -> None:
    seen = Seen(slack.app)
    thread = await open_retro(slack)
    await reply(slack, "U0RAVI", "improve: flaky CI on the training repo", thread, "1799999000.000100")
    await reply(slack, "U0ALICE", "🟢 the new eval harness saved hours", thread, "1799999000.000200")
    await slack.until(lambda: len(seen.messages) == 2)

    await react(slack, "U0ALICE", "1799999000.000100", "+1")
    await react(slack, "U0GUEST", "1799999000.000100", "+1::skin-tone-3")
    await react(slack, "U0RAVI", "1799999000.000200", "thumbsup")
    await react(slack, "U0GUEST", "1799999000.000200", "heart")
    await react(slack, "U0RAVI", "1799999000.000100", "party_parrot")
    await slack.until(lambda: len(seen.reactions) == 5)

    assert sorted(r.emoji for r in seen.reactions) == sorted(["👍", "👍\U0001F3FC", "👍", "❤️", ":party_parrot:"])
    assert {r.message_id for r in seen.reactions} == {"1799999000.000100", "1799999000.000200"}

    await slack.command("close confirm", user="U0ALICE", command="/retro")
    await slack.until(lambda: len(posts(slack, "C0TEAM", "summary")) == 1)
    summary = json.dumps(posts(slack, "C0TEAM", "summary")[-1].params["blocks"], ensure_ascii=False)
    assert "2 👍  flaky CI on the training repo" in summary and "1 👍  the new eval harness saved hours" in summary
