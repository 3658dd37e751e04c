"""The life of one retro round: opened, filled with items, votes and action items, closed.

Each occurrence runs the same thread flow, with or without a meeting:

* **before**: members are DM'd a day ahead (24 h before, or in their last working hours
  before the meeting's day when that is outside them) and 15 min before the start, in
  their own local time, with a calendar file; a member away for the occurrence is not;
* **open** (``thread_lead`` ahead, 48 h by default; at once when that passed while nothing ran): a thread with the prompts, the
  previous rounds' open action items and, where a sprint-numbers source is connected,
  the sprint in numbers;
* **collect**: items, anonymous items and votes (``bot.retros.chat`` turns thread
  replies, DMs, reactions and buttons into the calls here; ``bot.retros.commands`` does
  the same for ``/retro``). Vote counts stay hidden until the close; anonymous items wait
  (in the store, not in memory) for the thread's next hour mark and are released together,
  so the moment one appears does not point to its writer;
* **close** (the meeting's end, async ``closes``, or ``/retro close`` by an admin or the
  round's facilitator): the summary, once, in the channel (a round with nothing in it is one
  line in its thread); ``action: @owner what by DATE`` lines become action items whose
  owners get a DM the day before they are due. A round closed before its meeting keeps
  the meeting and its reminders.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta

from bot.kernel import quiet
from bot.kernel.dates import DateInputError, looks_like_date, parse_day
from bot.kernel.domain import Member
from bot.kernel.members import People, PersonNotFound
from bot.kernel.messages import Message
from bot.kernel.ports import ClaimedItem, DueItem
from bot.kernel.timekeeping import local_date
from bot.retros import rotation
from bot.retros.context import RetroContext, fmt_local, key, notices_key, thread_key
from bot.retros.messages import (
    absence_message,
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
from bot.retros.plan import SKIPPED, best_other_day, is_coming, mostly_away, participants, publish
from bot.retros.presence import is_absent, why_away

RELEASE_EVERY = timedelta(hours=1)
"""Anonymous items wait for the thread's next mark of this length (counted from its opening) and go out together."""


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


