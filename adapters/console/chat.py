"""``ConsoleChat``: a ``ChatPort`` that prints a transcript and keeps every message for tests.

Each line shows the instant in UTC and in the zone of the person it concerns (the
reader of a DM, the writer of a message, the channel's zone for channel posts).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TextIO
from zoneinfo import ZoneInfo

from adapters.console.render import render_text
from bot.kernel.domain import Member
from bot.kernel.messages import Actions, Button, Form, Message
from bot.kernel.ports import Clock, Posted, Profile


@dataclass
class ConsoleMessage:
    id: str
    at: datetime
    channel: str
    """``#name`` for a channel, ``@member`` for a DM."""
    speaker: str
    text: str
    tz: str
    thread: str | None = None
    message: Message | None = None
    edits: list[str] = field(default_factory=list)
    key: str | None = None
    """The outbox key it was sent under, so a retry can find it (``find_sent``)."""

    @property
    def buttons(self) -> list[Button]:
        if self.message is None:
            return []
        return [b for block in self.message.blocks if isinstance(block, Actions) for b in block.buttons]


def zone_label(local: datetime, tz: str) -> str:
    """The zone's abbreviation, with the city where the abbreviation is only an offset (``+04 Dubai``)."""
    name = local.tzname() or tz
    if name[:1] in "+-" and "/" in tz:
        return f"{name} {tz.rsplit('/', 1)[-1].replace('_', ' ')}"
    return name


class ConsoleChat:
    platform = "console"

    def __init__(self, clock: Clock, out: TextIO | None = None,
                 channel_zone: Callable[[str], str] | None = None) -> None:
        self.clock = clock
        self.out = out if out is not None else sys.stdout
        self.channel_zone = channel_zone or (lambda _channel: "UTC")
        self.messages: list[ConsoleMessage] = []
        self.by_id: dict[str, ConsoleMessage] = {}

    # --- transcript -----------------------------------------------------------------------
    def _stamp(self, at: datetime, tz: str) -> str:
        local = at.astimezone(ZoneInfo(tz))
        return f"[{at:%Y-%m-%d %H:%M}Z · {local:%a %H:%M} {zone_label(local, tz)}]"

    def _print(self, msg: ConsoleMessage, note: str = "") -> None:
        where = f"DM {msg.channel[1:]}" if msg.channel.startswith("@") else msg.channel
        if msg.thread:
            where += " ↳ thread"
        body = msg.text.replace("\n", "\n    ")
        print(f"{self._stamp(msg.at, msg.tz)} {where} | {msg.speaker}{note}:\n    {body}", file=self.out)

    def record(self, channel: str, speaker: str, text: str, tz: str, thread: str | None = None,
               message: Message | None = None, key: str | None = None) -> ConsoleMessage:
        msg = ConsoleMessage(f"m{len(self.messages) + 1}", self.clock.now(), channel, speaker, text, tz, thread,
                             message, key=key)
        self.messages.append(msg)
        self.by_id[msg.id] = msg
        self._print(msg)
        return msg

    def in_channel(self, channel: str) -> list[ConsoleMessage]:
        return [m for m in self.messages if m.channel == channel]

    def thread_of(self, parent_id: str) -> list[ConsoleMessage]:
        return [m for m in self.messages if m.thread == parent_id]

    # --- ChatPort -------------------------------------------------------------------------
    async def post(self, workspace: str, channel: str, message: Message, thread: str | None = None, *,
                   key: str | None = None) -> Posted:
        msg = self.record(channel, "Meridian", render_text(message), self.channel_zone(channel), thread, message,
                          key)
        return Posted(channel, msg.id)

    async def update(self, workspace: str, posted: Posted, message: Message) -> None:
        original = self.by_id.get(posted.message_id)
        if original is None:
            return
        original.edits.append(original.text)
        original.text = render_text(message)
        original.message = message
        when = original.at.astimezone(ZoneInfo(original.tz))
        print(f"{self._stamp(self.clock.now(), original.tz)} {original.channel} | Meridian (edited its post of "
              f"{when:%a %H:%M}):\n    {original.text.replace(chr(10), chr(10) + '    ')}", file=self.out)

    async def dm(self, member: Member, message: Message, *, key: str | None = None) -> Posted:
        msg = self.record(f"@{member.id}", "Meridian", render_text(message), member.tz, None, message, key)
        return Posted(msg.channel, msg.id)

    async def find_sent(self, workspace: str, key: str, target: Posted | Member | str,
                        since: datetime) -> Posted | None:
        """``ConfirmsDelivery``: what this transcript holds under ``key`` (it lives as long as the process)."""
        for msg in self.messages:
            if msg.key == key and msg.at >= since and _is_at(msg, target):
                return Posted(msg.channel, msg.id)
        return None

    async def ephemeral(self, member: Member, channel: str, message: Message) -> None:
        self.record(channel, f"Meridian (only {member.name} sees this)", render_text(message), member.tz)

    async def open_form(self, member: Member, form: Form, trigger: str | None) -> bool:
        return False

    async def profile(self, member: Member) -> Profile | None:
        return Profile(member.id, member.name, member.tz)


def _is_at(msg: ConsoleMessage, target: Posted | Member | str) -> bool:
    if isinstance(target, Posted):
        return msg.thread == target.message_id
    if isinstance(target, Member):
        return msg.channel == f"@{target.id}"
    return msg.channel == target and msg.thread is None
