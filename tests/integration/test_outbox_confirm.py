"""A send cut short between the platform's answer and the outbox's mark is confirmed, not sent twice.

The process "dies" by the mark raising, exactly where a crash would stop it: the
platform has the message, the entry is still ``sending``.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.kernel.domain import Member, Workspace
from bot.kernel.messages import Message
from bot.kernel.ports import OutboxEntry
from storage.kernel.repo import SqlStore
from tests.digest_fakes import make_app

NOW = datetime(2027, 3, 15, 9, 30, tzinfo=UTC)
ALICE = Member("acme", "alice", "Alice")
BOB = Member("acme", "bob", "Bob")


class ProcessDied(RuntimeError):
    pass


def die_before_marks(store: SqlStore, times: int) -> None:
    """The next ``times`` marks never happen: the process is gone after the platform answered."""
    real = store.outbox_mark_sent
    left = {"n": times}

    def mark(key: str, channel: str, message_id: str, at: datetime) -> None:
        if left["n"]:
            left["n"] -= 1
            raise ProcessDied(key)
        real(key, channel, message_id, at)

    store.outbox_mark_sent = mark  # type: ignore[method-assign]


def team(h: Any) -> None:
    h.store.upsert_workspace(Workspace("acme"))
    h.store.upsert_member(ALICE)


async def test_a_dm_cut_short_before_its_mark_is_found_and_never_sent_twice(harness_factory: Any) -> None:
    h = harness_factory(NOW)
    team(h)
    die_before_marks(h.store, 1)
    with pytest.raises(ProcessDied):
        await h.app.outbox.dm("hello:alice", "acme", "alice", Message.text("hello"))
    (landed,) = h.dms("alice")
    assert h.store.outbox_get("hello:alice").status == "sending"

    # while the attempt's lease runs, a second sender (a re-run handler) leaves it alone
    assert await h.app.outbox.dm("hello:alice", "acme", "alice", Message.text("hello")) is None
    h.clock.set(NOW + timedelta(minutes=6))
    assert await h.app.outbox.retry_pending() == 1

    assert h.dms("alice") == [landed]
    entry = h.store.outbox_get("hello:alice")
    assert (entry.status, entry.message_id) == ("sent", landed.id)
    assert (await h.app.outbox.dm("hello:alice", "acme", "alice", Message.text("hello"))).message_id == landed.id


async def test_a_thread_reply_cut_short_is_found_in_its_thread(harness_factory: Any) -> None:
    h = harness_factory(NOW)
    team(h)
    parent = await h.app.outbox.post("day", "acme", "#ml", Message.text("Stand-up"))
    die_before_marks(h.store, 1)
    with pytest.raises(ProcessDied):
        await h.app.outbox.post("day:alice", "acme", "#ml", Message.text("Alice: shipped"), thread_key="day")
    h.clock.set(NOW + timedelta(minutes=6))
    await h.app.outbox.retry_pending()
    (reply,) = h.chat.thread_of(parent.message_id)
    assert h.store.outbox_get("day:alice").message_id == reply.id
    assert [m.text for m in h.chat.in_channel("#ml")].count(reply.text) == 1


async def test_a_port_that_cannot_confirm_sends_again_and_warns_once(
        sqlite_store: SqlStore, caplog: pytest.LogCaptureFixture) -> None:
    app, store, chat, clock = make_app(sqlite_store, NOW, [ALICE, BOB])
    store.upsert_workspace(Workspace("acme"))
    die_before_marks(sqlite_store, 2)
    for member in ("alice", "bob"):
        with pytest.raises(ProcessDied):
            await app.outbox.dm(f"hello:{member}", "acme", member, Message.text("hello"))
    clock.current = NOW + timedelta(minutes=6)
    with caplog.at_level(logging.WARNING, logger="meridian.delivery"):
        assert await app.outbox.retry_pending() == 2

    assert sorted(s.channel for s in chat.sent) == ["dm:alice", "dm:alice", "dm:bob", "dm:bob"]  # at least once
    assert [r.message for r in caplog.records if "cannot look up" in r.message] == [
        "the console chat cannot look up what it already sent: a message whose send was cut short "
        "is sent again (at least once)"]


def test_one_sender_at_a_time_claims_an_entry_until_its_lease_runs_out(store: SqlStore) -> None:
    store.outbox_add(OutboxEntry("k", "acme", "post", "#ml", "{}", "pending", 0), NOW)
    first = store.outbox_begin_attempt("k", NOW, NOW - timedelta(minutes=5))
    assert first is not None and first.status == "pending"
    assert store.outbox_begin_attempt("k", NOW, NOW - timedelta(minutes=5)) is None  # held

    later = NOW + timedelta(minutes=6)
    taken_over = store.outbox_begin_attempt("k", later, later - timedelta(minutes=5))
    assert taken_over is not None and (taken_over.status, taken_over.attempt_at) == ("sending", NOW)
    assert not store.outbox_renew_attempt("k", NOW, later)  # the first sender lost its claim
    assert store.outbox_renew_attempt("k", later, later + timedelta(seconds=30))

    store.outbox_mark_sent("k", "C1", "1.1", later)
    store.outbox_mark_failed("k", "a late failure from the first sender", later)
    assert store.outbox_get("k").status == "sent"
    assert store.outbox_begin_attempt("k", later, later) is None


async def test_the_member_a_reminder_read_is_used_once_and_a_retry_reads_them_afresh(harness_factory: Any) -> None:
    """``Outbox.dm(known=…)`` spares the first attempt a read of the member the caller just read; a retry, minutes
    later, reads them again: someone who left meanwhile (``forget-me``) gets nothing more."""
    h = harness_factory(NOW)
    team(h)
    die_before_marks(h.store, 1)
    with pytest.raises(ProcessDied):
        await h.app.outbox.dm("hello:alice", "acme", "alice", Message.text("hello"), known=ALICE)
    assert len(h.dms("alice")) == 1, "the first attempt went out to the member it was given"
    h.store.delete_member("acme", "alice")
    h.clock.set(NOW + timedelta(minutes=6))
    await h.app.outbox.retry_pending()
    assert len(h.dms("alice")) == 1, "the retry read the member afresh and found them gone"
    assert h.store.outbox_get("hello:alice").status == "dead"
