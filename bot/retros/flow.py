"""Retrospectives in threads, on slots that rotate fairly across time zones.

A retro with a meeting repeats (``every: 2w``); the fair rotation (``bot.retros.rotation``)
chooses each occurrence's start so that early, late and night meetings are shared. The
plan is rolling: the next ``PLAN_AHEAD`` occurrences are planned again whenever the team
or the settings change, and an occurrence is *published* — fixed, and its cost written
to the burden history — once its first reminder or its thread falls inside the
scheduler's window. A member who joins starts at the current lowest burden.

Each occurrence runs the same thread flow, with or without a meeting:

* **before**: members are DM'd 24 h and 15 min before the start, in their own local
  time, with a calendar file;
* **open** (``open_before`` ahead, 48 h by default): a thread with the prompts, the
  previous rounds' open action items and, where a digests service offers it, the sprint
  in numbers;
* **collect**: thread replies that start with 🟢 🔴 💡 🙌 or ``well:`` ``improve:``
  ``idea:`` ``kudos:`` become items; other replies of a few words get a private
  question (a button per category) and stay chatter unless the writer picks one;
  anonymous items come by DM (``anon: …``) or ``/retro add --anon`` and are posted with
  no author, which is stored nowhere; votes by 👍, a button or ``/retro vote N``;
* **close** (the meeting's end, async ``closes``, or ``/retro close``): a summary in the
  thread and the channel; ``action: @owner what by DATE`` lines become action items
  whose owners get a DM the day before they are due.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections import defaultdict
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot.kernel.commands import CommandError, CommandFamily, Invocation, Reply, Subcommand
from bot.kernel.domain import WEEKDAYS, Member
from bot.kernel.messages import (
    Actions,
    Attachment,
    Block,
    Button,
    Context,
    Divider,
    Form,
    FormInput,
    Header,
    Inline,
    Mention,
    Message,
    Section,
    Strong,
    rich,
    truncate_user_text,
)
from bot.kernel.ports import ClaimedItem, DueItem
from bot.kernel.teamfile import TeamFile, register_section
from bot.kernel.timekeeping import TimeInputError, at_local, local_date, parse_date
from bot.retros import rotation
from bot.retros.calendar import CalendarEvent, calendar, event_uid
from bot.retros.config import parse_retros, validate
from bot.retros.model import (
    CATEGORIES,
    ActionItem,
    BurdenEntry,
    Item,
    Occurrence,
    Retro,
    RetroStore,
    category_of,
)

if TYPE_CHECKING:
    from bot.kernel.app import Action, IncomingMessage, Meridian, Reaction

__all__ = ["Retro", "RetroStore", "ensure_plan", "install", "plan_retros"]

log = logging.getLogger("meridian.retros")

PLAN_AHEAD = 6
"""How many occurrences ahead the rotation plans (and ``/retro schedule`` shows)."""
REMINDERS: tuple[tuple[str, timedelta], ...] = (("24h", timedelta(hours=24)), ("15m", timedelta(minutes=15)))
ASK_MIN_WORDS = 3
"""Unprefixed thread replies shorter than this are chatter, left alone without a question."""
THUMBS = {"👍", "+1", "thumbsup", "thumbs_up", "👍🏻", "👍🏼", "👍🏽", "👍🏾", "👍🏿"}
ANON = re.compile(r"^\s*anon(?:ymous)?\s*:\s*(?P<rest>.*)$", re.IGNORECASE | re.DOTALL)
ACTION = re.compile(r"^\s*action\s*:\s*(?P<rest>.+)$", re.IGNORECASE | re.DOTALL)
SERVICE = "retro_store"


def _store(app: Meridian) -> RetroStore:
    store: RetroStore = app.services[SERVICE]
    return store


# --- keys: what, for whom, which occurrence (DESIGN §8) --------------------------------------
def _key(r: Retro | Occurrence, *parts: object) -> str:
    name = r.name if isinstance(r, Retro) else r.retro
    return ":".join(["retro", r.workspace, name, *(str(p) for p in parts)])


def thread_key(r: Retro, day: date) -> str:
    return _key(r, day, "thread")


def _plan_state_key(r: Retro) -> str:
    return f"retro:{r.name}:plan"


def fmt_local(instant: datetime, tz: str) -> str:
    local = instant.astimezone(Member("", "", "", tz=tz).zone)
    return f"{local:%a} {local.day} {local:%b %H:%M} {local.tzname()}"


def fmt_day(day: date) -> str:
    return f"{day:%a} {day.day} {day:%b %Y}"


# --- people ------------------------------------------------------------------------------------
def participants(app: Meridian, r: Retro) -> list[Member]:
    return [m for m in app.store.list_members(r.workspace) if r.includes(m)]


def _rotation_member(m: Member, burden: float) -> rotation.Member:
    return rotation.Member(m.id, m.tz, hours=(m.hours.start, m.hours.end),
                           workdays=frozenset(WEEKDAYS.index(d) for d in m.workdays if d in WEEKDAYS),
                           burden=max(0.0, burden))


def _early_late(m: Member, start: datetime) -> tuple[bool, bool]:
    local = start.astimezone(m.zone)
    minute = local.hour * 60 + local.minute
    return minute < rotation.EARLY_BEFORE_MINUTE, minute >= rotation.LATE_FROM_MINUTE


# --- the rolling plan --------------------------------------------------------------------------
def _fingerprint(r: Retro, members: list[Member], fixed: dict[date, datetime], days: list[date]) -> str:
    data = {
        "retro": [r.every, r.duration, r.starts.isoformat() if r.starts else None, r.candidates, r.night_cap,
                  int(r.open_before.total_seconds())],
        "members": [[m.id, m.tz, str(m.hours), sorted(m.workdays)] for m in members],
        "fixed": sorted((d.isoformat(), s.isoformat()) for d, s in fixed.items()),
        "days": [d.isoformat() for d in days],
    }
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:24]


def _window_days(r: Retro, existing: dict[date, Occurrence], now: datetime) -> list[date]:
    """The occurrences still to come (and any published one not yet closed), ``PLAN_AHEAD`` in all."""
    assert r.starts is not None and r.every is not None
    every = rotation.parse_every(r.every)
    days: list[date] = []
    i = 0
    while len(days) < PLAN_AHEAD and i < 5000:
        day = r.starts + every * i
        i += 1
        occ = existing.get(day)
        if occ is not None and occ.published:
            if occ.status != "closed" or occ.end >= now:
                days.append(day)
        elif day >= now.date():
            days.append(day)
    return days


def _carried(app: Meridian, r: Retro, members: list[Member], days: list[date]) -> dict[str, float]:
    """Each member's burden before the window; newcomers are given the current lowest, once."""
    store = _store(app)
    history = store.burden_history(r.workspace, r.name)
    carried: dict[str, float] = defaultdict(float)
    for e in history:
        if e.kind == "start" or e.day not in days:
            carried[e.member] += e.penalty
    known = {e.member for e in history}
    if known:
        current: dict[str, float] = defaultdict(float)  # everything published so far, this window included
        for e in history:
            current[e.member] += e.penalty
        start = rotation.starting_burden_for_newcomer({m.id: current[m.id] for m in members if m.id in known})
        newcomers = [BurdenEntry(r.workspace, r.name, m.id, app.now().date(), "start", start)
                     for m in members if m.id not in known]
        store.add_burden(newcomers)
        for e in newcomers:
            carried[e.member] += e.penalty
    return carried


