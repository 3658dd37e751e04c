"""A blocker's **Resolved** button on Slack, pressed as Slack sends presses.

Ravi (Kolkata) names a blocker in the form; his answer in the day's thread, his DM and the day's
summary each carry **Resolved** (Block Kit checked with slack_sdk's own models). Someone who is no
longer a member presses and is refused with one line, changing nothing; Alice presses it on the
summary and every post that shows the blocker is edited for everyone; a second press says who
resolved it; no follow-up DM goes to Ravi for a resolved blocker; ``/standup blockers`` answers
privately with Slack's permalink to the thread, and a wrong argument gets one line.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from slack_sdk.models.blocks import Block

from bot.kernel.team import apply_team
from bot.kernel.teamfile import parse_team
from bot.kernel.timekeeping import utc
from tests.integration.slack_harness import SlackHarness

TEAM = """
workspace: T0001
members:
  - {id: alice, name: Alice, tz: America/Los_Angeles, admin: true, accounts: {slack: U0ALICE}}
  - {id: ravi, name: Ravi, tz: Asia/Kolkata, hours: "10:00-18:00", accounts: {slack: U0RAVI}}
  - {id: marta, name: Marta, tz: Europe/Berlin, accounts: {slack: U0MARTA}}
standups:
  - {name: ml-daily, channel: C0TEAM, remind_at: "09:30", members: [alice, ravi]}
