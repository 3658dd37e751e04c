"""Through the real Slack adapter and the emulator: a message Slack took but Meridian never marked is found, not resent.

Every ``chat.postMessage`` carries its outbox key as message metadata; a retry reads
the conversation back (``include_all_metadata``) before sending again.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from adapters.slack.chat import OUTBOX_EVENT
from bot.kernel.domain import Workspace
from bot.kernel.messages import Message
from bot.kernel.timekeeping import utc
from tests.integration.slack_harness import SlackHarness

MONDAY_EARLY = utc(2027, 3, 15, 6, 0)


@pytest.fixture
async def slack(tmp_path: Path) -> AsyncIterator[SlackHarness]:
    async with SlackHarness(tmp_path, MONDAY_EARLY) as harness:
        harness.emulator.add_user("U0ALICE", "Alice", "Europe/Berlin", is_admin=True)
        yield harness


class ProcessDied(RuntimeError):
    pass


def die_before_mark(slack: SlackHarness, which: Callable[[str], bool]) -> None:
    """The first mark of a matching key never happens, as if the process died after Slack answered."""
    store: Any = slack.app.store
    real = store.outbox_mark_sent
    done = {"died": False}

    def mark(key: str, channel: str, message_id: str, at: datetime) -> None:
        if which(key) and not done["died"]:
            done["died"] = True
            raise ProcessDied(key)
        real(key, channel, message_id, at)

    store.outbox_mark_sent = mark


def keyed_posts(slack: SlackHarness, key: str) -> list[Any]:
    return [c for c in slack.emulator.calls("chat.postMessage")
            if (c.params.get("metadata") or {}).get("event_payload", {}).get("key") == key]


async def test_a_reminder_slack_took_before_the_worker_died_is_found_by_its_metadata(slack: SlackHarness) -> None:
    await slack.event({"type": "member_joined_channel", "user": "U0ALICE", "channel": "C0TEAM", "team": "T0001"})
    await slack.until(lambda: slack.app.store.find_member_by_account("T0001", "slack", "U0ALICE") is not None)
    await slack.command("setup ml-daily channel=C0TEAM at=09:30", user="U0ALICE")
    await slack.until(lambda: slack.app.store.get_standup("T0001", "ml-daily") is not None)
    die_before_mark(slack, lambda key: key.endswith(":reminder"))

    # 09:30 in Berlin; the mark fails. The attempt is left `sending`, and the next pass hands it back for a
    # retry that looks first (as after a dropped connection; a process that died leaves it for its lease).
    await slack.engine.advance_to(utc(2027, 3, 15, 8, 31), slack.clock)
    (cut_short,) = [e for e in slack.app.store.outbox_entries("T0001") if e.key.endswith(":reminder")]  # type: ignore[attr-defined]
    (post,) = keyed_posts(slack, cut_short.key)
    assert post.params["metadata"] == {"event_type": OUTBOX_EVENT, "event_payload": {"key": cut_short.key}}

    await slack.engine.advance_to(utc(2027, 3, 15, 8, 40), slack.clock)  # past the attempt's lease

    assert keyed_posts(slack, cut_short.key) == [post]
    (lookup,) = slack.emulator.calls("conversations.history")
    assert lookup.where == post.result["channel"] == "D0ALICE"
    assert lookup.params["include_all_metadata"] in ("1", "true", True)
    assert float(lookup.params["oldest"]) < float(post.result["ts"])
    entry = slack.app.store.outbox_get(cut_short.key)
    assert entry is not None and (entry.status, entry.message_id) == ("sent", post.result["ts"])
    reminders = [c for c in slack.emulator.calls("chat.postMessage") if c.where == "D0ALICE"
                 and "Stand-up: ml-daily" in json.dumps(c.params)]
    assert len(reminders) == 1


async def test_a_thread_reply_whose_answer_was_lost_is_found_in_the_thread_and_not_posted_again(
        slack: SlackHarness) -> None:
    slack.app.store.upsert_workspace(Workspace("T0001", "slack"))
    outbox = slack.app.outbox
    parent = await outbox.post("day", "T0001", "C0TEAM", Message.text("Stand-up for Monday"))
    assert parent is not None
    slack.emulator.lose_answers("chat.postMessage")  # Slack posts it, then the connection drops

    assert await outbox.post("day:alice", "T0001", "C0TEAM", Message.text("Alice: shipped"), thread_key="day") is None
    assert len(keyed_posts(slack, "day:alice")) == 1  # not repeated blindly after the dropped connection
    assert slack.app.store.outbox_get("day:alice").status == "failed"  # type: ignore[union-attr]

    slack.clock.set(MONDAY_EARLY.replace(minute=1))  # the backoff is over
    assert await outbox.retry_pending() == 1

    assert len(keyed_posts(slack, "day:alice")) == 1
    (lookup,) = slack.emulator.calls("conversations.replies")
    assert (lookup.where, lookup.params["ts"]) == ("C0TEAM", parent.message_id)
    reply = [m for m in slack.emulator.posted("C0TEAM") if m.get("thread_ts") == parent.message_id]
    assert [m["ts"] for m in reply] == [slack.app.store.outbox_get("day:alice").message_id]  # type: ignore[union-attr]


async def test_when_slack_will_not_show_the_history_the_message_is_sent_again(
        slack: SlackHarness, caplog: pytest.LogCaptureFixture) -> None:
    slack.app.store.upsert_workspace(Workspace("T0001", "slack"))
    slack.emulator.lose_answers("chat.postMessage")
    slack.emulator.fail("conversations.history", "not_in_channel")
    assert await slack.app.outbox.post("note", "T0001", "C0TEAM", Message.text("Digest")) is None

    slack.clock.set(MONDAY_EARLY.replace(minute=1))
    with caplog.at_level(logging.WARNING, logger="meridian.slack"):
        assert await slack.app.outbox.retry_pending() == 1

    assert len(keyed_posts(slack, "note")) == 2  # at least once: never lost
    assert any("not_in_channel" in r.message for r in caplog.records)


async def test_find_sent_reads_back_page_by_page_from_the_given_instant(slack: SlackHarness) -> None:
    since = MONDAY_EARLY.timestamp()
    slack.emulator.messages["C0BUSY"] = [
        {"type": "message", "text": f"chatter {n}", "ts": f"{int(since) + n}.000001", "user": "U0ALICE"}
        for n in range(-5, 250)]
    slack.emulator.messages["C0BUSY"].insert(10, {
        "type": "message", "text": "the digest", "ts": f"{int(since) + 5}.000002", "bot_id": "BBOT",
        "metadata": {"event_type": OUTBOX_EVENT, "event_payload": {"key": "digest:1"}}})
    chat: Any = slack.app.chat_for("T0001")

    found = await chat.find_sent("T0001", "digest:1", "C0BUSY", MONDAY_EARLY)
    missing = await chat.find_sent("T0001", "digest:2", "C0BUSY", MONDAY_EARLY)

    assert found is not None and (found.channel, found.message_id) == ("C0BUSY", f"{int(since) + 5}.000002")
    assert missing is None
    pages = slack.emulator.calls("conversations.history")
    assert len(pages) == 3 + 3 and all(float(p.params["oldest"]) == since for p in pages)