def ensure_plan(app: Meridian, r: Retro) -> list[Occurrence]:
    """The coming occurrences, planned again first when the team, the settings or what is published changed."""
    store = _store(app)
    now = app.now()
    if r.is_async:
        assert r.opens is not None and r.closes is not None
        day = r.opens.date()
        occ = store.get_occurrence(r.workspace, r.name, day)
        if occ is None or (occ.status == "planned" and (occ.opens_at, occ.end) != (r.opens, r.closes)):
            occ = Occurrence(r.workspace, r.name, day, None, r.closes, r.opens, published=True,
                             status=occ.status if occ else "planned", thread_id=occ.thread_id if occ else None)
            store.save_occurrence(occ)
        return [occ]
    members = participants(app, r)
    existing = {o.day: o for o in store.occurrences(r.workspace, r.name)}
    days = _window_days(r, existing, now)
    fixed = {d: existing[d].start for d in days if d in existing and existing[d].published and existing[d].start}
    fixed_starts = {d: s for d, s in fixed.items() if s is not None}
    fingerprint = _fingerprint(r, members, fixed_starts, days)
    state = app.store.kv_get(r.workspace, _plan_state_key(r)) or {}
    if state.get("fingerprint") == fingerprint and all(d in existing for d in days):
        return [existing[d] for d in days]
    if not members:
        return [existing[d] for d in days if d in existing]
    carried = _carried(app, r, members, days)
    duration = rotation.parse_duration(r.duration)
    try:
        plan = rotation.plan_rotation([_rotation_member(m, carried[m.id]) for m in members], days, duration,
                                      candidates=list(r.candidates) if r.candidates else None,
                                      fixed=fixed_starts, night_cap=r.night_cap)
    except rotation.RotationError as err:
        log.warning("retro %s in %s cannot be planned: %s", r.name, r.workspace, err)
        return [existing[d] for d in days if d in existing]
    store.delete_unpublished(r.workspace, r.name)
    out: list[Occurrence] = []
    for day, planned in zip(days, plan.occurrences, strict=True):
        if day in fixed_starts:
            out.append(existing[day])
            continue
        occ = Occurrence(r.workspace, r.name, day, planned.start_utc, planned.start_utc + duration,
                         planned.start_utc - r.open_before, penalty={k: round(v, 3) for k, v in planned.penalty.items()},
                         night=tuple(sorted(planned.night)))
        store.save_occurrence(occ)
        out.append(occ)
    app.store.kv_set(r.workspace, _plan_state_key(r), {"fingerprint": fingerprint, "notes": plan.notes,
                                                       "night_cap_met": plan.night_cap_met})
    return out


def publish(app: Meridian, r: Retro, occ: Occurrence) -> Occurrence:
    """Fix an occurrence's start and write what it costs each member into the burden history."""
    if occ.published:
        return occ
    occ = replace(occ, published=True)
    _store(app).save_occurrence(occ)
    if occ.start is not None:
        entries = []
        for m in participants(app, r):
            early, late = _early_late(m, occ.start)
            entries.append(BurdenEntry(r.workspace, r.name, m.id, occ.day, "meeting", occ.penalty.get(m.id, 0.0),
                                       early, late, m.id in occ.night))
        _store(app).add_burden(entries)
    return occ


def _events(r: Retro, occ: Occurrence, members: list[Member]) -> list[DueItem]:
    payload = {"retro": r.name, "day": occ.day.isoformat()}
    items = [DueItem(_key(r, occ.day, "open"), "retro.open", r.workspace, occ.opens_at, payload)]
    if occ.start is not None:
        for m in members:
            for tag, ahead in REMINDERS:
                items.append(DueItem(_key(r, occ.day, f"remind{tag}", m.id), "retro.remind", r.workspace,
                                     occ.start - ahead, {**payload, "member": m.id, "ahead": tag}))
    items.append(DueItem(_key(r, occ.day, "close"), "retro.close", r.workspace, occ.end, payload))
    return items


def plan_retros(app: Meridian, start: datetime, end: datetime) -> list[DueItem]:
    """Every open, reminder, close and action reminder of every retro that falls in [start, end)."""
    if SERVICE not in app.services:
        return []
    store = _store(app)
    items: list[DueItem] = []
    for r in store.list_retros():
        members = participants(app, r)
        for occ in ensure_plan(app, r):
            if occ.status == "closed":
                continue
            events = _events(r, occ, members)
            if not occ.published:
                if min(e.due_at for e in events) >= end:
                    continue
                occ = publish(app, r, occ)
            items.extend(e for e in events if start <= e.due_at < end)
    items.extend(_action_reminders(app, start, end))
    return items


