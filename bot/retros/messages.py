"""What a retro posts and sends: the thread's opening message, items, the summary and reminders.

All are neutral messages (``bot.kernel.messages``); the chat adapters render them. No
message shows who wrote an item in the summary, and an anonymous item shows no author
anywhere. An open action item past its due date (in its owner's zone) is marked overdue
wherever it is listed.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any

from bot.kernel.domain import Member
from bot.kernel.messages import (
    Actions,
    Attachment,
    Block,
    Button,
    Context,
    Divider,
    Header,
    Inline,
    Mention,
    Message,
    Section,
    Strong,
    rich,
    truncate_user_text,
)
from bot.kernel.routing import named, route
from bot.kernel.timekeeping import local_date
from bot.retros import rotation
from bot.retros.calendar import CalendarEvent, calendar, event_uid
from bot.retros.context import RetroContext, fmt_day, fmt_local
from bot.retros.model import CATEGORIES, ActionItem, Item, Occurrence, Retro

log = logging.getLogger("meridian.retros")


async def _sprint_numbers(ctx: RetroContext, r: Retro, occ: Occurrence) -> list[Block]:
    """The sprint since the previous round, when a numbers source is connected; a source that fails says so."""
    if ctx.numbers is None:
        return []
    previous = [o for o in ctx.store.occurrences(r.workspace, r.name) if o.day < occ.day]
    since = previous[-1].end if previous else occ.opens_at - timedelta(days=14)
    try:
        lines = [str(line) for line in await ctx.numbers.sprint_numbers(r.workspace, since, ctx.app.now())]
    except Exception:
        log.warning("sprint numbers for %s unavailable", r.name, exc_info=True)
        lines = ["Sprint numbers: source unavailable right now."]
    if not lines:
        return []
    return [Divider(), Section(rich(Strong("📈 Sprint in numbers"))), *(Section(rich(line)) for line in lines)]


def overdue(ctx: RetroContext, a: ActionItem) -> bool:
    """Open and past its due date on its owner's calendar (UTC's when the owner is gone)."""
    if a.status != "open" or a.due is None:
        return False
    owner = ctx.app.store.get_member(a.workspace, a.owner)
    today: date = local_date(ctx.app.now(), owner.tz if owner else "UTC")
    return a.due < today


def action_line(ctx: RetroContext, a: ActionItem) -> tuple[Inline, ...]:
    owner = ctx.app.store.get_member(a.workspace, a.owner)
    who: Inline = Mention(owner.id, owner.name) if owner else a.owner
    due: tuple[Inline, ...] = (f" — due {fmt_day(a.due)}",) if a.due else ()
    if overdue(ctx, a):
        due = (" — ", Strong(f"⚠️ overdue since {fmt_day(a.due)}" if a.due else "⚠️ overdue"))
    return (Strong(f"#{a.id}"), " ", who, ": ", truncate_user_text(a.text, 500), *due)


def overdue_count(ctx: RetroContext, actions: list[ActionItem]) -> str:
    """``, 1 overdue`` for a heading, or nothing."""
    late = sum(overdue(ctx, a) for a in actions)
    return f", {late} overdue" if late else ""


async def open_message(ctx: RetroContext, r: Retro, occ: Occurrence, facilitator: Member | None = None) -> Message:
    blocks: list[Block] = [Header(f"🔁 {r.name} — {fmt_day(occ.day)}")]
    if occ.start is not None:
        blocks.append(Section(rich("Meeting: ", Strong(fmt_local(occ.start, r.tz)),
                                   " (everyone got it in their own time zone). Add items before, during or after.")))
    else:
        blocks.append(Section(rich("Async retro: add items and vote until ", Strong(fmt_local(occ.end, r.tz)), ".")))
    for key, question in r.prompts:
        emoji, label = CATEGORIES[key]
        blocks.append(Section(rich(f"{emoji} ", Strong(label), f" — {question}  (start a reply with {emoji} or {key}:)")))
    if facilitator is not None:  # routed: pinged in their working hours, else named with why not
        routed = route([(facilitator, "")], ctx.app.now(), partial(ctx.app.store.get_member, r.workspace)).people
        blocks.append(Section(rich("Facilitator: ", *named(routed[:1]),
                                   " (with the admins, opens and closes this round).")))
    blocks.append(Context(rich("Reply in this thread to add an item. Anonymous: DM me `anon: improve: …` or use "
                               "/retro add --anon … (anonymous items go in together at the next hour mark). "
                               f"Vote with 👍 or /retro vote N ({r.max_votes} votes each; counts show at the "
                               "close). Action items: `action: @owner what by DATE` (`next friday`, `2027-04-01`).")))
    open_actions = [a for a in ctx.store.actions(r.workspace, r.name, status="open") if a.day != occ.day]
    if open_actions:
        blocks.append(Divider())
        blocks.append(Section(rich(Strong(f"📌 Open action items from earlier retros ({len(open_actions)}"
                                          f"{overdue_count(ctx, open_actions)})"))))
        blocks.extend(Section(action_line(ctx, a)) for a in open_actions)
    blocks.extend(await _sprint_numbers(ctx, r, occ))
    return Message(tuple(blocks), fallback=f"{r.name} retro is open — reply in the thread")


def _vote_button(r: Retro, item: Item) -> Button:
    return Button("👍 Vote", "retro.vote", f"{r.name}|{item.day.isoformat()}|{item.number}")


def item_message(r: Retro, item: Item, author: Member | None) -> Message:
    emoji = CATEGORIES[item.category][0]
    head: list[Inline] = [Strong(f"#{item.number}"), f" {emoji} ", truncate_user_text(item.text)]
    if author is not None:
        head += [" — ", Mention(author.id, author.name)]
    return Message((Section(tuple(head)), Actions((_vote_button(r, item),))),
                   fallback=f"#{item.number} {emoji} {truncate_user_text(item.text, 200)}")


def summary_message(ctx: RetroContext, r: Retro, occ: Occurrence) -> Message | None:
    """Items by category, most votes first, and the round's action items; ``None`` when the round has neither.
    No author is shown."""
    items = ctx.store.items(r.workspace, r.name, occ.day)
    actions = [a for a in ctx.store.actions(r.workspace, r.name, status=None) if a.day == occ.day]
    if not items and not actions:
        return None
    blocks: list[Block] = [Header(f"🧾 {r.name} summary — {fmt_day(occ.day)}"),
                           Context(rich(f"{len(items)} item{'s' if len(items) != 1 else ''}, "
                                        f"{sum(i.votes for i in items)} votes, {len(actions)} action items"))]
    order = [k for k, _ in r.prompts] + [k for k in CATEGORIES if k not in dict(r.prompts)]
    for key in order:
        mine = sorted((i for i in items if i.category == key), key=lambda i: (-i.votes, i.number))
        if not mine:
            continue
        emoji, label = CATEGORIES[key]
        blocks.append(Section(rich(Strong(f"{emoji} {label}"))))
        blocks.extend(Section(rich(f"{i.votes} 👍  ", truncate_user_text(i.text, 500))) for i in mine)
    if actions:  # an empty section is left out
        blocks.append(Divider())
        blocks.append(Section(rich(Strong(f"📌 Action items ({len(actions)})"))))
        blocks.extend(Section(action_line(ctx, a)) for a in actions)
    return Message(tuple(blocks), fallback=f"{r.name} summary: {len(items)} items, {len(actions)} action items")


def _lead(start: datetime, sent: datetime, tz: str) -> str:
    """How far off the meeting is, as the reader says it: ``in 24 hours``, or for a day-ahead notice moved into
    their working hours ``tomorrow at 07:00`` / ``on Monday at 07:00`` (their time)."""
    if start - sent == timedelta(hours=24):
        return "in 24 hours"
    meeting, today = local_date(start, tz), local_date(sent, tz)
    local = start.astimezone(Member("", "", "", tz=tz).zone)
    day = ("today" if meeting == today else "tomorrow" if meeting == today + timedelta(days=1)
           else f"on {local:%A}")
    return f"{day} at {local:%H:%M}"


def reminder_message(ctx: RetroContext, r: Retro, occ: Occurrence, m: Member, ahead: str,
                     sent: datetime | None = None) -> Message:
    """A member's day-ahead notice (``24h``, sent at ``sent``, in their working hours) or 15-minute reminder."""
    assert occ.start is not None
    when = fmt_local(occ.start, m.tz)
    lead = _lead(occ.start, sent or occ.start - timedelta(hours=24), m.tz) if ahead == "24h" else "in 15 minutes"
    duration = rotation.parse_duration(r.duration)
    blocks: list[Block] = [Header(f"🔁 {r.name} {lead}"),
                           Section(rich(f"Hi {m.name}, {r.name} starts ", Strong(when),
                                        f" your time and lasts {int(duration.total_seconds() // 60)} minutes.")),
                           Context(rich(f"Items and votes go in the thread in {r.channel}. "
                                        "The calendar file is attached." if occ.status != "closed" else
                                        f"Items and votes were closed early; the summary is in {r.channel}. "
                                        "The meeting stays on; the calendar file is attached."))]
    ics = occurrence_calendar(ctx, r, [occ], m.tz)
    return Message(tuple(blocks), fallback=f"{r.name} {lead}: {when}",
                   attachments=(Attachment(f"{r.name}-{occ.day.isoformat()}.ics", ics, "text/calendar"),))


