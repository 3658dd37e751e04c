"""The life of one retro round: opened, filled with items, votes and action items, closed.

Each occurrence runs the same thread flow, with or without a meeting:

* **before**: members are DM'd 24 h and 15 min before the start, in their own local
  time, with a calendar file;
* **open** (``thread_lead`` ahead, 48 h by default; at once when that passed while nothing ran): a thread with the prompts, the
  previous rounds' open action items and, where a sprint-numbers source is connected,
  the sprint in numbers;
* **collect**: items, anonymous items and votes (``bot.retros.chat`` turns thread
  replies, DMs, reactions and buttons into the calls here; ``bot.retros.commands`` does
  the same for ``/retro``);
* **close** (the meeting's end, async ``closes``, or ``/retro close``): a summary in the
  thread and the channel; ``action: @owner what by DATE`` lines become action items
  whose owners get a DM the day before they are due.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date, timedelta

from bot.kernel.domain import WEEKDAYS, Member
from bot.kernel.members import People, PersonNotFound
from bot.kernel.messages import Message
from bot.kernel.ports import ClaimedItem
from bot.kernel.timekeeping import TimeInputError, local_date, parse_date
from bot.retros.context import RetroContext, key, notices_key, thread_key
from bot.retros.messages import (
    action_due_message,
    action_line,
    item_message,
    open_message,
    reminder_message,
    replan_channel_message,
    replan_dm,
    summary_message,
)
from bot.retros.model import ActionItem, Item, Occurrence, Retro, category_of
from bot.retros.plan import publish


# --- lookups -----------------------------------------------------------------------------------
def find_round(ctx: RetroContext, workspace: str, name: str, day: str) -> tuple[Retro, Occurrence] | None:
    r = ctx.store.get_retro(workspace, name)
    occ = ctx.store.get_occurrence(workspace, name, date.fromisoformat(day)) if r else None
    return (r, occ) if r and occ else None


def thread_occurrence(ctx: RetroContext, workspace: str, thread: str) -> Occurrence | None:
    """The occurrence whose thread this is; falls back to the outbox when the post was confirmed late."""
    store = ctx.store
    occ = store.occurrence_by_thread(workspace, thread)
    if occ is not None:
        return occ
    for r in store.list_retros(workspace):
        for o in store.occurrences(r.workspace, r.name):
            if o.status != "planned" and o.thread_id is None:
                posted = ctx.app.outbox.sent(thread_key(r, o.day))
                if posted is not None:
                    o = replace(o, thread_id=posted.message_id)
                    store.save_occurrence(o)
                    if posted.message_id == thread:
                        return o
    return None


def open_occurrence_for(ctx: RetroContext, workspace: str, member: Member | None,
                        name: str | None = None) -> tuple[Retro, Occurrence] | None:
    """The retro round currently open (for this member, by name if given), newest first."""
    found: list[tuple[Retro, Occurrence]] = []
    for r in ctx.store.list_retros(workspace):
        if (name and r.name != name) or (member is not None and not r.includes(member) and not name):
            continue
        found.extend((r, o) for o in ctx.store.occurrences(workspace, r.name) if o.status == "open")
    found.sort(key=lambda ro: ro[1].opens_at, reverse=True)
    return found[0] if found else None


# --- opening and closing -----------------------------------------------------------------------
async def open_round(ctx: RetroContext, r: Retro, occ: Occurrence) -> Occurrence:
    if occ.status == "closed":
        return occ
    occ = publish(ctx, r, occ)
    posted = await ctx.app.outbox.post(thread_key(r, occ.day), r.workspace, r.channel,
                                       await open_message(ctx, r, occ))
    occ = replace(occ, status="open", thread_id=posted.message_id if posted else occ.thread_id)
    ctx.store.save_occurrence(occ)
    return occ


async def close_round(ctx: RetroContext, r: Retro, occ: Occurrence) -> Occurrence:
    if occ.status == "closed":
        return occ
    if occ.status == "planned":
        occ = await open_round(ctx, r, occ)
    summary = summary_message(ctx, r, occ)
    await ctx.app.outbox.post(key(r, occ.day, "summary"), r.workspace, r.channel, summary,
                              thread_key=thread_key(r, occ.day))
    await ctx.app.outbox.post(key(r, occ.day, "summary", "channel"), r.workspace, r.channel, summary)
    occ = replace(occ, status="closed")
    ctx.store.save_occurrence(occ)
    return occ


# --- items and votes ---------------------------------------------------------------------------
async def add_item(ctx: RetroContext, r: Retro, occ: Occurrence, category: str, text: str, author: Member | None,
                   message_id: str | None = None) -> Item:
    """Store an item; one that is not already a thread message (anonymous, or from a command) is posted."""
    item = ctx.store.add_item(Item(r.workspace, r.name, occ.day, category, text,
                                   author.id if author else None, message_id=message_id))
    if message_id is None:
        posted = await ctx.app.outbox.post(key(r, occ.day, "item", item.number), r.workspace, r.channel,
                                           item_message(r, item, author), thread_key=thread_key(r, occ.day))
        if posted is not None:
            ctx.store.set_item_message(item.id, posted.message_id)
    return item


def cast_vote(ctx: RetroContext, r: Retro, occ: Occurrence, item: Item, voter: Member) -> str:
    store = ctx.store
    if occ.status != "open":
        return f"Voting on {r.name} has closed."
    if store.votes_cast(r.workspace, r.name, occ.day, voter.id) >= r.max_votes:
        return f"You have used all {r.max_votes} of your votes in this retro."
    if not store.vote(item, voter.id):
        return f"You already voted for #{item.number}: one vote per person per item."
    left = r.max_votes - store.votes_cast(r.workspace, r.name, occ.day, voter.id)
    return f"Your vote for #{item.number} counts ({left} left)."


async def add_anonymous(ctx: RetroContext, workspace: str, member: Member, text: str, name: str | None = None) -> str:
    """Post an item with no author. Nothing about the writer is stored, logged or sent with it."""
    found = open_occurrence_for(ctx, workspace, member, name)
    if found is None:
        return "No retro is open right now; anonymous items are taken while a retro's thread is open."
    r, occ = found
    category, body = category_of(text)
    if category is None:
        return ("Start it with a category so nobody has to ask you later: 🟢 or well:, 🔴 or improve:, "
                "💡 or idea:, 🙌 or kudos: — e.g. `anon: improve: deploys take too long`.")
    if not body:
        return "That item was empty, so nothing was posted."
    # A repeated delivery of the same DM must not post twice; matching on the text keeps nothing about the writer.
    if any(i.category == category and i.text.casefold() == body.casefold()
           for i in ctx.store.items(r.workspace, r.name, occ.day)):
        return f"That item is already in the {r.name} thread."
    await add_item(ctx, r, occ, category, body, None)
    return f"Posted anonymously in the {r.name} thread. Your name is not stored with it."


# --- action items ------------------------------------------------------------------------------
def sentence(err: Exception) -> str:
    """A refusal's reason ending in one full stop, whatever punctuation it came with."""
    text = str(err)
    return text if text.endswith((".", "?", "!")) else f"{text}."