def _action_reminders(app: Meridian, start: datetime, end: datetime) -> list[DueItem]:
    store = _store(app)
    items = []
    for ws in sorted({r.workspace for r in store.list_retros()}):
        for a in store.actions(ws, status="open"):
            owner = app.store.get_member(ws, a.owner)
            if a.due is None or owner is None:
                continue
            at = at_local(a.due - timedelta(days=1), owner.hours.start, owner.tz)
            if start <= at < end:
                items.append(DueItem(f"retro:{ws}:{a.retro}:action:{a.id}:remind", "retro.action_remind", ws, at,
                                     {"action": a.id}))
    return items


# --- messages ----------------------------------------------------------------------------------
def _sprint_numbers(app: Meridian, r: Retro, occ: Occurrence) -> list[Block]:
    service = app.services.get("digests")
    numbers = getattr(service, "sprint_numbers", None)
    if not callable(numbers):
        return []
    previous = [o for o in _store(app).occurrences(r.workspace, r.name) if o.day < occ.day]
    since = previous[-1].end if previous else occ.opens_at - timedelta(days=14)
    try:
        lines = [str(line) for line in numbers(r.workspace, since, app.now())]
    except Exception:
        log.warning("sprint numbers for %s unavailable", r.name, exc_info=True)
        lines = ["Sprint numbers: source unavailable right now."]
    if not lines:
        return []
    return [Divider(), Section(rich(Strong("📈 Sprint in numbers"))), *(Section(rich(line)) for line in lines)]


def _action_line(app: Meridian, a: ActionItem) -> tuple[Inline, ...]:
    owner = app.store.get_member(a.workspace, a.owner)
    who: Inline = Mention(owner.id, owner.name) if owner else a.owner
    due = f" — due {fmt_day(a.due)}" if a.due else ""
    return (Strong(f"#{a.id}"), " ", who, ": ", truncate_user_text(a.text, 500), due)


def open_message(app: Meridian, r: Retro, occ: Occurrence) -> Message:
    blocks: list[Block] = [Header(f"🔁 {r.name} — {fmt_day(occ.day)}")]
    if occ.start is not None:
        blocks.append(Section(rich("Meeting: ", Strong(fmt_local(occ.start, r.tz)),
                                   " (everyone got it in their own time zone). Add items before, during or after.")))
    else:
        blocks.append(Section(rich("Async retro: add items and vote until ", Strong(fmt_local(occ.end, r.tz)), ".")))
    for key, question in r.prompts:
        emoji, label = CATEGORIES[key]
        blocks.append(Section(rich(f"{emoji} ", Strong(label), f" — {question}  (start a reply with {emoji} or {key}:)")))
    blocks.append(Context(rich("Reply in this thread to add an item. Anonymous: DM me `anon: improve: …` or use "
                               f"/retro add --anon …. Vote with 👍 or /retro vote N ({r.max_votes} votes each). "
                               "Action items: `action: @owner what by YYYY-MM-DD`.")))
    open_actions = _store(app).actions(r.workspace, r.name, status="open")
    if open_actions:
        blocks.append(Divider())
        blocks.append(Section(rich(Strong(f"📌 Open action items from earlier retros ({len(open_actions)})"))))
        blocks.extend(Section(_action_line(app, a)) for a in open_actions)
    blocks.extend(_sprint_numbers(app, r, occ))
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


def summary_message(app: Meridian, r: Retro, occ: Occurrence) -> Message:
    """Items by category, most votes first, and the round's action items. No author is shown."""
    items = _store(app).items(r.workspace, r.name, occ.day)
    actions = [a for a in _store(app).actions(r.workspace, r.name, status=None) if a.day == occ.day]
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
    if not items:
        blocks.append(Section(rich("No items this time.")))
    blocks.append(Divider())
    blocks.append(Section(rich(Strong(f"📌 Action items ({len(actions)})"))))
    blocks.extend(Section(_action_line(app, a)) for a in actions)
    if not actions:
        blocks.append(Context(rich("None recorded. Add one with `action: @owner what by YYYY-MM-DD`.")))
    return Message(tuple(blocks), fallback=f"{r.name} summary: {len(items)} items, {len(actions)} action items")


def reminder_message(app: Meridian, r: Retro, occ: Occurrence, m: Member, ahead: str) -> Message:
    assert occ.start is not None
    when = fmt_local(occ.start, m.tz)
    lead = "in 24 hours" if ahead == "24h" else "in 15 minutes"
    duration = rotation.parse_duration(r.duration)
    blocks: list[Block] = [Header(f"🔁 {r.name} {lead}"),
                           Section(rich(f"Hi {m.name}, {r.name} starts ", Strong(when),
                                        f" your time and lasts {int(duration.total_seconds() // 60)} minutes.")),
                           Context(rich(f"Items and votes go in the thread in {r.channel}. "
                                        "The calendar file is attached."))]
    ics = occurrence_calendar(app, r, [occ], m.tz)
    return Message(tuple(blocks), fallback=f"{r.name} {lead}: {when}",
                   attachments=(Attachment(f"{r.name}-{occ.day.isoformat()}.ics", ics, "text/calendar"),))


def occurrence_calendar(app: Meridian, r: Retro, occs: list[Occurrence], tz: str) -> str:
    events = [CalendarEvent(event_uid(r.workspace, r.name, o.day.isoformat()), o.start, o.end, f"{r.name} retro",
                            f"Retro in {r.channel}; items and votes go in its thread.", r.channel)
              for o in occs if o.start is not None]
    return calendar(events, tz, app.now(), name=r.name)