# --- who runs a round ----------------------------------------------------------------------------
def facilitator_of(ctx: RetroContext, r: Retro, occ: Occurrence) -> Member | None:
    """The team file's ``facilitator``, else the members in turn (by id), one per round of the series; whoever's
    turn falls on a meeting they are away from passes it to the next member present."""
    members = participants(ctx, r)
    if r.facilitator is not None:
        return next((m for m in members if m.id == r.facilitator), None)
    if not members:
        return None
    index = 0
    if r.starts is not None and r.every is not None:
        index = max(0, (occ.day - r.starts).days // rotation.parse_every(r.every).days)
    turn = [members[(index + k) % len(members)] for k in range(len(members))]
    return next((m for m in turn if not is_absent(m, occ)), turn[0])


def may_run(ctx: RetroContext, r: Retro, occ: Occurrence, member: Member) -> bool:
    """Opening and closing a round is for workspace admins and the round's facilitator."""
    facilitator = facilitator_of(ctx, r, occ)
    return member.is_admin or (facilitator is not None and facilitator.id == member.id)


def refusal(ctx: RetroContext, r: Retro, occ: Occurrence, doing: str) -> str:
    facilitator = facilitator_of(ctx, r, occ)
    who = f"this round's facilitator ({facilitator.name})" if facilitator else "this round's facilitator"
    return f"Only workspace admins or {who} can {doing} {r.name}."


def kept_meeting(ctx: RetroContext, r: Retro) -> Occurrence | None:
    """A round closed before its meeting whose meeting is still to come (it stays on, with its reminders)."""
    now = ctx.app.now()
    return next((o for o in ctx.store.occurrences(r.workspace, r.name)
                 if o.status == "closed" and o.start is not None and o.start > now), None)


def closes_early(ctx: RetroContext, occ: Occurrence) -> bool:
    """Closing now would come before the meeting starts (or, without a meeting, before the planned close)."""
    return ctx.app.now() < (occ.start if occ.start is not None else occ.end)


# --- opening and closing -----------------------------------------------------------------------
async def open_round(ctx: RetroContext, r: Retro, occ: Occurrence) -> Occurrence:
    if occ.status == "closed":
        return occ
    occ = publish(ctx, r, occ)
    posted = await ctx.app.outbox.post(thread_key(r, occ.day), r.workspace, r.channel,
                                       await open_message(ctx, r, occ, facilitator_of(ctx, r, occ)))
    occ = replace(occ, status="open", thread_id=posted.message_id if posted else occ.thread_id)
    ctx.store.save_occurrence(occ)
    return occ


async def close_round(ctx: RetroContext, r: Retro, occ: Occurrence) -> Occurrence:
    if occ.status == "closed":
        return occ
    if occ.status == "planned":
        occ = await open_round(ctx, r, occ)
    await release_anonymous(ctx, r, occ)
    summary = summary_message(ctx, r, occ)
    if summary is None:  # nothing to report: one line where the round happened, nothing in the channel
        await ctx.app.outbox.post(key(r, occ.day, "summary"), r.workspace, r.channel,
                                  Message.text(f"🧾 {r.name} closed with no items and no action items."),
                                  thread_key=thread_key(r, occ.day))
    else:
        await ctx.app.outbox.post(key(r, occ.day, "summary", "channel"), r.workspace, r.channel, summary)
    occ = replace(occ, status="closed")
    ctx.store.save_occurrence(occ)
    return occ


async def close_now(ctx: RetroContext, r: Retro, occ: Occurrence, tz: str) -> str:
    """Close a round someone asked to close (its permission and confirmation checked) and say what happened."""
    early = closes_early(ctx, occ)
    await close_round(ctx, r, occ)
    done = f"Closed {r.name}: the summary is in {r.channel}."
    if early and occ.start is not None:
        done += f" The meeting ({fmt_local(occ.start, tz)} your time) stays on; reminders still go out."
    return done


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


def take_back_vote(ctx: RetroContext, r: Retro, occ: Occurrence, item: Item, voter: Member) -> str:
    store = ctx.store
    if occ.status != "open":
        return f"Voting on {r.name} has closed."
    if not store.unvote(item, voter.id):
        return f"You have not voted for #{item.number}, so there is no vote to take back."
    left = r.max_votes - store.votes_cast(r.workspace, r.name, occ.day, voter.id)
    return f"Took back your vote for #{item.number} ({left} left)."


def _pending_key(r: Retro, day: date) -> str:
    return f"retro:{r.name}:{day.isoformat()}:anonymous"


def pending_anonymous(ctx: RetroContext, r: Retro, day: date) -> list[dict[str, str]]:
    """Anonymous items written but not yet released: category and text, nothing about the writer."""
    state = ctx.app.store.kv_get(r.workspace, _pending_key(r, day)) or {}
    return list(state.get("items", []))


def next_release(occ: Occurrence, now: datetime) -> datetime:
    """The thread's next hour mark after ``now``, counted from when the thread was due to open."""
    return occ.opens_at + RELEASE_EVERY * ((now - occ.opens_at) // RELEASE_EVERY + 1)


async def add_anonymous(ctx: RetroContext, workspace: str, member: Member, text: str, name: str | None = None) -> str:
    """Take an item with no author, to be posted with the next batch. Nothing about the writer is stored,
    logged or sent with it, and the batch hides when it was written."""
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
    pending = pending_anonymous(ctx, r, occ.day)
    # A repeated delivery of the same DM must not post twice; matching on the text keeps nothing about the writer.
    if any(i.category == category and i.text.casefold() == body.casefold()
           for i in ctx.store.items(r.workspace, r.name, occ.day)) or \
            any(p["category"] == category and p["text"].casefold() == body.casefold() for p in pending):
        return f"That item is already in the {r.name} thread (or waiting to go in)."
    ctx.app.store.kv_set(r.workspace, _pending_key(r, occ.day),
                         {"items": [*pending, {"category": category, "text": body}]})
    ctx.app.engine.replan()  # the release at the next hour mark may fall inside the window already planned
    release = next_release(occ, ctx.app.now())
    when = (f"at {fmt_local(release, member.tz)}" if release < occ.end
            else "when the retro closes")
    return (f"Taken anonymously. It goes into the {r.name} thread {when}, together with any other anonymous "
            "items, so when you sent it does not point to you. Your name is not stored with it.")


async def release_anonymous(ctx: RetroContext, r: Retro, occ: Occurrence) -> int:
    """Post the waiting anonymous items in an order that says nothing about who wrote first; each is posted
    once even when a release is run again after a crash."""
    pending = pending_anonymous(ctx, r, occ.day)
    if not pending:
        return 0
    posted = {(i.category, i.text.casefold()) for i in ctx.store.items(r.workspace, r.name, occ.day)}
    released = 0
    for entry in sorted(pending, key=lambda p: (p["category"], p["text"].casefold())):
        if (entry["category"], entry["text"].casefold()) in posted:
            continue
        await add_item(ctx, r, occ, entry["category"], entry["text"], None)
        released += 1
    # Items that came in while this batch was being posted wait for the next one.
    done = {(p["category"], p["text"]) for p in pending}
    waiting = [p for p in pending_anonymous(ctx, r, occ.day) if (p["category"], p["text"]) not in done]
    if waiting:
        ctx.app.store.kv_set(r.workspace, _pending_key(r, occ.day), {"items": waiting})
        ctx.app.engine.replan()
    else:
        ctx.app.store.kv_delete(r.workspace, _pending_key(r, occ.day))
    return released


def plan_releases(ctx: RetroContext, start: datetime, end: datetime) -> list[DueItem]:
    """A release at the next hour mark of every open round that has anonymous items waiting."""
    now = ctx.app.now()
    items: list[DueItem] = []
    for r in ctx.store.list_retros():
        for occ in ctx.store.occurrences(r.workspace, r.name):
            if occ.status != "open" or not pending_anonymous(ctx, r, occ.day):
                continue
            at = next_release(occ, now)
            if at < occ.end and start <= at < end:
                items.append(DueItem(key(r, occ.day, "release", at.strftime("%Y%m%dT%H%MZ")), "retro.release",
                                     r.workspace, at, {"retro": r.name, "day": occ.day.isoformat()}))
    return items


# --- action items ------------------------------------------------------------------------------
def sentence(err: Exception) -> str:
    """A refusal's reason as a sentence: a capital first, one full stop at the end, whatever it came with."""
    text = str(err)
    text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "?", "!")) else f"{text}."


