"""The retros part of a person's home page: their retros and their open action items."""

from __future__ import annotations

from bot.kernel.domain import Member
from bot.kernel.messages import Block, Context, Inline, Section, Strong, rich, truncate_user_text
from bot.retros.context import RetroContext, fmt_day, fmt_local
from bot.retros.flow import kept_meeting
from bot.retros.plan import current_round, next_round
from bot.retros.presence import is_absent


def home_retros(ctx: RetroContext, member: Member) -> list[Block]:
    """The member's retros (open now, or their next slot in their own time) and their open action items."""
    blocks: list[Block] = []
    for r in (r for r in ctx.store.list_retros(member.workspace) if r.includes(member)):
        current = current_round(ctx, r)
        kept = kept_meeting(ctx, r)
        nxt = None if current or kept else next_round(ctx, r)
        if current is not None:
            when: tuple[Inline, ...] = ("open now, until ", Strong(fmt_local(current.end, member.tz)),
                                        f" your time; add items in its thread in {r.channel}")
        elif kept is not None and kept.start is not None:  # closed before its meeting: the meeting stays on
            when = ("meeting ", Strong(fmt_local(kept.start, member.tz)),
                    " your time (items and votes closed early)")
        elif nxt is not None:
            when = ("next: ", Strong(fmt_local(nxt.start or nxt.opens_at, member.tz)), " your time",
                    " (you are away that day: no reminders, no burden)" if is_absent(member, nxt) else "")
        else:
            when = ("no round coming up",)
        blocks.append(Section(rich(Strong(r.name), " — ", *when)))
    actions = [a for a in ctx.store.actions(member.workspace, status="open") if a.owner == member.id]
    if actions:
        blocks.append(Section(rich(Strong(f"📌 Your open action items ({len(actions)})"))))
        blocks.extend(Section(rich(Strong(f"#{a.id}"), " ", truncate_user_text(a.text, 300),
                                   f" — due {fmt_day(a.due)}" if a.due else "", f"  ({a.retro})"))
                      for a in actions[:10])
        blocks.append(Context(rich("Mark one done with /retro done N.")))
    return [Section(rich(Strong("Your retros"))), *blocks] if blocks else []
