"""What happens to an open blocker: Resolved and Still blocked presses, the daily follow-up DM, the
escalation once it has stayed open ``escalate_after`` working days, and ``/standup blockers``.

A press edits every post that shows the blocker (the author's answers in the threads, the
summaries and their thread headers) for everyone, and is kept in the blocker's log. The
follow-up goes at the start of the author's next working day, through quiet hours (``notify``),
and not when they have already answered that day's stand-up. The escalation is one reply in
the day's thread: to the Accountable of the activity the blocker names (RACI), else to the
workspace's admins, routed (``bot.kernel.routing``), so nobody away or off hours is pinged and a
delegate stands in for someone away.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta
from functools import partial
from typing import TYPE_CHECKING

from bot.kernel.commands import CommandError, Invocation, Reply
from bot.kernel.domain import Member, Standup
from bot.kernel.messages import (
    Actions,
    Button,
    Context,
    Header,
    Inline,
    Link,
    Message,
    Section,
    Strong,
    rich,
    truncate_user_text,
)
from bot.kernel.ports import ActivityOwners, ClaimedItem, DueItem, StandupRun
from bot.kernel.quiet import notify
from bot.kernel.routing import Routing, named, route
from bot.kernel.timekeeping import at_local, local_date
from bot.standups.messages import answer_message, owner_hint, resolved_note, summary_message, thread_header
from bot.standups.model import (
    answer_key,
    find_standup,
    fmt_day,
    is_closed,
    participants,
    standup_key,
    thread_key,
    thread_opened,
)
from bot.standups.tracking import (
    RESOLVE,
    STILL,
    TrackedBlocker,
    day_number,
    find,
    load,
    open_items,
    resolve_actions,
    save,
    track,
)

if TYPE_CHECKING:
    from bot.kernel.app import Action, Meridian

log = logging.getLogger("meridian.standups")

FOLLOW_UP = "standup.blocker-followup"
REFRESH_DAYS = 62
"""How far back a press edits reports: about two months of a blocker's days."""


# --- presses ---------------------------------------------------------------------------------
async def on_item_action(app: Meridian, act: Action, *, owners: ActivityOwners | None) -> Reply | None:
    """**Resolved** (anyone in the workspace) and **Still blocked** (the author's answer to a follow-up)."""
    parts = (act.value or "").split("|")
    s = app.store.get_standup(act.workspace, parts[0]) if len(parts) == 3 else None
    if s is None:
        return Reply(Message.text("That stand-up no longer exists."))
    try:
        since = date.fromisoformat(parts[2])
    except ValueError:
        return Reply(Message.text("That button is from an older version of this message; use /standup blockers."))
    author = app.store.get_member(act.workspace, parts[1])
    items, item = find(app, s, parts[1], since)
    if author is None or item is None:
        return Reply(Message.text("That blocker is no longer tracked (its author left the team or it ended long "
                                  "ago); /standup blockers lists the open ones."))
    now = app.now()
    whose = "your" if author.id == act.member.id else f"{author.name}'s"
    if not item.is_open:
        at = act.member.local(item.resolved_at or now)
        by = "the author's next answer" if item.resolved_how == "answer" else item.resolved_name
        return Reply(Message.text(f"Already resolved by {by} ({at:%a} {at.day} {at:%b %H:%M} your time); "
                                  "nothing changed."))
    if act.action_id == STILL:
        item.note(now, act.member, "still in the way")
        save(app, s, author.id, items)
        n = day_number(author, s, item, local_date(now, author.tz))
        return Reply(Message.text(f"Noted: still in the way (day {n}). It stays in the {s.name} report; "
                                  "press Resolved when it clears."))
    if act.action_id != RESOLVE:
        return None
    item.resolved_by, item.resolved_name, item.resolved_at, item.resolved_how = \
        act.member.id, act.member.name, now, "button"
    item.note(now, act.member, "resolved")
    save(app, s, author.id, items)
    log.info("blocker of %s in %s/%s (since %s) resolved by %s", author.id, s.workspace, s.name, since,
             act.member.id)
    await refresh_posts(app, owners, s, author, item)
    return Reply(Message.text(f"Resolved: {whose} blocker “{truncate_user_text(item.text, 200)}” (since "
                              f"{fmt_day(item.since)}). The {s.name} report says so for everyone."))


