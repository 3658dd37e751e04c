"""The one place that sends: an idempotent outbox in front of every chat port (DESIGN §8).

Each outgoing message has a key (what, for whom, which occurrence). The entry is
stored before the platform is called and marked with the platform's message id when
the platform confirms. Sending the same key again returns the stored result instead
of posting twice; a failure leaves the entry for a retry with backoff; a 429 is
waited out (``Retry-After``) and the send goes on, so fan-out loses nothing.

Each attempt is recorded (``sending``, with its start and its worker) before the platform
is called, and claiming it is a compare-and-set, so two workers never send one entry at
once. An entry found ``sending`` after its lease ran out or after its worker's heartbeat
stopped, or ``failed``, may have landed: the
process died after the platform accepted it, or a timeout hid the answer. Before
sending such an entry again the outbox asks the chat port whether a message with that
key is already there (``ConfirmsDelivery``) and, if so, records it instead of sending
twice. A port that cannot look back gets the message again: at least once, never lost.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import TypeVar

from bot.kernel import metrics
from bot.kernel.domain import Member
from bot.kernel.messages import Message
from bot.kernel.ports import (
    ChatPort,
    Clock,
    ConfirmsDelivery,
    DeliveryError,
    LinksToMessages,
    OutboxEntry,
    Posted,
    RateLimited,
    Store,
)

log = logging.getLogger("meridian.delivery")

MAX_RATE_LIMIT_WAITS = 20
BACKOFF = (timedelta(seconds=30), timedelta(minutes=2), timedelta(minutes=10), timedelta(hours=1))
MAX_ATTEMPTS = 12
MAYBE_SENT = ("sending", "failed")
"""States an earlier attempt leaves behind when nobody saw the platform accept it: it may have landed."""
CLOCK_SKEW = timedelta(minutes=2)
"""Looked-back margin: the platform stamps messages with its own clock, not ours."""

T = TypeVar("T")


class _Gone(LookupError):
    """A DM to someone who is no longer a member (``forget-me``): dropped, never retried."""


class _LostClaim(Exception):
    """Another sender took the entry over while this one waited out a rate limit."""


class _StillRateLimited(Exception):
    """The platform kept answering 429 for longer than one attempt waits."""


class _Attempt:
    """One claimed attempt at an entry: it keeps its claim alive through rate-limit waits."""

    def __init__(self, outbox: Outbox, key: str, started: datetime) -> None:
        self.outbox = outbox
        self.key = key
        self.held_since = started

    async def patiently(self, call: Callable[[], Awaitable[T]]) -> T:
        for _ in range(MAX_RATE_LIMIT_WAITS):
            try:
                return await call()
            except RateLimited as limited:
                await asyncio.sleep(max(0.0, limited.retry_after))
                await self._renew()
        raise _StillRateLimited

    async def _renew(self) -> None:
        now = self.outbox.clock.now()
        store = self.outbox.store
        if not await store.off_loop(store.outbox_renew_attempt, self.key, self.held_since, now):
            raise _LostClaim
        self.held_since = now


class Outbox:
    def __init__(self, store: Store, clock: Clock, chat_for: Callable[[str], ChatPort], lease: timedelta,
                 worker: str | None = None, silent_after: timedelta | None = None) -> None:
        self.store = store
        self.clock = clock
        self._chat_for = chat_for
        self._lease = lease
        self._worker = worker
        self._silent_after = silent_after
        """An attempt by a worker whose heartbeat is older than this was cut short: take it over."""
        self._unconfirmable: set[str] = set()
        """Platforms already warned about: they cannot confirm, so they deliver at least once."""
        self._sending: set[str] = set()
        """Keys whose attempt is in progress in this process: never handed back while it runs."""
        self._cut_short = False
        """The database failed an attempt here: some entry may be left ``sending`` by this worker."""

    async def post(self, key: str, workspace: str, channel: str, message: Message,
                   thread_key: str | None = None) -> Posted | None:
        """Post to a channel, or into the thread started by the message sent under ``thread_key``."""
        kind = "reply" if thread_key else "post"
        return await self._send(OutboxEntry(key, workspace, kind, channel, message.to_json(), "pending", 0,
                                            thread_key=thread_key))

    async def dm(self, key: str, workspace: str, member_id: str, message: Message,
                 known: Member | None = None) -> Posted | None:
        """``known``: the member as the caller just read them (a reminder has), so the first attempt does not read
        them again; a retry reads them afresh (they may have left meanwhile)."""
        return await self._send(OutboxEntry(key, workspace, "dm", member_id, message.to_json(), "pending", 0),
                                known if known is not None and known.id == member_id else None)

    async def update(self, workspace: str, of_key: str, message: Message) -> Posted | None:
        """Replace the message sent under ``of_key`` (a summary refreshed, an alert resolved)."""
        digest = hashlib.sha256(message.to_json().encode()).hexdigest()[:16]
        return await self._send(OutboxEntry(f"{of_key}#update:{digest}", workspace, "update", of_key,
                                            message.to_json(), "pending", 0))

    def sent(self, key: str) -> Posted | None:
        entry = self.store.outbox_get(key)
        if entry and entry.status == "sent" and entry.channel and entry.message_id:
            return Posted(entry.channel, entry.message_id)
        return None

    async def link(self, workspace: str, key: str) -> str | None:
        """A link people can open to the message sent under ``key``; ``None`` when it is not out, or the
        platform gives no links (``LinksToMessages``) or cannot now (a link is never worth a failure)."""
        posted = self.sent(key)
        port = self._chat_for(workspace)
        if posted is None or not isinstance(port, LinksToMessages):
            return None
        try:
            return await port.permalink(workspace, posted)
        except DeliveryError:
            return None

    async def retry_pending(self, limit: int = 500) -> int:
        """Send what failed before (or was cut short by a crash); returns how many went out."""
        done = 0
        now = self.clock.now()
        for entry in await self.store.off_loop(self.store.outbox_retryable, now, limit, self.lease,
                                               silent_since=self._silent_since(now)):
            if await self._attempt(entry) is not None:
                done += 1
        return done

    @property
    def lease(self) -> timedelta:
        """How long an attempt holds its entry; after that its sender is presumed dead."""
        return self._lease

    def _silent_since(self, now: datetime) -> datetime | None:
        return now - self._silent_after if self._silent_after is not None else None

    async def _send(self, entry: OutboxEntry, known: Member | None = None) -> Posted | None:
        now = self.clock.now()
        if self._worker is None:
            stored, claimed = await self.store.off_loop(self.store.outbox_add, entry, now), False
        else:
            try:  # a new entry is stored already claimed: one round trip, not three
                stored, claimed = await self.store.off_loop(self.store.outbox_add_claimed, entry, now, self._worker)
            except Exception:  # the insert may have landed before the connection dropped
                self._cut_short = True
                raise
        if stored.status == "sent" and stored.channel and stored.message_id:
            return Posted(stored.channel, stored.message_id)
        if claimed:
            return await self._hold(stored, now, known)
        return await self._attempt(stored, known)

    def release_cut_short(self) -> int:
        """Hand back this worker's attempts that the database lost track of; returns how many.

        When a store call fails mid-attempt (the connection dropped before the outcome was
        written), the entry stays ``sending`` by this worker, and nobody would take it before
        the lease runs out: this worker is alive and beating. Once the database answers again
        the engine calls this at its next pass: every such entry not being attempted here now
        becomes ``failed`` and due, so the retry (here or on another worker) asks the platform
        whether it landed before sending it again.
        """
        if not self._cut_short or self._worker is None:
            return 0
        released = self.store.outbox_release(self._worker, self.clock.now(), keep=set(self._sending))
        self._cut_short = False
        if released:
            log.warning("%d sends cut short by the database were handed back for a checked retry", released)
        return released

    async def _attempt(self, entry: OutboxEntry, known: Member | None = None) -> Posted | None:
        now = self.clock.now()
        try:
            before = await self.store.off_loop(self.store.outbox_begin_attempt, entry.key, now, now - self.lease,
                                               self._worker, self._silent_since(now))
        except Exception:  # the claim may have been written before the connection dropped
            self._cut_short = True
            raise
        if before is None:  # another sender holds it, or it went out meanwhile
            return await self._sent_off_loop(entry.key)
        return await self._hold(before, now, known)

    async def _hold(self, before: OutboxEntry, now: datetime, known: Member | None = None) -> Posted | None:
        """Make the attempt this worker began at ``now`` on the entry that was ``before``."""
        self._sending.add(before.key)
        try:
            return await self._make(before, now, known)
        except Exception:  # a store call failed: the entry is left `sending` by this worker
            self._cut_short = True
            raise
        finally:
            self._sending.discard(before.key)

    async def _make(self, before: OutboxEntry, now: datetime, known: Member | None = None) -> Posted | None:
        """The attempt this worker holds on ``before``: confirm an earlier one landed, or send."""
        attempt = _Attempt(self, before.key, now)
        chat = self._chat_for(before.workspace)
        message = Message.from_json(before.payload)
        try:
            if before.status in MAYBE_SENT and before.kind != "update":  # an update is safe to repeat
                found = await self._landed_earlier(chat, before, attempt)
                if found is not None:
                    log.info("%s had already landed; recorded it without sending again", before.key)
                    return await self._sent(before, found)
            posted = await attempt.patiently(lambda: self._call(chat, before, message, known))
        except _LostClaim:
            return await self._sent_off_loop(before.key)
        except _StillRateLimited:
            return await self._failed(before, "still rate limited")
        except _Gone as err:
            return await self._failed(before, str(err), final=True)
        except (DeliveryError, LookupError) as err:
            return await self._failed(before, str(err))
        except Exception as err:  # an adapter bug or outage must not stop the scheduler
            if self.store.outage(err):  # the database, not the platform: handed back by `release_cut_short`
                raise
            log.exception("sending %s failed", before.key)
            return await self._failed(before, f"{type(err).__name__}: {err}")
        return await self._sent(before, posted)

    async def _sent_off_loop(self, key: str) -> Posted | None:
        return await self.store.off_loop(self.sent, key)

    async def _sent(self, entry: OutboxEntry, posted: Posted) -> Posted:
        await self.store.off_loop(self.store.outbox_mark_sent, entry.key, posted.channel, posted.message_id,
                                  self.clock.now())
        metrics.inc("meridian_messages_sent_total", kind=entry.kind)
        return posted

    async def _landed_earlier(self, port: ChatPort, entry: OutboxEntry, attempt: _Attempt) -> Posted | None:
        """Where an earlier attempt's message landed, when the port can tell; ``None`` means send it."""
        if not isinstance(port, ConfirmsDelivery):
            self._warn_at_least_once(port)
            return None
        target = await self.store.off_loop(self._target, entry)
        if target is None:  # no member or no thread parent: the send fails the same way, and says why
            return None
        since = (entry.created_at or self.clock.now()) - CLOCK_SKEW
        try:
            return await attempt.patiently(lambda: port.find_sent(entry.workspace, entry.key, target, since))
        except DeliveryError as err:
            raise DeliveryError(f"could not check whether an earlier attempt landed: {err}") from None

    def _warn_at_least_once(self, port: ChatPort) -> None:
        if port.platform not in self._unconfirmable:
            self._unconfirmable.add(port.platform)
            log.warning("the %s chat cannot look up what it already sent: a message whose send was cut short "
                        "is sent again (at least once)", port.platform)

    def _target(self, entry: OutboxEntry) -> Posted | Member | str | None:
        if entry.kind == "dm":
            return self.store.get_member(entry.workspace, entry.target)
        if entry.thread_key:
            return self.sent(entry.thread_key)
        return entry.target

    async def _call(self, port: ChatPort, entry: OutboxEntry, message: Message, known: Member | None = None) -> Posted:
        if entry.kind == "dm":
            member = known or await self.store.off_loop(self.store.get_member, entry.workspace, entry.target)
            if member is None:
                raise _Gone(f"{entry.target} is no longer a member")
            if isinstance(port, ConfirmsDelivery):
                return await port.dm(member, message, key=entry.key)
            return await port.dm(member, message)
        if entry.kind == "update":
            original = await self._sent_off_loop(entry.target)
            if original is None:
                raise DeliveryError(f"{entry.target} is not sent yet")
            await port.update(entry.workspace, original, message)
            return original
        thread: str | None = None
        channel = entry.target
        if entry.thread_key:
            parent = await self._sent_off_loop(entry.thread_key)
            if parent is None:
                raise DeliveryError(f"thread parent {entry.thread_key} is not sent yet")
            channel, thread = parent.channel, parent.message_id
        if isinstance(port, ConfirmsDelivery):
            return await port.post(entry.workspace, channel, message, thread=thread, key=entry.key)
        return await port.post(entry.workspace, channel, message, thread=thread)

    async def _failed(self, entry: OutboxEntry, error: str, final: bool = False) -> Posted | None:
        """Record a failed send; ``final`` when retrying cannot help (the person left: nothing to warn about)."""
        attempts = entry.attempts + 1
        retry_at = None
        if attempts < MAX_ATTEMPTS and not final:
            retry_at = self.clock.now() + BACKOFF[min(attempts - 1, len(BACKOFF) - 1)]
        if final:
            log.info("dropped %s: %s", entry.key, error)
            await self.store.off_loop(self.store.outbox_mark_failed, entry.key, error, None)
            return None
        log.warning("delivery of %s failed (attempt %d): %s", entry.key, attempts, error)
        metrics.inc("meridian_delivery_failures_total")
        await self.store.off_loop(self.store.outbox_mark_failed, entry.key, error, retry_at)
        return None