def absence_message(r: Retro, occ: Occurrence, admin: Member, away: list[tuple[Member, str]], members: int,
                    other: tuple[date, datetime, int] | None) -> Message:
    """An admin's note that most of a meeting's members are away, with what to do: skip it, or the best other
    day of that week (its slot from the rotation, in the admin's time)."""
    assert occ.start is not None
    names = ", ".join(f"{m.name} ({why})" for m, why in away)
    coming = members - len(away)
    blocks: list[Block] = [
        Header(f"⚠️ {r.name}: {len(away)} of {members} members are away"),
        Section(rich(f"Hi {admin.name}, the {r.name} meeting on ", Strong(fmt_local(occ.start, admin.tz)),
                     f" (your time) has {coming} of {members} members present. Away: ",
                     truncate_user_text(names, 1000), ".")),
    ]
    if other is not None:
        _day, start, present_then = other
        blocks.append(Section(rich("Suggestion: skip this one, or hold it on ", Strong(fmt_local(start, admin.tz)),
                                   f" (your time) instead, when {present_then} of {members} can come — the slot "
                                   "the fair rotation gives that day.")))
    else:
        blocks.append(Section(rich("Suggestion: skip this one; no other day that week has more members present.")))
    day = local_date(occ.start, admin.tz).isoformat()
    blocks.append(Actions((Button("Skip this one", "retro.skip", f"{r.name}|{occ.day.isoformat()}"),)))
    blocks.append(Context(rich(f"Or type `/retro skip {day}`; {r.channel} is told. Meridian does not move a single "
                               "meeting to another day: to hold it then, skip this one and tell the team in "
                               f"{r.channel}. Left as it is, the meeting stays where it is, and those away get no "
                               "reminders and carry no burden for it.")))
    return Message(tuple(blocks), fallback=f"{r.name}: {len(away)} of {members} members are away from the "
                                           f"{fmt_day(occ.day)} meeting")