def _due(text: str, today: date) -> tuple[str, date | None]:
    """Split ``what needs doing by next friday`` into the text and the due date. The words after the last ``by``
    are a due date when they read as one, an error when they look like a date that cannot be read, and part
    of the text otherwise (``cut review time by half``)."""
    what, sep, when = f" {text}".rpartition(" by ")
    when = when.strip().rstrip(".")
    if not sep or not when:
        return text, None
    try:
        return what, parse_day(when, today)
    except DateInputError as err:
        if looks_like_date(when):
            raise ValueError(str(err)) from None
        return text, None


def parse_action(ctx: RetroContext, workspace: str, text: str,
                 speaker: Member | None = None) -> tuple[Member, str, date | None]:
    """``@owner what needs doing by next friday`` → owner, text, due date; a ``ValueError`` says what is wrong.

    The owner is whoever ``@owner`` names the ways people write it (id, name, first name,
    email, an account id the team file lists). The date is read in the speaker's zone (the
    owner's when nobody in particular speaks, as for a form).
    """
    words = text.strip().split(maxsplit=1)
    if not words:
        raise ValueError("name an owner and what they will do")
    owner = People(ctx.app.store.list_members(workspace)).find(words[0])
    if isinstance(owner, PersonNotFound):
        raise ValueError(owner.reason)
    rest = words[1] if len(words) > 1 else ""
    today = local_date(ctx.app.now(), (speaker or owner).tz)
    rest, due = _due(rest, today)
    if due is not None and due < today:
        raise ValueError(f"{due.isoformat()} is in the past")
    if not rest.strip():
        raise ValueError("say what the owner will do")
    return owner, rest.strip(), due


