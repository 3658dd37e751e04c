"""Neutral messages as terminal text. User text is shown literally: nothing in it can ping anyone."""

from __future__ import annotations

from bot.kernel.messages import Actions, Context, Divider, Header, Image, Message, Rich, Section, plain


def render_rich(text: Rich) -> str:
    return plain(text)


def render_text(message: Message) -> str:
    lines: list[str] = []
    for block in message.blocks:
        if isinstance(block, Header):
            lines.append(block.text)
        elif isinstance(block, Section):
            lines.append(render_rich(block.text))
            lines.extend(f"  {render_rich(f)}" for f in block.fields)
        elif isinstance(block, Context):
            lines.append(f"  ({render_rich(block.text)})")
        elif isinstance(block, Divider):
            lines.append("  ---")
        elif isinstance(block, Actions):
            lines.append("  " + " ".join(f"[{b.label} {b.url}]" if b.url else f"[{b.label}]"
                                      for b in block.buttons))
        elif isinstance(block, Image):
            lines.append(f"  [image: {block.alt}]")
    for att in message.attachments:
        lines.append(f"  [file: {att.filename}, {len(att.content)} bytes]")
    return "\n".join(lines) if lines else message.fallback