def _due_date(text: str, today: date) -> date:
    word = text.strip().lower()
    if word == "tomorrow":
        return today + timedelta(days=1)
    if word[:3] in WEEKDAYS and len(word) >= 3:
        ahead = (WEEKDAYS.index(word[:3]) - today.weekday()) % 7 or 7
        return today + timedelta(days=ahead)
    return parse_date(word)


def parse_action(ctx: RetroContext, workspace: str, text: str) -> tuple[Member, str, date | None]:
    """``@owner what needs doing by 2027-01-22`` → owner, text, due date; a ``ValueError`` says what is wrong.

    The owner is whoever ``@owner`` names the ways people write it (id, name, first name,
    email, an account id the team file lists).
    """
    words = text.strip().split(maxsplit=1)
    if not words:
        raise ValueError("name an owner and what they will do")
    owner = People(ctx.app.store.list_members(workspace)).find(words[0])
    if isinstance(owner, PersonNotFound):
        raise ValueError(owner.reason)
    rest = words[1] if len(words) > 1 else ""
    due: date | None = None
    match = re.match(r"^(?P<what>.*\S)\s+by\s+(?P<when>\S+)\s*$", rest, re.DOTALL)
    if match:
        try:
            due = _due_date(match.group("when"), local_date(ctx.app.now(), owner.tz))
        except TimeInputError:
            raise ValueError(f"`{match.group('when')}` is not a date; write it as YYYY-MM-DD") from None
        rest = match.group("what")
        if due < local_date(ctx.app.now(), owner.tz):
            raise ValueError(f"{due.isoformat()} is in the past")
    if not rest.strip():
        raise ValueError("say what the owner will do")
    return owner, rest.strip(), due