async def refresh_posts(app: Meridian, owners: ActivityOwners | None, s: Standup, author: Member,
                        item: TrackedBlocker) -> None:
    """Edit, for everyone, every post that shows the blocker: the author's answers and the days' reports."""
    for day in item.days:
        run = app.store.get_run(s.workspace, s.name, author.id, day)
        if run is not None and app.outbox.sent(answer_key(s, author.id, day)):
            await app.outbox.update(s.workspace, answer_key(s, author.id, day),
                                    answer_message(app, owners, s, author, run))
    if item.escalated_on is not None and app.outbox.sent(escalation_key(s, item)):
        await app.outbox.update(s.workspace, escalation_key(s, item), escalation_resolved(s, author, item))
    today = local_date(app.now(), s.tz) + timedelta(days=1)
    first = max(item.since, today - timedelta(days=REFRESH_DAYS))
    for offset in range((today - first).days + 1):
        day = first + timedelta(days=offset)
        if is_closed(app, s, day) and item.covers(day, s.tz):
            message, headline = summary_message(app, owners, s, day)
            await app.outbox.update(s.workspace, standup_key(s, "summary", day), message)
            await app.outbox.update(s.workspace, thread_key(s, day), thread_header(s, day, headline))


def track_answer(app: Meridian, s: Standup, m: Member, run: StandupRun) -> list[TrackedBlocker]:
    """Track the answer just saved; the blockers it ended (an answer naming none), whose posts still show them open.

    Call ``refresh_posts`` for each after the answer itself is posted."""
    before = {i.since for i in open_items(app, s, m.id)}
    track(app, s, m, run)
    return [i for i in load(app, s, m.id) if i.since in before and not i.is_open]


# --- after each day's summary: follow-ups and escalations --------------------------------------
async def after_summary(app: Meridian, owners: ActivityOwners | None, s: Standup, day: date) -> None:
    """For each blocker still open on ``day``: plan tomorrow's follow-up DM, and escalate it once when due."""
    for m in participants(app, s):
        items = open_items(app, s, m.id)
        item = next((i for i in reversed(items) if i.covers(day, s.tz)), None)
        if item is None:
            continue
        plan_follow_up(app, s, m, item, day)
        if s.escalate_after and item.escalated_on is None and day_number(m, s, item, day) - 1 >= s.escalate_after:
            await escalate(app, owners, s, m, item, day)


def next_working_day(m: Member, after: date) -> date | None:
    for offset in range(1, 400):
        day = after + timedelta(days=offset)
        if m.works_on(day):
            return day
    return None


def plan_follow_up(app: Meridian, s: Standup, m: Member, item: TrackedBlocker, day: date) -> None:
    """At the start of the author's working day after ``day``, or now when that day has already begun for them."""
    nxt = next_working_day(m, day)
    if nxt is None:
        return
    at = max(at_local(nxt, m.hours.start, m.tz), app.now())
    app.store.schedule([DueItem(standup_key(s, "blocker-followup", m.id, nxt), FOLLOW_UP, s.workspace, at,
                                {"standup": s.name, "member": m.id, "since": item.since.isoformat(),
                                 "day": nxt.isoformat()})])


def follow_up_message(s: Standup, m: Member, item: TrackedBlocker, day: date) -> Message:
    n = day_number(m, s, item, day)
    return Message((
        Section(rich(f"Is this still in the way? Your {s.name} blocker since {fmt_day(item.since)} "
                     f"(day {n}):")),
        Context(rich("“", truncate_user_text(item.text, 500), "”")),
        Actions((*resolve_actions(s, item).buttons, Button("Still blocked", STILL, item.value(s.name)))),
    ), fallback=f"Is your {s.name} blocker still in the way? (day {n})")


async def on_follow_up(app: Meridian, due: ClaimedItem) -> None:
    """The follow-up falls due: ask, unless the blocker ended or today's answer already spoke of it."""
    s = app.store.get_standup(due.workspace, due.payload["standup"])
    m = app.store.get_member(due.workspace, due.payload["member"])
    if s is None or m is None or s.paused or not s.includes(m):
        return
    _, item = find(app, s, m.id, date.fromisoformat(due.payload["since"]))
    day = date.fromisoformat(due.payload["day"])
    if item is None or not item.is_open:
        return
    run = app.store.get_run(s.workspace, s.name, m.id, local_date(app.now(), m.tz))
    if run is not None and run.status == "answered":
        return  # they told the stand-up today, and the report shows it
    await notify(app, standup_key(s, "dm", m.id, day, f"blocker-followup-{item.since.isoformat()}"), s.workspace,
                 m, follow_up_message(s, m, item, day))