# --- lookups -----------------------------------------------------------------------------------
def _context(app: Meridian, workspace: str, name: str, day: str) -> tuple[Retro, Occurrence] | None:
    r = _store(app).get_retro(workspace, name)
    occ = _store(app).get_occurrence(workspace, name, date.fromisoformat(day)) if r else None
    return (r, occ) if r and occ else None


def thread_occurrence(app: Meridian, workspace: str, thread: str) -> Occurrence | None:
    """The occurrence whose thread this is; falls back to the outbox when the post was confirmed late."""
    store = _store(app)
    occ = store.occurrence_by_thread(workspace, thread)
    if occ is not None:
        return occ
    for r in store.list_retros(workspace):
        for o in store.occurrences(r.workspace, r.name):
            if o.status != "planned" and o.thread_id is None:
                posted = app.outbox.sent(thread_key(r, o.day))
                if posted is not None:
                    o = replace(o, thread_id=posted.message_id)
                    store.save_occurrence(o)
                    if posted.message_id == thread:
                        return o
    return None


def open_occurrence_for(app: Meridian, workspace: str, member: Member | None,
                        name: str | None = None) -> tuple[Retro, Occurrence] | None:
    """The retro round currently open (for this member, by name if given), newest first."""
    store = _store(app)
    found: list[tuple[Retro, Occurrence]] = []
    for r in store.list_retros(workspace):
        if (name and r.name != name) or (member is not None and not r.includes(member) and not name):
            continue
        found.extend((r, o) for o in store.occurrences(workspace, r.name) if o.status == "open")
    found.sort(key=lambda ro: ro[1].opens_at, reverse=True)
    return found[0] if found else None


# --- the flow ----------------------------------------------------------------------------------
async def open_round(app: Meridian, r: Retro, occ: Occurrence) -> Occurrence:
    if occ.status == "closed":
        return occ
    occ = publish(app, r, occ)
    posted = await app.outbox.post(thread_key(r, occ.day), r.workspace, r.channel, open_message(app, r, occ))
    occ = replace(occ, status="open", thread_id=posted.message_id if posted else occ.thread_id)
    _store(app).save_occurrence(occ)
    return occ


async def close_round(app: Meridian, r: Retro, occ: Occurrence) -> Occurrence:
    if occ.status == "closed":
        return occ
    if occ.status == "planned":
        occ = await open_round(app, r, occ)
    summary = summary_message(app, r, occ)
    await app.outbox.post(_key(r, occ.day, "summary"), r.workspace, r.channel, summary,
                          thread_key=thread_key(r, occ.day))
    await app.outbox.post(_key(r, occ.day, "summary", "channel"), r.workspace, r.channel, summary)
    occ = replace(occ, status="closed")
    _store(app).save_occurrence(occ)
    return occ


async def add_item(app: Meridian, r: Retro, occ: Occurrence, category: str, text: str, author: Member | None,
                   message_id: str | None = None) -> Item:
    """Store an item; one that is not already a thread message (anonymous, or from a command) is posted."""
    item = _store(app).add_item(Item(r.workspace, r.name, occ.day, category, text,
                                     author.id if author else None, message_id=message_id))
    if message_id is None:
        posted = await app.outbox.post(_key(r, occ.day, "item", item.number), r.workspace, r.channel,
                                       item_message(r, item, author), thread_key=thread_key(r, occ.day))
        if posted is not None:
            _store(app).set_item_message(item.id, posted.message_id)
    return item


def cast_vote(app: Meridian, r: Retro, occ: Occurrence, item: Item, voter: Member) -> str:
    store = _store(app)
    if occ.status != "open":
        return f"Voting on {r.name} has closed."
    if store.votes_cast(r.workspace, r.name, occ.day, voter.id) >= r.max_votes:
        return f"You have used all {r.max_votes} of your votes in this retro."
    if not store.vote(item, voter.id):
        return f"You already voted for #{item.number}: one vote per person per item."
    left = r.max_votes - store.votes_cast(r.workspace, r.name, occ.day, voter.id)
    return f"Your vote for #{item.number} counts ({left} left)."


async def add_anonymous(app: Meridian, workspace: str, member: Member, text: str, name: str | None = None) -> str:
    """Post an item with no author. Nothing about the writer is stored, logged or sent with it."""
    found = open_occurrence_for(app, workspace, member, name)
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
           for i in _store(app).items(r.workspace, r.name, occ.day)):
        return f"That item is already in the {r.name} thread."
    await add_item(app, r, occ, category, body, None)
    return f"Posted anonymously in the {r.name} thread. Your name is not stored with it."


def _find_member(app: Meridian, workspace: str, token: str) -> Member | None:
    """``@ravi``, ``@Ravi``, or a chat platform's id for them (``@U04RAVI``, ``<@U04RAVI>``)."""
    token = token.strip().rstrip(",.:;")
    mention = re.match(r"^<@([A-Za-z0-9_.\-]+)(\|[^>]*)?>$", token)
    raw = mention.group(1) if mention else token.lstrip("@")
    wanted = raw.lower()
    for m in app.store.list_members(workspace):
        if wanted in {m.id.lower(), m.name.lower(), m.name.lower().split()[0] if m.name else ""}:
            return m
    return app.store.find_member_by_account(workspace, app.chat_for(workspace).platform, raw)


def _due_date(text: str, today: date) -> date:
    word = text.strip().lower()
    if word == "tomorrow":
        return today + timedelta(days=1)
    if word[:3] in WEEKDAYS and len(word) >= 3:
        ahead = (WEEKDAYS.index(word[:3]) - today.weekday()) % 7 or 7
        return today + timedelta(days=ahead)
    return parse_date(word)