async def add_action(ctx: RetroContext, r: Retro, occ: Occurrence, owner: Member, text: str,
                     due: date | None) -> ActionItem:
    action = ctx.store.add_action(ActionItem(r.workspace, r.name, occ.day, owner.id, text, due))
    message = Message.text("📌 Action ", *action_line(ctx, action))
    await ctx.app.outbox.post(key(r, occ.day, "action", action.id), r.workspace, r.channel, message,
                              thread_key=thread_key(r, occ.day))
    ctx.app.engine.replan()  # its reminder may fall inside the window already planned
    return action


# --- scheduled work ----------------------------------------------------------------------------
def _claimed(ctx: RetroContext, item: ClaimedItem) -> tuple[Retro, Occurrence] | None:
    return find_round(ctx, item.workspace, item.payload["retro"], item.payload["day"])


async def on_open(ctx: RetroContext, item: ClaimedItem) -> None:
    found = _claimed(ctx, item)
    if found and found[1].status == "planned":
        await open_round(ctx, *found)


async def on_close(ctx: RetroContext, item: ClaimedItem) -> None:
    found = _claimed(ctx, item)
    if found:
        await close_round(ctx, *found)


async def on_remind(ctx: RetroContext, item: ClaimedItem) -> None:
    found = _claimed(ctx, item)
    member = ctx.app.store.get_member(item.workspace, item.payload["member"])
    if not found or member is None or found[1].status == "closed" or not found[0].includes(member):
        return
    r, occ = found
    await ctx.app.outbox.dm(f"{item.key}:dm", r.workspace, member.id,
                            reminder_message(ctx, r, occ, member, item.payload["ahead"]))


async def on_action_remind(ctx: RetroContext, item: ClaimedItem) -> None:
    action = ctx.store.get_action(item.workspace, int(item.payload["action"]))
    if action is None or action.status != "open" or action.due is None:
        return
    owner = ctx.app.store.get_member(item.workspace, action.owner)
    if owner is None:
        return
    await ctx.app.outbox.dm(f"{item.key}:dm", item.workspace, owner.id, action_due_message(owner, action))


async def on_replanned(ctx: RetroContext, item: ClaimedItem) -> None:
    """Tell the channel what a re-plan moved, and each person whose local time changed, by DM."""
    r = ctx.store.get_retro(item.workspace, item.payload["retro"])
    if r is None:
        return
    notices = ctx.app.store.kv_get(r.workspace, notices_key(r)) or []
    notice = next((n for n in notices if n["id"] == item.payload["notice"]), None)
    if notice is None:
        return
    members = {m.id: m for m in ctx.app.store.list_members(r.workspace)}
    names = {mid: m.name or mid for mid, m in members.items()}
    if notice["slots"]:  # a zone change that moved no slot concerns only the person who moved
        await ctx.app.outbox.post(f"{item.key}:channel", r.workspace, r.channel,
                                  replan_channel_message(r, notice, names))
    for mid, lines in notice["people"].items():
        if mid in members:
            await ctx.app.outbox.dm(f"{item.key}:dm:{mid}", r.workspace, mid,
                                    replan_dm(r, members[mid], lines, notice["why"]))