def escalation_routing(app: Meridian, owners: ActivityOwners | None, s: Standup, author: Member,
                       text: str) -> tuple[str, Routing] | None:
    """Whom the escalation is over to: the Accountable of the activity named, else the admins; and as whom."""
    lookup = partial(app.store.get_member, s.workspace)
    hint = owners.owner_hint(s.workspace, text) if owners is not None else None
    if hint is not None:
        activity, accountable = hint
        return f"Accountable for {activity}", route([(accountable, "A")], app.now(), lookup)
    admins = [m for m in app.store.list_members(s.workspace) if m.is_admin and m.id != author.id]
    if not admins:
        return None
    return "admins", route([(a, "admin") for a in admins], app.now(), lookup)


async def escalate(app: Meridian, owners: ActivityOwners | None, s: Standup, m: Member, item: TrackedBlocker,
                   day: date) -> None:
    items, stored = find(app, s, m.id, item.since)
    if stored is None:
        return
    found = escalation_routing(app, owners, s, m, item.text)
    stored.escalated_on = day
    if found is None:
        stored.note(app.now(), None, "not escalated: no Accountable and no admins")
        save(app, s, m.id, items)
        return
    role, routing = found
    stored.note(app.now(), None, "escalated to " + ", ".join(r.member.name for r in routing.people))
    save(app, s, m.id, items)
    n = day_number(m, s, item, day)
    message = Message((
        Section(rich(f"🚨 {m.name}'s blocker is still open on day {n} (since {fmt_day(item.since)}): ",
                     truncate_user_text(item.text, 500))),
        Context(rich(f"Over to {role}: ", *named(routing.people))),
        resolve_actions(s, item),
    ), fallback=f"{m.name}'s {s.name} blocker is open on day {n}")
    await app.outbox.post(escalation_key(s, item), s.workspace, s.channel, message, thread_key=thread_key(s, day))


def escalation_key(s: Standup, item: TrackedBlocker) -> str:
    return standup_key(s, "escalation", item.member, item.since.isoformat())


def escalation_resolved(s: Standup, author: Member, item: TrackedBlocker) -> Message:
    """The escalation once the blocker ended: no buttons, and nobody named again."""
    escalated = f", escalated {fmt_day(item.escalated_on)}" if item.escalated_on else ""
    return Message((Section(rich(f"✅ {author.name}'s blocker (since {fmt_day(item.since)}{escalated}) "
                                 "is resolved: ", truncate_user_text(item.text, 500),
                                 resolved_note(s, item))),),
                   fallback=f"{author.name}'s {s.name} blocker is resolved")


# --- /standup blockers -----------------------------------------------------------------------
async def where_shown(app: Meridian, s: Standup, item: TrackedBlocker) -> tuple[Inline, ...]:
    """A link to the thread that first showed the blocker (the platform's own), else the thread named."""
    day = item.since
    if not thread_opened(app, s, day):
        return (f"Answered for {fmt_day(day)}; not in a thread yet",)
    link = await app.outbox.link(s.workspace, thread_key(s, day))
    if link is None:
        return (f"See the thread of {fmt_day(day)} in {s.channel}",)
    return ("See ", Link(link, f"the thread of {fmt_day(day)}"), f" in {s.channel}")


async def cmd_blockers(app: Meridian, inv: Invocation, args: list[str], *, owners: ActivityOwners | None) -> Reply:
    """The stand-up's open blockers, oldest first: whose, how old, and which day's thread first showed it."""
    if len(args) > 1:
        raise CommandError("Name at most one stand-up: `/standup blockers [NAME]`.")
    s = find_standup(app, inv, args[0] if args else None)
    rows: list[tuple[int, Member, TrackedBlocker]] = []
    for m in participants(app, s):
        today = local_date(app.now(), m.tz)
        for item in open_items(app, s, m.id):
            rows.append((day_number(m, s, item, max(today, item.since)), m, item))
    rows.sort(key=lambda r: (-r[0], r[1].name))
    blocks: list[Section | Context | Header | Actions] = [Header(f"🚧 {s.name} — open blockers ({len(rows)})")]
    if not rows:
        blocks.append(Context(rich("No open blockers.")))
    for n, m, item in rows:
        escalated = f" · escalated {fmt_day(item.escalated_on)}" if item.escalated_on else ""
        blocks.append(Section(rich(Strong(m.name), f" · day {n} (since {fmt_day(item.since)}): ",
                                   truncate_user_text(item.text, 300), *owner_hint(app, owners, s, item.text))))
        blocks.append(Context(rich(*await where_shown(app, s, item), escalated, ".")))
        blocks.append(resolve_actions(s, item))
    return Reply(Message(tuple(blocks), fallback=f"{s.name}: {len(rows)} open blockers"))

