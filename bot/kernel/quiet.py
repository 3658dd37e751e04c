"""Quiet hours: when a message Meridian starts may land in a person's DMs.

Meridian's promise is that it respects each person's clock, so nothing it starts by itself
arrives in someone's night (``quiet``, 22:00–06:00 their time unless they set otherwise), on
their day off, on a public holiday of theirs or while they are out of office. Two kinds of DM
are exempt: the reminders a person configured (their stand-up reminder and nudge, a retro's
15-minute reminder: they chose those times) and alerts marked urgent. Everything else that
finds the person quiet waits, stored as due work, for the start of their next working hours,
so a restart loses nothing and sends nothing twice (the outbox key stays the one the caller
chose).

Replies to something the person just did (a command, a DM, a button) never come through here:
they are awake.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.kernel.domain import Member
from bot.kernel.messages import Message
from bot.kernel.ports import ClaimedItem, DueItem
from bot.kernel.timekeeping import at_local

if TYPE_CHECKING:
    from bot.kernel.app import Meridian

DEFERRED = "dm.deferred"
LOOK_AHEAD_DAYS = 400
"""How far to look for the next working hours; out-of-office spans are bounded well below this."""


def is_quiet(member: Member, instant: datetime) -> bool:
    """Whether a DM Meridian starts would land in the member's night, day off, holiday or time away."""
    local = member.local(instant)
    return member.quiet.contains(local.time()) or not member.works_on(local.date())


def next_open(member: Member, instant: datetime) -> datetime:
    """When a DM that finds the member quiet at ``instant`` lands: the start of their next working hours.

    Working hours that begin inside the quiet window (a 05:00 start with nights until 06:00) open
    when the night ends. A member with no working day in the coming year (a misconfiguration the
    team file refuses) is not kept waiting for ever: the DM goes at once.
    """
    if not is_quiet(member, instant):
        return instant
    first = member.local(instant).date()
    for offset in range(LOOK_AHEAD_DAYS):
        day = first + timedelta(days=offset)
        if not member.works_on(day):
            continue
        opens = at_local(day, member.hours.start, member.tz)
        if member.quiet.contains(member.hours.start):
            opens = at_local(day, member.quiet.end, member.tz)
        if opens > instant and not is_quiet(member, opens):
            return opens
    return instant


def deferred_key(member_id: str, key: str) -> str:
    return f"quiet:{member_id}:{key}"


async def notify(app: Meridian, key: str, workspace: str, member: Member, message: Message, *,
                 urgent: bool = False) -> None:
    """DM ``member`` now, or at the start of their next working hours when now is quiet for them.

    ``key`` is the outbox key the DM is sent under, whenever it is sent: deferring it twice, or
    a restart in between, still sends it once.
    """
    now = app.now()
    if urgent or not is_quiet(member, now):
        await app.outbox.dm(key, workspace, member.id, message)
        return
    app.store.schedule([DueItem(deferred_key(member.id, key), DEFERRED, workspace, next_open(member, now),
                                {"key": key, "member": member.id, "message": message.to_json()})])


async def on_deferred(app: Meridian, item: ClaimedItem) -> None:
    """A held DM falls due. The person may have gone away or changed zone meanwhile: ask again."""
    member = app.store.get_member(item.workspace, item.payload["member"])
    if member is None:  # forgotten while the DM waited
        return
    key = item.payload["key"]
    message = Message.from_json(item.payload["message"])
    now = app.now()
    if is_quiet(member, now):
        later = next_open(member, now)
        if later > now:
            app.store.schedule([DueItem(f"{deferred_key(member.id, key)}@{later:%Y%m%dT%H%MZ}", DEFERRED,
                                        item.workspace, later, dict(item.payload))])
            return
    await app.outbox.dm(key, item.workspace, member.id, message)


def forget(app: Meridian, workspace: str, member_id: str) -> dict[str, int]:
    """Held DMs carry the words meant for the person: they go with them."""
    dropped = app.store.cancel_pending(workspace, deferred_key(member_id, ""))
    return {"held DMs": dropped} if dropped else {}


class QuietHours:
    """Holds the DMs Meridian starts until the person's working hours (see the module's docstring)."""

    name = "quiet-hours"

    def install(self, app: Meridian) -> None:
        app.on_due(DEFERRED, on_deferred)
        app.on_forget(lambda workspace, member_id: forget(app, workspace, member_id))