def parse_action(app: Meridian, workspace: str, text: str, owner_tz: str | None = None) -> tuple[Member, str, date | None]:
    """``@owner what needs doing by 2027-01-22`` → owner, text, due date; a ``ValueError`` says what is wrong."""
    words = text.strip().split(maxsplit=1)
    if not words:
        raise ValueError("name an owner and what they will do")
    owner = _find_member(app, workspace, words[0])
    if owner is None:
        raise ValueError(f"I don't know `{words[0]}`; start with @ and a member's id or name")
    rest = words[1] if len(words) > 1 else ""
    due: date | None = None
    match = re.match(r"^(?P<what>.*\S)\s+by\s+(?P<when>\S+)\s*$", rest, re.DOTALL)
    if match:
        try:
            due = _due_date(match.group("when"), local_date(app.now(), owner.tz))
        except TimeInputError:
            raise ValueError(f"`{match.group('when')}` is not a date; write it as YYYY-MM-DD") from None
        rest = match.group("what")
        if due < local_date(app.now(), owner.tz):
            raise ValueError(f"{due.isoformat()} is in the past")
    if not rest.strip():
        raise ValueError("say what the owner will do")
    return owner, rest.strip(), due


async def add_action(app: Meridian, r: Retro, occ: Occurrence, owner: Member, text: str,
                     due: date | None) -> ActionItem:
    action = _store(app).add_action(ActionItem(r.workspace, r.name, occ.day, owner.id, text, due))
    message = Message.text("📌 Action ", *_action_line(app, action))
    await app.outbox.post(_key(r, occ.day, "action", action.id), r.workspace, r.channel, message,
                          thread_key=thread_key(r, occ.day))
    app.engine.replan()  # its reminder may fall inside the window already planned
    return action


# --- scheduled work ----------------------------------------------------------------------------
def _claimed(app: Meridian, item: ClaimedItem) -> tuple[Retro, Occurrence] | None:
    return _context(app, item.workspace, item.payload["retro"], item.payload["day"])


async def on_open(app: Meridian, item: ClaimedItem) -> None:
    found = _claimed(app, item)
    if found and found[1].status == "planned":
        await open_round(app, *found)


async def on_close(app: Meridian, item: ClaimedItem) -> None:
    found = _claimed(app, item)
    if found:
        await close_round(app, *found)


async def on_remind(app: Meridian, item: ClaimedItem) -> None:
    found = _claimed(app, item)
    member = app.store.get_member(item.workspace, item.payload["member"])
    if not found or member is None or found[1].status == "closed" or not found[0].includes(member):
        return
    r, occ = found
    await app.outbox.dm(f"{item.key}:dm", r.workspace, member.id,
                        reminder_message(app, r, occ, member, item.payload["ahead"]))


async def on_action_remind(app: Meridian, item: ClaimedItem) -> None:
    action = _store(app).get_action(item.workspace, int(item.payload["action"]))
    if action is None or action.status != "open" or action.due is None:
        return
    owner = app.store.get_member(item.workspace, action.owner)
    if owner is None:
        return
    message = Message((Header("📌 Action item due tomorrow"),
                       Section(rich(f"Hi {owner.name}, from the {action.retro} retro: ",
                                    truncate_user_text(action.text, 1000), " — due ", Strong(fmt_day(action.due)),
                                    ".")),
                       Context(rich(f"Mark it done with /retro done {action.id}."))),
                      fallback=f"Action item due tomorrow: {truncate_user_text(action.text, 200)}")
    await app.outbox.dm(f"{item.key}:dm", item.workspace, owner.id, message)


# --- chat events -------------------------------------------------------------------------------
async def on_thread_message(app: Meridian, msg: IncomingMessage) -> bool:
    """Thread replies: items, action items, or chatter (left alone; longer ones get a private question)."""
    if msg.is_dm or not msg.thread or SERVICE not in app.services:
        return False
    occ = thread_occurrence(app, msg.workspace, msg.thread)
    if occ is None:
        return False
    r = _store(app).get_retro(msg.workspace, occ.retro)
    if r is None:
        return False
    if msg.message_id and _store(app).item_by_message(msg.workspace, msg.message_id) is not None:
        return True  # the same reply delivered twice
    text = msg.text.strip()
    action = ACTION.match(text)
    if action:
        try:
            owner, what, due = parse_action(app, msg.workspace, action.group("rest"))
        except ValueError as err:
            await app.outbox.dm(_key(r, occ.day, "action-error", msg.message_id or hashlib.sha256(text.encode())
                                     .hexdigest()[:12]), r.workspace, msg.member.id,
                                Message.text(f"I couldn't record that action item: {err}. Write it as "
                                             "`action: @owner what by YYYY-MM-DD`."))
            return True
        await add_action(app, r, occ, owner, what, due)
        return True
    if occ.status != "open":
        return True
    category, body = category_of(text)
    if category is not None:
        if body:
            await add_item(app, r, occ, category, body, msg.member, message_id=msg.message_id)
        return True
    if len(text.split()) < ASK_MIN_WORDS or not msg.message_id:
        return True
    app.store.kv_set(msg.workspace, f"retro:ask:{msg.message_id}",
                     {"retro": r.name, "day": occ.day.isoformat(), "member": msg.member.id, "text": text,
                      "message_id": msg.message_id})
    buttons = tuple(Button(f"{CATEGORIES[k][0]} {CATEGORIES[k][1]}", "retro.categorize", f"{msg.message_id}|{k}")
                    for k, _ in r.prompts)
    await app.outbox.dm(_key(r, occ.day, "ask", msg.message_id), r.workspace, msg.member.id, Message(
        (Section(rich(f"Add this to {r.name} as an item? ", truncate_user_text(text, 300))),
         Actions((*buttons, Button("Not an item", "retro.categorize", f"{msg.message_id}|none")))),
        fallback=f"Add this to {r.name} as an item?"))
    return True


async def on_anonymous_dm(app: Meridian, msg: IncomingMessage) -> bool:
    """``anon: …`` in a DM. The confirmation goes straight to the writer, not through the outbox,
    because an outbox entry would store who sent an anonymous item."""
    if not msg.is_dm or SERVICE not in app.services:
        return False
    match = ANON.match(msg.text)
    if not match:
        return False
    answer = await add_anonymous(app, msg.workspace, msg.member, match.group("rest"))
    await app.chat_for(msg.workspace).dm(msg.member, Message.text(answer))
    return True