"""


@pytest.fixture
async def slack(tmp_path: Path) -> AsyncIterator[SlackHarness]:
    async with SlackHarness(tmp_path, utc(2027, 3, 14, 20, 0)) as harness:
        clock = harness.clock
        harness.emulator._clock = lambda: clock.now().timestamp()
        for user, name, tz in (("U0ALICE", "Alice", "America/Los_Angeles"), ("U0RAVI", "Ravi", "Asia/Kolkata"),
                               ("U0MARTA", "Marta", "Europe/Berlin")):
            harness.emulator.add_user(user, name, tz)
        apply_team(harness.app, parse_team(TEAM, "team.yaml", harness.app.sections), platform="slack")
        yield harness


def blocks_of(params: dict[str, Any]) -> list[dict[str, Any]]:
    blocks = params["blocks"] if isinstance(params["blocks"], list) else json.loads(params["blocks"])
    for block in blocks:
        parsed = Block.parse(block)
        assert parsed is not None
        parsed.validate_json()
    return list(blocks)


def resolve_buttons(params: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for b in blocks_of(params) if b["type"] == "actions" for e in b["elements"]
            if e["text"]["text"] == "Resolved"]


def shown(params: dict[str, Any]) -> str:
    return json.dumps(params.get("blocks"), ensure_ascii=False) + str(params.get("text", ""))


async def press(slack: SlackHarness, button: dict[str, Any], user: str) -> str:
    before = len(slack.emulator.calls("response_url"))
    status, _ = await slack.press(button, user, channel="C0TEAM")
    assert status == 200
    await slack.until(lambda: len(slack.emulator.calls("response_url")) > before)
    reply = slack.emulator.calls("response_url")[before].params
    assert reply["response_type"] == "ephemeral"
    return str(reply["text"])


async def answer(slack: SlackHarness, user: str, dm: str, values: dict[str, str]) -> None:
    """Press Answer on the reminder and submit the form."""
    emulator = slack.emulator
    reminder = next(c for c in emulator.calls("chat.postMessage") if c.where == dm)
    button = next(b for b in reminder.params["blocks"] if b["type"] == "actions")["elements"][0]
    opened = len(emulator.calls("views.open"))
    await slack.press(button, user=user, channel=dm)
    await slack.until(lambda: len(emulator.calls("views.open")) == opened + 1)
    status, _ = await slack.submit(emulator.calls("views.open")[-1].params["view"], values, user=user)
    assert status == 200


async def test_resolved_on_slack_edits_every_post_for_everyone(slack: SlackHarness) -> None:
    emulator = slack.emulator
    await slack.engine.advance_to(utc(2027, 3, 15, 4, 5), slack.clock)  # Ravi reminded at 09:30 IST
    await answer(slack, "U0RAVI", "D0RAVI",
                 {"q0": "Retrained churn v7", "q1": "Compare with champion", "q2": "Blocked on GPU quota <!channel>"})

    def thread_posts() -> list[dict[str, Any]]:
        return [c.params for c in emulator.calls("chat.postMessage")
                if c.where == "C0TEAM" and "thread_ts" in c.params]

    await slack.until(lambda: any("Compare with champion" in shown(p) for p in thread_posts()))
    posted = next(p for p in thread_posts() if "Compare with champion" in shown(p))
    assert len(resolve_buttons(posted)) == 1 and "<!channel>" not in shown(posted)
    await slack.until(lambda: any("Thanks, Ravi!" in shown(c.params) for c in emulator.calls("chat.postMessage")
                                  if c.where == "D0RAVI"))
    thanks = next(c.params for c in emulator.calls("chat.postMessage")
                  if c.where == "D0RAVI" and "Thanks, Ravi!" in shown(c.params))
    assert len(resolve_buttons(thanks)) == 1, "the author's DM offers Resolved too"

    # the summary at Alice's 17:00 PDT cut-off lists the blocker with its button
    await slack.engine.advance_to(utc(2027, 3, 16, 0, 5), slack.clock)
    await slack.settle(0.2)
    summary = next(p for p in thread_posts() if "ml-daily summary" in shown(p))
    button = resolve_buttons(summary)[0]

    # /standup blockers, privately: age (his Tuesday has begun in Kolkata: day 2), whose, Slack's link to the thread
    replies = len(emulator.calls("response_url"))
    status, _ = await slack.command("blockers", user="U0ALICE")
    assert status == 200
    await slack.until(lambda: len(emulator.calls("response_url")) > replies)
    listing = emulator.calls("response_url")[replies].params
    header = next(c for c in emulator.calls("chat.postMessage")
                  if c.where == "C0TEAM" and "thread_ts" not in c.params)
    ts = str(header.result["ts"]) if header.result else ""
    assert listing["response_type"] == "ephemeral" and resolve_buttons(listing)
    assert "Ravi* · day 2 (since Mon 15 Mar 2027): Blocked on GPU quota &lt;!channel&gt;" in shown(listing)
    assert f"<https://acme.slack.com/archives/C0TEAM/p{ts.replace('.', '')}|the thread of Mon 15 Mar 2027>" \
        in shown(listing)

    # Ravi's home page shows it, with its button
    await slack.event({"type": "app_home_opened", "user": "U0RAVI", "channel": "D0RAVI", "tab": "home"})
    await slack.until(lambda: bool(emulator.calls("views.publish")))
    home = emulator.calls("views.publish")[0].params["view"]
    home = home if isinstance(home, dict) else json.loads(home)
    assert "🚧 Your open blocker (day 2, since Mon 15 Mar): Blocked on GPU quota &lt;!channel&gt;" in \
        json.dumps(home, ensure_ascii=False)
    assert [e["value"] for b in home["blocks"] if b["type"] == "actions" for e in b["elements"]
            if e["text"]["text"] == "Resolved"] == [button["value"]]

    # someone who left the team cannot press: one line, nothing changed
    status, _ = await slack.command("forget-me confirm", user="U0MARTA", command="/meridian")
    assert status == 200
    await slack.settle(0.2)
    updates_before = len(emulator.calls("chat.update"))
    assert (await press(slack, button, "U0MARTA")).startswith("You are not a member of this team any more")
    await slack.settle(0.2)
    assert len(emulator.calls("chat.update")) == updates_before

    # Alice resolves it from the summary: the summary, the answer and the thread's header are edited
    # (pressed twice at once, a double click: resolved once)
    before = len(emulator.calls("response_url"))
    await asyncio.gather(*(slack.press(button, "U0ALICE", channel="C0TEAM") for _ in range(2)))
    await slack.until(lambda: len(emulator.calls("response_url")) == before + 2)
    said = sorted(str(c.params["text"]) for c in emulator.calls("response_url")[before:])
    assert said[1] == ("Resolved: Ravi's blocker “Blocked on GPU quota &lt;!channel&gt;” (since Mon 15 Mar 2027). "
                       "The ml-daily report says so for everyone.")
    assert said[0].startswith("Already resolved by Alice")
    await slack.until(lambda: len(emulator.calls("chat.update")) >= updates_before + 3)
    await slack.settle(0.2)
    edits = [c.params for c in emulator.calls("chat.update")[updates_before:]]
    edited_summary = next(p for p in edits if "ml-daily summary" in shown(p))
    assert "✅" in shown(edited_summary) and "resolved by Alice" in shown(edited_summary)
    assert resolve_buttons(edited_summary) == []
    edited_answer = next(p for p in edits if "Compare with champion" in shown(p))
    assert "Blocker resolved" in shown(edited_answer) and resolve_buttons(edited_answer) == []
    assert any("1 blocker (1 resolved)" in shown(p) for p in edits)
    assert all("<!channel>" not in shown(p) for p in edits)
    log = slack.app.store.kv_get("T0001", "member:ravi:blocker-items:ml-daily")["items"][0]["log"]
    assert [(e["who"], e["what"]) for e in log] == [("ravi", "named"), ("alice", "resolved")]
    assert len([p for p in edits if "ml-daily summary" in shown(p)]) == 1, "edited once, not once per press"

    # a second press, from the answer's old button: who resolved it, and nothing more
    assert (await press(slack, resolve_buttons(posted)[0], "U0RAVI")).startswith("Already resolved by Alice")

    # no follow-up for a resolved blocker at the start of Ravi's Tuesday (10:00 IST)
    await slack.engine.advance_to(utc(2027, 3, 16, 4, 40), slack.clock)
    await slack.settle(0.2)
    assert not any("still in the way" in shown(c.params) for c in emulator.calls("chat.postMessage"))

    # /standup blockers, privately; a wrong argument is one line
    status, _ = await slack.command("blockers", user="U0ALICE")
    assert status == 200
    status, _ = await slack.command("blockers ml-daily extra", user="U0ALICE")
    await slack.until(lambda: len(emulator.calls("response_url")) >= 7)
    answers = [str(c.params.get("text", "")) + shown(c.params) for c in emulator.calls("response_url")[-2:]]
    assert any("open blockers (0)" in a for a in answers)
    assert any("Name at most one stand-up: `/standup blockers [NAME]`." in a for a in answers)
