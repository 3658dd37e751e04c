"""A person's home page: their zone, then what each capability shows them (their stand-ups, RACI roles, retros).

Platform-neutral (Slack shows it as the App Home tab). Capabilities add their own
sections at install (``app.add_home_section``), in install order.
"""

from __future__ import annotations

from bot.kernel.app import Meridian
from bot.kernel.domain import Member
from bot.kernel.messages import Block, Context, Divider, Header, Message, rich


def home_page(app: Meridian, member: Member) -> Message:
    now = member.local(app.now())
    blocks: list[Block] = [
        Header("Meridian"),
        Context(rich(f"Your time zone is {member.tz} (it is {now:%H:%M} on {now:%A} for you). ",
                     "Change it with /meridian tz ZONE.")),
    ]
    for section in app.home_sections:
        extra = section(app, member)
        if extra:
            blocks.extend([Divider(), *extra])
    return Message(tuple(blocks), fallback="Meridian home")
