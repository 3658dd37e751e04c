"""What a digest posts: a headline for the channel and the details for its thread."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.digests.text import clock
from bot.kernel.messages import Context, Divider, Image, Message, Section, plain

ChartUrl = Callable[[Sequence[float | None]], str | None]
"""Publishes a series and returns the URL of its chart image (``None`` when charts are not served)."""


@dataclass(frozen=True)
class DigestMessages:
    """A headline for the channel and the messages that go in its thread."""

    headline: Message
    details: tuple[Message, ...] = ()

    def as_one(self) -> Message:
        """Everything in one message, for an on-demand reply or a dry run."""
        blocks = list(self.headline.blocks)
        texts = [self.headline.fallback]
        for detail in self.details:
            blocks.append(Divider())
            blocks.extend(detail.blocks)
            texts.append(detail.fallback)
        return Message(tuple(blocks), fallback="\n\n".join(texts))



def message_of(sections: Sequence[Section | Context | Image]) -> Message:
    """Blocks with a plain-text fallback built from them (for notifications and the console)."""
    lines = [plain(s.text) if not isinstance(s, Image) else s.alt for s in sections]
    for s in sections:
        if isinstance(s, Section):
            lines.extend(plain(f) for f in s.fields)
    return Message(tuple(sections), fallback="\n".join(lines))


def unavailable_line(source: str, since: datetime, tz: str, now: datetime) -> str:
    return f"⚠️ {source} unavailable since {clock(since, tz, now)} — retrying with backoff."