async def on_reaction(app: Meridian, reaction: Reaction) -> bool:
    """A 👍 on an item is a vote; taking the 👍 away takes the vote back."""
    if reaction.emoji.strip(":").split("::")[0] not in THUMBS or SERVICE not in app.services:
        return False
    store = _store(app)
    item = store.item_by_message(reaction.workspace, reaction.message_id)
    if item is None:
        return False
    found = _context(app, item.workspace, item.retro, item.day.isoformat())
    if found is None:
        return False
    r, occ = found
    if not reaction.added:
        if occ.status == "open":
            store.unvote(item, reaction.member.id)
        return True
    answer = cast_vote(app, r, occ, item, reaction.member)
    if not answer.startswith("Your vote"):
        await app.outbox.dm(_key(r, occ.day, "vote-refused", item.number, reaction.member.id), r.workspace,
                            reaction.member.id, Message.text(answer))
    return True


async def on_action(app: Meridian, act: Action) -> Reply | None:
    store = _store(app)
    if act.action_id == "retro.vote":
        name, day, number = act.value.split("|")
        found = _context(app, act.workspace, name, day)
        item = store.item_by_number(act.workspace, name, date.fromisoformat(day), int(number)) if found else None
        if found is None or item is None:
            return Reply(Message.text("That item no longer exists."))
        return Reply(Message.text(cast_vote(app, found[0], found[1], item, act.member)))
    if act.action_id == "retro.categorize":
        token, _, category = act.value.rpartition("|")
        state = app.store.kv_get(act.workspace, f"retro:ask:{token}")
        if not state or state.get("member") != act.member.id:
            return Reply(Message.text("That question has already been answered."))
        app.store.kv_delete(act.workspace, f"retro:ask:{token}")
        if category not in CATEGORIES:
            return Reply(Message.text("Left as a conversation, not an item."))
        found = _context(app, act.workspace, state["retro"], state["day"])
        if found is None or found[1].status != "open":
            return Reply(Message.text("That retro is closed, so the item was not added."))
        item = await add_item(app, found[0], found[1], category, state["text"], act.member,
                              message_id=state["message_id"])
        return Reply(Message.text(f"Added as #{item.number} {CATEGORIES[category][0]} {CATEGORIES[category][1]}."))
    if act.action_id == "retro.action.submit":
        found = _context(app, act.workspace, act.metadata.get("retro", ""), act.metadata.get("day", ""))
        if found is None:
            return Reply(Message.text("That retro no longer exists."))
        text = f"@{act.values.get('owner', '')} {act.values.get('text', '')}"
        if act.values.get("due", "").strip():
            text += f" by {act.values['due'].strip()}"
        try:
            owner, what, due = parse_action(app, act.workspace, text)
        except ValueError as err:
            return Reply(Message.text(f"Not saved: {err}."))
        action = await add_action(app, found[0], found[1], owner, what, due)
        return Reply(Message.text(f"Saved action item #{action.id}."))
    return None


# --- commands ----------------------------------------------------------------------------------
def find_retro(app: Meridian, inv: Invocation, name: str | None = None) -> Retro:
    retros = _store(app).list_retros(inv.workspace)
    if name:
        for r in retros:
            if r.name == name:
                return r
        raise CommandError(f"There is no retro called `{name}`.")
    mine = [r for r in retros if r.includes(inv.member)]
    for r in mine or retros:
        if inv.channel and r.channel == inv.channel:
            return r
    if mine or retros:
        return (mine or retros)[0]
    raise CommandError("There is no retro in this workspace yet; add one under `retros:` in the team file.")


def _one_name(args: list[str]) -> str | None:
    if len(args) > 1:
        raise CommandError("Give at most one retro name.")
    return args[0] if args else None


def _current(app: Meridian, r: Retro) -> Occurrence | None:
    return next((o for o in _store(app).occurrences(r.workspace, r.name) if o.status == "open"), None)


def _next(app: Meridian, r: Retro) -> Occurrence | None:
    return next((o for o in ensure_plan(app, r) if o.status == "planned"), None)


def _latest(app: Meridian, r: Retro) -> Occurrence | None:
    """The round action items attach to: the open one, else the last one that had a thread."""
    current = _current(app, r)
    if current is not None:
        return current
    held = [o for o in _store(app).occurrences(r.workspace, r.name) if o.status == "closed"]
    return held[-1] if held else None


async def cmd_status(app: Meridian, inv: Invocation, args: list[str]) -> Reply:
    r = find_retro(app, inv, _one_name(args))
    occ = _current(app, r)
    if occ is None:
        nxt = _next(app, r)
        if nxt is None:
            return Reply(Message.text(f"{r.name} has no round coming up."))
        when = nxt.start or nxt.opens_at
        return Reply(Message.text(f"{r.name} is not open. Next: ", Strong(fmt_local(when, inv.member.tz)),
                                  f" your time; the thread opens {fmt_local(nxt.opens_at, inv.member.tz)}. "
                                  "See /retro schedule for the rotation."))
    items = _store(app).items(r.workspace, r.name, occ.day)
    used = _store(app).votes_cast(r.workspace, r.name, occ.day, inv.member.id)
    blocks: list[Block] = [Header(f"🔁 {r.name} — open until {fmt_local(occ.end, inv.member.tz)}"),
                           Context(rich(f"You have {r.max_votes - used} of {r.max_votes} votes left."))]
    for i in items:
        blocks.append(Section(rich(Strong(f"#{i.number}"), f" {CATEGORIES[i.category][0]} ",
                                   truncate_user_text(i.text, 300), f"  ({i.votes} 👍)")))
    if not items:
        blocks.append(Section(rich("No items yet.")))
    return Reply(Message(tuple(blocks), fallback=f"{r.name}: {len(items)} items"))


