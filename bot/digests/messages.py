"""What a digest posts: a headline for the channel and the details for its thread."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from bot.digests.text import clock
from bot.kernel.messages import Context, Divider, Image, Message, Section, plain, rich

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
        # A note heading every message (the demo-data line) is said once.
        lead = self.headline.blocks[:1] if self.headline.blocks and isinstance(self.headline.blocks[0], Context) \
            else ()
        lead_text = self.headline.fallback.split("\n", 1)[0] + "\n" if lead else ""
        for detail in self.details:
            repeated = bool(lead) and detail.blocks[:1] == lead
            blocks.append(Divider())
            blocks.extend(detail.blocks[1:] if repeated else detail.blocks)
            texts.append(detail.fallback.removeprefix(lead_text) if repeated else detail.fallback)
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


DEMO_NOTE = ("🧪 Demo data: recorded runs and drift reports shipped with Meridian (sources kind: demo), "
             "not from a live server.")


def demo_noted(message: Message) -> Message:
    """The message with the demo-data line first, so nobody takes recorded numbers for the team's own."""
    return replace(message, blocks=(Context(rich(DEMO_NOTE)), *message.blocks),
                   fallback=f"{DEMO_NOTE}\n{message.fallback}")


def demo_labelled(digest: DigestMessages) -> DigestMessages:
    """Every message of a digest built from demo data says so (a thread reply can be read on its own)."""
    return DigestMessages(demo_noted(digest.headline), tuple(demo_noted(d) for d in digest.details))