async def add_action(ctx: RetroContext, r: Retro, occ: Occurrence, owner: Member, text: str,
                     due: date | None, by: Member | None = None) -> ActionItem:
    action = ctx.store.add_action(ActionItem(r.workspace, r.name, occ.day, owner.id, text, due,
                                             created_by=by.id if by else None))
    message = Message.text("📌 Action ", *action_line(ctx, action))
    await ctx.app.outbox.post(key(r, occ.day, "action", action.id), r.workspace, r.channel, message,
                              thread_key=thread_key(r, occ.day))
    ctx.app.engine.replan()  # its reminder may fall inside the window already planned
    return action


# --- calling one meeting off ---------------------------------------------------------------------
def meeting_on(ctx: RetroContext, r: Retro, day: date, tz: str) -> Occurrence | None:
    """The meeting of ``r`` on ``day``: the date it falls on in ``tz`` (the speaker's), else its UTC date."""
    occs = [o for o in ctx.store.occurrences(r.workspace, r.name) if o.start is not None]
    return next((o for o in occs if o.start is not None and local_date(o.start, tz) == day),
                next((o for o in occs if o.day == day), None))


async def skip_meeting(ctx: RetroContext, r: Retro, occ: Occurrence, by: Member) -> str:
    """Call one coming meeting off: its slot and date stay (nothing else moves), its pending thread, reminders
    and notes are dropped, nobody carries burden for it, and the channel is told. Refused once its thread is
    open or its meeting has begun; saying it twice is harmless."""
    assert occ.start is not None
    when = fmt_local(occ.start, by.tz)
    if occ.status == SKIPPED:
        return f"The {r.name} meeting on {when} is already skipped."
    if occ.status != "planned" or occ.start <= ctx.app.now():
        raise ValueError(f"the {r.name} meeting on {when} has begun (its thread is open or the meeting is under way), "
                         "so it cannot be skipped now")
    ctx.store.save_occurrence(replace(occ, status=SKIPPED))
    ctx.app.store.cancel_pending(r.workspace, key(r, occ.day, ""))
    await _tell_channel(ctx, r, occ, "skipped", f"is skipped ({by.name or by.id} called it off). Nobody is "
                        "reminded of it and it costs nobody anything in the rotation.")
    ctx.app.engine.replan()
    return f"Skipped the {r.name} meeting on {when} (your time); {r.channel} is told."


async def unskip_meeting(ctx: RetroContext, r: Retro, occ: Occurrence, by: Member) -> str:
    """Hold a skipped meeting after all, at the slot it had, with its reminders planned again."""
    assert occ.start is not None
    when = fmt_local(occ.start, by.tz)
    if occ.status != SKIPPED:
        return f"The {r.name} meeting on {when} is not skipped."
    if occ.start <= ctx.app.now():
        raise ValueError(f"the {r.name} meeting on {when} is over")
    ctx.store.save_occurrence(replace(occ, status="planned"))
    await _tell_channel(ctx, r, occ, "unskipped", f"is on again ({by.name or by.id}), at the slot it had.")
    ctx.app.engine.replan()
    return f"The {r.name} meeting on {when} (your time) is on again; {r.channel} is told."