def burden_table(app: Meridian, r: Retro, occs: list[Occurrence]) -> list[tuple[str, float, int, int, int]]:
    """(member, burden, early, late, night): published history plus the planned rounds still to come."""
    members = participants(app, r)
    totals: dict[str, list[float]] = {m.id: [0.0, 0, 0, 0] for m in members}
    for e in _store(app).burden_history(r.workspace, r.name):
        if e.member in totals:
            row = totals[e.member]
            row[0] += e.penalty
            row[1] += e.early
            row[2] += e.late
            row[3] += e.night
    for occ in occs:
        if occ.published or occ.start is None:
            continue
        for m in members:
            row = totals[m.id]
            early, late = _early_late(m, occ.start)
            row[0] += occ.penalty.get(m.id, 0.0)
            row[1] += early
            row[2] += late
            row[3] += m.id in occ.night
    rows = [(mid, round(v[0], 2), int(v[1]), int(v[2]), int(v[3])) for mid, v in totals.items()]
    return sorted(rows, key=lambda row: (-row[1], row[0]))


async def cmd_schedule(app: Meridian, inv: Invocation, args: list[str]) -> Reply:
    r = find_retro(app, inv, _one_name(args))
    tz = inv.member.tz
    occs = [o for o in ensure_plan(app, r) if o.status != "closed"]
    if not occs:
        return Reply(Message.text(f"{r.name} has no round coming up."))
    if r.is_async:
        occ = occs[0]
        return Reply(Message.text(f"{r.name} is an async retro: open from ", Strong(fmt_local(occ.opens_at, tz)),
                                  " to ", Strong(fmt_local(occ.end, tz)), " your time."))
    blocks: list[Block] = [Header(f"🗓 {r.name} — next {len(occs)} slots, in your time ({tz})")]
    for occ in occs:
        if occ.start is None:
            continue
        fixed = "fixed" if occ.published else "planned"
        nights = f" · night for {', '.join(occ.night)}" if occ.night else ""
        blocks.append(Section(rich(Strong(fmt_local(occ.start, tz)), f"  ({fixed}{nights})")))
    blocks.append(Divider())
    blocks.append(Section(rich(Strong("Burden"), " — who takes how many early (<08:00), late (≥18:00) and night "
                               "(22:00-06:00) meetings, published and planned")))
    names = {m.id: m.name for m in participants(app, r)}
    for mid, burden, early, late, night in burden_table(app, r, occs):
        blocks.append(Section(rich(Strong(names.get(mid, mid)),
                                   f": burden {burden:.1f} · early {early} · late {late} · night {night}")))
    plan_state = app.store.kv_get(r.workspace, _plan_state_key(r)) or {}
    for note in plan_state.get("notes", []):
        blocks.append(Context(rich("⚠️ ", note)))
    blocks.append(Context(rich("The whole plan is attached as a calendar file. Slots that are not fixed yet are "
                               "planned again when the team changes.")))
    ics = occurrence_calendar(app, r, [o for o in occs if o.start is not None], tz)
    return Reply(Message(tuple(blocks), fallback=f"{r.name}: the next {len(occs)} slots",
                         attachments=(Attachment(f"{r.name}-plan.ics", ics, "text/calendar"),)))


async def cmd_open(app: Meridian, inv: Invocation, args: list[str]) -> Reply:
    r = find_retro(app, inv, _one_name(args))
    if _current(app, r) is not None:
        raise CommandError(f"{r.name} is already open; its thread is in {r.channel}.")
    occ = _next(app, r)
    if occ is None:
        raise CommandError(f"{r.name} has no round left to open.")
    await open_round(app, r, occ)
    app.engine.replan()
    return Reply(Message.text(f"Opened the {r.name} retro for {fmt_day(occ.day)}: reply in its thread in {r.channel}."),
                 public=True)


async def cmd_close(app: Meridian, inv: Invocation, args: list[str]) -> Reply:
    r = find_retro(app, inv, _one_name(args))
    occ = _current(app, r)
    if occ is None:
        raise CommandError(f"{r.name} is not open, so there is nothing to close.")
    await close_round(app, r, occ)
    return Reply(Message.text(f"Closed {r.name}: the summary is in the thread and in {r.channel}."), public=True)


async def cmd_actions(app: Meridian, inv: Invocation, args: list[str]) -> Reply:
    if args:
        raise CommandError("`actions` takes no arguments.")
    actions = _store(app).actions(inv.workspace, status="open")
    blocks: list[Block] = [Header(f"📌 Open action items ({len(actions)})")]
    blocks.extend(Section(rich(*_action_line(app, a), f"  ({a.retro})")) for a in actions)
    if not actions:
        blocks.append(Section(rich("None open.")))
    return Reply(Message(tuple(blocks), fallback=f"{len(actions)} open action items"))


async def cmd_action(app: Meridian, inv: Invocation, args: list[str]) -> Reply:
    r = find_retro(app, inv)
    occ = _latest(app, r)
    if occ is None:
        raise CommandError(f"{r.name} has not run yet, so there is no round to attach an action item to.")
    if not args and inv.trigger:
        return Reply(form=Form("Retro action item", "retro.action.submit", (
            FormInput("owner", "Owner (member id)", kind="text"),
            FormInput("text", "What will be done", multiline=True),
            FormInput("due", "Due date (YYYY-MM-DD)", optional=True)),
            metadata={"retro": r.name, "day": occ.day.isoformat()}))
    try:
        owner, what, due = parse_action(app, inv.workspace, " ".join(args))
    except ValueError as err:
        raise CommandError(f"{err}.") from None
    action = await add_action(app, r, occ, owner, what, due)
    return Reply(Message.text(f"Saved action item #{action.id} for {owner.name}."))


