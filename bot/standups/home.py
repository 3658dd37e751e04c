"""Stand-ups on a person's home page: each of theirs, today's status and the next reminder in their own time."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from bot.kernel.domain import Member, Standup, weekday_name
from bot.kernel.messages import Block, Section, Strong, rich, truncate_user_text
from bot.kernel.timekeeping import at_local
from bot.standups.tracking import day_number, open_items, resolve_actions

if TYPE_CHECKING:
    from bot.kernel.app import Meridian

STATUS_WORDS = {
    "pending": "not answered yet",
    "reminded": "reminded, not answered yet",
    "answered": "answered",
    "skipped": "skipped",
    "away": "away",
}


def next_reminder(standup: Standup, member: Member, now: datetime, answered_today: bool) -> datetime | None:
    """The next instant this member is reminded for this stand-up, looking two weeks ahead."""
    today = member.local(now).date()
    for offset in range(15):
        day = today + timedelta(days=offset)
        if weekday_name(day) not in standup.days or not member.works_on(day):
            continue
        if day == today and answered_today:
            continue
        instant = at_local(day, standup.remind_at, member.tz)
        if instant > now:
            return instant
    return None


def _when(instant: datetime, member: Member, today: date) -> str:
    local = member.local(instant)
    if local.date() == today:
        day = "today"
    elif local.date() == today + timedelta(days=1):
        day = "tomorrow"
    else:
        day = f"{local:%a %d %b}"
    return f"{day} at {local:%H:%M}"


def standup_blocks(app: Meridian, member: Member) -> list[Block]:
    now = app.now()
    today = member.local(now).date()
    mine = [s for s in app.store.list_standups(member.workspace) if s.includes(member)]
    if not mine:
        return [Section(rich("You are not in any stand-up yet. ", "Type /standup setup in a channel to start one."))]
    blocks: list[Block] = [Section(rich(Strong("Your stand-ups")))]
    for standup in mine:
        run = app.store.get_run(member.workspace, standup.name, member.id, today)
        status = run.status if run else ("pending" if member.works_on(today) else "away")
        if standup.paused:
            blocks.append(Section(rich(Strong(standup.name), f" in {standup.channel}: paused")))
            continue
        upcoming = next_reminder(standup, member, now, answered_today=status in {"answered", "skipped", "away"})
        when = _when(upcoming, member, today) if upcoming else "none in the next two weeks"
        blocks.append(Section(rich(Strong(standup.name), f" in {standup.channel}"),
                              fields=(rich("Today: ", STATUS_WORDS.get(status, status)),
                                      rich("Next reminder: ", when))))
        blocks.extend(open_blocker_blocks(app, standup, member, today))
    return blocks


def open_blocker_blocks(app: Meridian, s: Standup, member: Member, today: date) -> list[Block]:
    """The person's open blockers in this stand-up, each with **Resolved**: the home page is where they look."""
    blocks: list[Block] = []
    for item in open_items(app, s, member.id):
        n = day_number(member, s, item, max(today, item.since))
        blocks.append(Section(rich(f"🚧 Your open blocker (day {n}, since {item.since:%a} {item.since.day} "
                                   f"{item.since:%b}): ", truncate_user_text(item.text, 300))))
        blocks.append(resolve_actions(s, item))
    return blocks