def action_due_message(owner: Member, action: ActionItem) -> Message:
    assert action.due is not None
    return Message((Header("📌 Action item due tomorrow"),
                    Section(rich(f"Hi {owner.name}, from the {action.retro} retro: ",
                                 truncate_user_text(action.text, 1000), " — due ", Strong(fmt_day(action.due)),
                                 ".")),
                    Context(rich(f"Mark it done with /retro done {action.id}."))),
                   fallback=f"Action item due tomorrow: {truncate_user_text(action.text, 200)}")


def occurrence_calendar(ctx: RetroContext, r: Retro, occs: list[Occurrence], tz: str) -> str:
    events = [CalendarEvent(event_uid(r.workspace, r.name, o.day.isoformat()), o.start, o.end, f"{r.name} retro",
                            f"Retro in {r.channel}; items and votes go in its thread.", r.channel)
              for o in occs if o.start is not None]
    return calendar(events, tz, ctx.app.now(), name=r.name)


def _slot(instant: str, tz: str) -> str:
    return fmt_local(datetime.fromisoformat(instant), tz)


def replan_channel_message(r: Retro, notice: dict[str, Any], names: dict[str, str]) -> Message:
    """What the channel reads after a re-plan: why, and each coming slot that moved (in the retro's zone)."""
    why = "; ".join(notice["why"])
    blocks: list[Block] = [Header(f"🗓 {r.name}: coming slots planned again"),
                           Section(rich(f"Because {why}.", " Slots already announced in a thread or a reminder "
                                        "stay where they are."))]
    for _day, old, new, night in notice["slots"]:
        nights = f" · night for {', '.join(names.get(n, n) for n in night)}" if night else ""
        blocks.append(Section(rich(f"{_slot(old, r.tz)} → ", Strong(_slot(new, r.tz)), nights)))
    if r.night_cap is not None:
        kept = ("Everyone stays within" if notice["night_cap_met"]
                else "The fairest plan found still goes over")
        blocks.append(Context(rich(f"{kept} the night cap of {r.night_cap} per block of {rotation.BLOCK} retros.")))
    blocks.append(Context(rich("Each person whose time changed got a DM. /retro schedule shows the plan.")))
    return Message(tuple(blocks), fallback=f"{r.name}: {len(notice['slots'])} coming slots moved")


def replan_dm(r: Retro, m: Member, lines: list[list[str]], why: list[str]) -> Message:
    """One person's changed times, old and new, each in the zone it was in for them."""
    reasons = "; ".join(w.replace(f"{m.name}'s ", "your ") for w in why)
    blocks: list[Block] = [Header(f"🗓 {r.name}: your retro time changed"),
                           Section(rich(f"Hi {m.name}, because {reasons}, {r.name} was planned again. "
                                        "In your time:"))]
    for _day, old, new, old_tz in lines:
        blocks.append(Section(rich(f"{_slot(old, old_tz)} → ", Strong(_slot(new, m.tz)))))
    blocks.append(Context(rich("Reminders follow the new times. /retro schedule shows the whole plan.")))
    return Message(tuple(blocks), fallback=f"{r.name}: your retro time changed")