async def cmd_done(app: Meridian, inv: Invocation, args: list[str]) -> Reply:
    if len(args) != 1 or not args[0].lstrip("#").isdigit():
        raise CommandError("Give the action item's number, like `/retro done 4`.")
    action = _store(app).get_action(inv.workspace, int(args[0].lstrip("#")))
    if action is None:
        raise CommandError(f"There is no action item #{args[0].lstrip('#')}.")
    _store(app).set_action_status(inv.workspace, action.id, "done")
    return Reply(Message.text(f"Action item #{action.id} is done. Thanks!"))


async def cmd_add(app: Meridian, inv: Invocation, args: list[str]) -> Reply:
    anonymous = "--anon" in args
    words = [a for a in args if a != "--anon"]
    if not words:
        raise CommandError("Say what to add, like `/retro add --anon improve: deploys take too long`.")
    text = " ".join(words)
    if anonymous:
        return Reply(Message.text(await add_anonymous(app, inv.workspace, inv.member, text)))
    found = open_occurrence_for(app, inv.workspace, inv.member)
    if found is None:
        raise CommandError("No retro is open right now.")
    category, body = category_of(text)
    if category is None or not body:
        raise CommandError("Start the item with a category: well:, improve:, idea: or kudos: (or 🟢 🔴 💡 🙌).")
    item = await add_item(app, found[0], found[1], category, body, inv.member)
    return Reply(Message.text(f"Added #{item.number} to the {found[0].name} thread."))


async def cmd_vote(app: Meridian, inv: Invocation, args: list[str]) -> Reply:
    if len(args) != 1 or not args[0].lstrip("#").isdigit():
        raise CommandError("Give the item's number, like `/retro vote 3`.")
    found = open_occurrence_for(app, inv.workspace, inv.member)
    if found is None:
        raise CommandError("No retro is open right now.")
    r, occ = found
    item = _store(app).item_by_number(r.workspace, r.name, occ.day, int(args[0].lstrip("#")))
    if item is None:
        raise CommandError(f"There is no item #{args[0].lstrip('#')} in {r.name}.")
    return Reply(Message.text(cast_vote(app, r, occ, item, inv.member)))


def family() -> CommandFamily:
    return CommandFamily(
        name="retro",
        summary="retrospectives in threads, on slots that rotate fairly across time zones",
        default=Subcommand("", "[NAME]", "the open retro's items and your votes, or when the next one is",
                           cmd_status),
        takes_free_text=True,
        subcommands=[
            Subcommand("schedule", "schedule [NAME]", "the next slots in your time, the burden table, a calendar file",
                       cmd_schedule),
            Subcommand("open", "open [NAME]", "open the next retro's thread now", cmd_open),
            Subcommand("close", "close [NAME]", "close the open retro and post its summary", cmd_close),
            Subcommand("add", "add [--anon] CATEGORY: TEXT", "add an item (anonymously with --anon)", cmd_add),
            Subcommand("vote", "vote N", "vote for item N", cmd_vote),
            Subcommand("action", "action @OWNER TEXT [by YYYY-MM-DD]", "record an action item", cmd_action),
            Subcommand("actions", "actions", "list open action items", cmd_actions),
            Subcommand("done", "done N", "mark action item N done", cmd_done),
        ],
    )


# --- the home page -----------------------------------------------------------------------------
def home_retros(app: Meridian, member: Member) -> list[Block]:
    """The member's retros (open now, or their next slot in their own time) and their open action items."""
    if SERVICE not in app.services:
        return []
    store = _store(app)
    blocks: list[Block] = []
    for r in (r for r in store.list_retros(member.workspace) if r.includes(member)):
        current = _current(app, r)
        nxt = None if current else _next(app, r)
        if current is not None:
            when: tuple[Inline, ...] = ("open now, until ", Strong(fmt_local(current.end, member.tz)),
                                        f" your time; add items in its thread in {r.channel}")
        elif nxt is not None:
            when = ("next: ", Strong(fmt_local(nxt.start or nxt.opens_at, member.tz)), " your time")
        else:
            when = ("no round coming up",)
        blocks.append(Section(rich(Strong(r.name), " — ", *when)))
    actions = [a for a in store.actions(member.workspace, status="open") if a.owner == member.id]
    if actions:
        blocks.append(Section(rich(Strong(f"📌 Your open action items ({len(actions)})"))))
        blocks.extend(Section(rich(Strong(f"#{a.id}"), " ", truncate_user_text(a.text, 300),
                                   f" — due {fmt_day(a.due)}" if a.due else "", f"  ({a.retro})"))
                      for a in actions[:10])
        blocks.append(Context(rich("Mark one done with /retro done N.")))
    return [Section(rich(Strong("Your retros"))), *blocks] if blocks else []


# --- team file and wiring ----------------------------------------------------------------------
def apply_team_section(app: Meridian, tf: TeamFile) -> None:
    if SERVICE not in app.services:
        return
    retros, _errors = parse_retros(tf)
    for r in retros:
        _store(app).upsert_retro(r)
        app.store.kv_delete(r.workspace, _plan_state_key(r))


def _forget(app: Meridian) -> Any:
    def forget(workspace: str, member: str) -> None:
        _store(app).forget_member(workspace, member)

    return forget


def install(app: Meridian, store: RetroStore) -> None:
    app.services[SERVICE] = store
    app.services.setdefault("forget", []).append(_forget(app))
    app.add_family(family())
    app.add_planner(plan_retros)
    app.on_due("retro.open", on_open)
    app.on_due("retro.remind", on_remind)
    app.on_due("retro.close", on_close)
    app.on_due("retro.action_remind", on_action_remind)
    app.on_message(on_thread_message)
    app.on_message(on_anonymous_dm)
    app.on_action("retro.", on_action)
    app.services.setdefault("home_sections", []).append(home_retros)
    on_reaction_hook = getattr(app, "on_reaction", None)
    if on_reaction_hook is not None:
        on_reaction_hook(on_reaction)


register_section("retros", validate, apply_team_section)
