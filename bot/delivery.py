"""The one place that sends: an idempotent outbox in front of every chat port (DESIGN §8).

Each outgoing message has a key (what, for whom, which occurrence). The entry is
stored before the platform is called and marked with the platform's message id when
the platform confirms. Sending the same key again returns the stored result instead
of posting twice; a failure leaves the entry for a retry with backoff; a 429 is
waited out (``Retry-After``) and the send goes on, so fan-out loses nothing.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from datetime import timedelta
from typing import TYPE_CHECKING

from bot import metrics
from bot.messages import Message
from bot.ports import ChatPort, DeliveryError, OutboxEntry, Posted, RateLimited

if TYPE_CHECKING:
    from bot.app import Meridian

log = logging.getLogger("meridian.delivery")

MAX_RATE_LIMIT_WAITS = 20
BACKOFF = (timedelta(seconds=30), timedelta(minutes=2), timedelta(minutes=10), timedelta(hours=1))
MAX_ATTEMPTS = 12


class Outbox:
    def __init__(self, app: Meridian) -> None:
        self.app = app

    async def post(self, key: str, workspace: str, channel: str, message: Message,
                   thread_key: str | None = None) -> Posted | None:
        """Post to a channel, or into the thread started by the message sent under ``thread_key``."""
        kind = "reply" if thread_key else "post"
        return await self._send(OutboxEntry(key, workspace, kind, channel, message.to_json(), "pending", 0,
                                            thread_key=thread_key))

    async def dm(self, key: str, workspace: str, member_id: str, message: Message) -> Posted | None:
        return await self._send(OutboxEntry(key, workspace, "dm", member_id, message.to_json(), "pending", 0))

    async def update(self, workspace: str, of_key: str, message: Message) -> Posted | None:
        """Replace the message sent under ``of_key`` (a summary refreshed, an alert resolved)."""
        digest = hashlib.sha256(message.to_json().encode()).hexdigest()[:16]
        return await self._send(OutboxEntry(f"{of_key}#update:{digest}", workspace, "update", of_key,
                                            message.to_json(), "pending", 0))

    def sent(self, key: str) -> Posted | None:
        entry = self.app.store.outbox_get(key)
        if entry and entry.status == "sent" and entry.channel and entry.message_id:
            return Posted(entry.channel, entry.message_id)
        return None

    async def retry_pending(self, limit: int = 500) -> int:
        """Send what failed before (or was cut short by a crash); returns how many went out."""
        done = 0
        for entry in self.app.store.outbox_retryable(self.app.now(), limit):
            if await self._attempt(entry) is not None:
                done += 1
        return done

    async def _send(self, entry: OutboxEntry) -> Posted | None:
        stored = self.app.store.outbox_add(entry, self.app.now())
        if stored.status == "sent" and stored.channel and stored.message_id:
            return Posted(stored.channel, stored.message_id)
        return await self._attempt(stored)

    async def _attempt(self, entry: OutboxEntry) -> Posted | None:
        store = self.app.store
        chat = self.app.chat_for(entry.workspace)
        message = Message.from_json(entry.payload)
        for _ in range(MAX_RATE_LIMIT_WAITS):
            try:
                posted = await self._call(chat, entry, message)
            except RateLimited as limited:
                await asyncio.sleep(max(0.0, limited.retry_after))
                continue
            except (DeliveryError, LookupError) as err:
                return self._failed(entry, str(err))
            except Exception as err:  # an adapter bug or outage must not stop the scheduler
                log.exception("sending %s failed", entry.key)
                return self._failed(entry, f"{type(err).__name__}: {err}")
            store.outbox_mark_sent(entry.key, posted.channel, posted.message_id, self.app.now())
            metrics.inc("meridian_messages_sent_total", kind=entry.kind)
            return posted
        return self._failed(entry, "still rate limited")

    async def _call(self, port: ChatPort, entry: OutboxEntry, message: Message) -> Posted:
        if entry.kind == "dm":
            member = self.app.store.get_member(entry.workspace, entry.target)
            if member is None:
                raise LookupError(f"no member {entry.target}")
            return await port.dm(member, message)
        if entry.kind == "update":
            original = self.sent(entry.target)
            if original is None:
                raise DeliveryError(f"{entry.target} is not sent yet")
            await port.update(entry.workspace, original, message)
            return original
        thread: str | None = None
        channel = entry.target
        if entry.thread_key:
            parent = self.sent(entry.thread_key)
            if parent is None:
                raise DeliveryError(f"thread parent {entry.thread_key} is not sent yet")
            channel, thread = parent.channel, parent.message_id
        return await port.post(entry.workspace, channel, message, thread=thread)

    def _failed(self, entry: OutboxEntry, error: str) -> Posted | None:
        attempts = entry.attempts + 1
        retry_at = None
        if attempts < MAX_ATTEMPTS:
            retry_at = self.app.now() + BACKOFF[min(attempts - 1, len(BACKOFF) - 1)]
        log.warning("delivery of %s failed (attempt %d): %s", entry.key, attempts, error)
        metrics.inc("meridian_delivery_failures_total")
        self.app.store.outbox_mark_failed(entry.key, error, retry_at)
        return None