async def _tell_channel(ctx: RetroContext, r: Retro, occ: Occurrence, what: str, text: str) -> None:
    assert occ.start is not None
    coming = [o for o in ctx.store.occurrences(r.workspace, r.name)
              if o.day > occ.day and o.start is not None and is_coming(o, ctx.app.now())]
    nxt = f" The next one: {fmt_local(coming[0].start, 'UTC')}." if coming and coming[0].start else ""
    now = ctx.app.now()
    await ctx.app.outbox.post(key(r, occ.day, what, f"{now:%Y%m%dT%H%M%S}"), r.workspace, r.channel,
                              Message.text(f"🔁 The {r.name} meeting on {fmt_local(occ.start, 'UTC')} {text}{nxt}"))


# --- scheduled work ----------------------------------------------------------------------------
def _claimed(ctx: RetroContext, item: ClaimedItem) -> tuple[Retro, Occurrence] | None:
    return find_round(ctx, item.workspace, item.payload["retro"], item.payload["day"])


async def on_open(ctx: RetroContext, item: ClaimedItem) -> None:
    found = _claimed(ctx, item)
    if found and found[1].status == "planned":
        await open_round(ctx, *found)


async def on_close(ctx: RetroContext, item: ClaimedItem) -> None:
    found = _claimed(ctx, item)
    if found and found[1].status != SKIPPED:
        await close_round(ctx, *found)


async def on_release(ctx: RetroContext, item: ClaimedItem) -> None:
    found = _claimed(ctx, item)
    if found and found[1].status == "open":
        await release_anonymous(ctx, *found)


async def on_remind(ctx: RetroContext, item: ClaimedItem) -> None:
    found = _claimed(ctx, item)
    member = ctx.app.store.get_member(item.workspace, item.payload["member"])
    # A round closed before its meeting keeps the meeting: its reminders still go out. Someone who marked the
    # day off after the reminder was scheduled is not coming, so is not reminded.
    if not found or member is None or not found[0].includes(member) or found[1].end <= ctx.app.now() \
            or found[1].status == SKIPPED or is_absent(member, found[1]):
        return
    r, occ = found
    await ctx.app.outbox.dm(f"{item.key}:dm", r.workspace, member.id,
                            reminder_message(ctx, r, occ, member, item.payload["ahead"], item.due_at))


async def on_absences(ctx: RetroContext, item: ClaimedItem) -> None:
    """Tell each admin that more than half the members are away from a coming meeting, with a suggestion.

    Checked again now: time off taken back since it was scheduled means there is nothing to say."""
    found = _claimed(ctx, item)
    if not found:
        return
    r, occ = found
    members = participants(ctx, r)
    if occ.start is None or occ.status != "planned" or occ.start <= ctx.app.now() or not mostly_away(members, occ):
        return
    away = [(m, why_away(m, local_date(occ.start, m.tz))) for m in members if is_absent(m, occ)]
    other = best_other_day(ctx, r, occ)
    for admin in (m for m in ctx.app.store.list_members(r.workspace) if m.is_admin):
        await quiet.notify(ctx.app, f"{item.key}:dm:{admin.id}", r.workspace, admin,
                           absence_message(r, occ, admin, away, len(members), other))


async def on_action_remind(ctx: RetroContext, item: ClaimedItem) -> None:
    action = ctx.store.get_action(item.workspace, int(item.payload["action"]))
    if action is None or action.status != "open" or action.due is None:
        return
    owner = ctx.app.store.get_member(item.workspace, action.owner)
    if owner is None:
        return
    await quiet.notify(ctx.app, f"{item.key}:dm", item.workspace, owner, action_due_message(owner, action))


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
        if mid in members:  # a re-plan is news, not a reminder: it waits for the person's working hours
            await quiet.notify(ctx.app, f"{item.key}:dm:{mid}", r.workspace, members[mid],
                               replan_dm(r, members[mid], lines, notice["why"]))
