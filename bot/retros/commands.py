"""``/retro``: the open round's items, the schedule with its burden table, and the round's actions.

Every sub-command works through the same flow as the thread (``bot.retros.flow``), so a
vote by ``/retro vote N`` and a 👍 count the same way. Opening and closing are for admins and
the round's facilitator; closing before the meeting asks first; an action item is closed by
its owner, whoever recorded it, or an admin.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

from bot.kernel.app import Meridian
from bot.kernel.commands import CommandError, CommandFamily, Invocation, Refusal, Reply, Subcommand, meant
from bot.kernel.dates import DateInputError, parse_day
from bot.kernel.domain import Member
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
    Message,
    Section,
    Strong,
    rich,
    truncate_user_text,
)
from bot.kernel.timekeeping import local_date
from bot.retros.context import RetroContext, fmt_day, fmt_local, plan_state_key
from bot.retros.flow import (
    add_action,
    add_anonymous,
    add_item,
    cast_vote,
    close_now,
    closes_early,
    facilitator_of,
    kept_meeting,
    may_run,
    meeting_on,
    open_occurrence_for,
    open_round,
    parse_action,
    refusal,
    sentence,
    skip_meeting,
    take_back_vote,
    unskip_meeting,
)
from bot.retros.messages import action_line, occurrence_calendar, overdue_count
from bot.retros.model import CATEGORIES, Item, Occurrence, Retro, category_of
from bot.retros.plan import SKIPPED, burden_table, current_round, ensure_plan, next_round, participants
from bot.retros.presence import is_absent

Handler = Callable[[RetroContext, Invocation, list[str]], Awaitable[Reply]]


def find_retro(ctx: RetroContext, inv: Invocation, name: str | None = None) -> Retro:
    found = meant(inv, ctx.store.list_retros(inv.workspace), name)
    if found is not None:
        return found
    if name:
        raise Refusal(f"There is no retro called `{name}`.")
    raise Refusal("There is no retro in this workspace yet; add one under `retros:` in the team file.")


def _one_name(args: list[str]) -> str | None:
    if len(args) > 1:
        raise CommandError("Give at most one retro name.")
    return args[0] if args else None


def _latest(ctx: RetroContext, r: Retro) -> Occurrence | None:
    """The round action items attach to: the open one, else the last one that had a thread."""
    current = current_round(ctx, r)
    if current is not None:
        return current
    held = [o for o in ctx.store.occurrences(r.workspace, r.name) if o.status == "closed"]
    return held[-1] if held else None


async def cmd_status(ctx: RetroContext, inv: Invocation, args: list[str]) -> Reply:
    if len(args) > 1:  # `/retro move 2027-02-01`: a word that is no sub-command, not a list of retro names
        raise CommandError(f"`/retro {truncate_user_text(args[0], 40)}` is not a command.")
    r = find_retro(ctx, inv, _one_name(args))
    occ = current_round(ctx, r)
    kept = kept_meeting(ctx, r) if occ is None else None
    if kept is not None and kept.start is not None:
        return Reply(Message.text(f"Items and votes for {r.name} closed early (the summary is in {r.channel}); "
                                  "its meeting is still on: ", Strong(fmt_local(kept.start, inv.member.tz)),
                                  " your time."))
    if occ is None:
        nxt = next_round(ctx, r)
        if nxt is None:
            return Reply(Message.text(f"{r.name} has no round coming up."))
        when = nxt.start or nxt.opens_at
        return Reply(Message.text(f"{r.name} is not open. Next: ", Strong(fmt_local(when, inv.member.tz)),
                                  f" your time; the thread opens {fmt_local(nxt.opens_at, inv.member.tz)}. "
                                  + ("You are away that day: no reminders for it, and no burden. "
                                     if is_absent(inv.member, nxt) else "")
                                  + "See /retro schedule for the rotation."))
    items = ctx.store.items(r.workspace, r.name, occ.day)
    mine = ctx.store.voted(r.workspace, r.name, occ.day, inv.member.id)
    facilitator = facilitator_of(ctx, r, occ)
    blocks: list[Block] = [Header(f"🔁 {r.name} — open until {fmt_local(occ.end, inv.member.tz)}"),
                           Context(rich(f"You have {r.max_votes - len(mine)} of {r.max_votes} votes left. "
                                        "Vote counts show when the retro closes; ✓ marks your votes "
                                        "(/retro unvote N takes one back)."
                                        + (f" Facilitator: {facilitator.name}." if facilitator else "")))]
    for i in items:
        blocks.append(Section(rich(Strong(f"#{i.number}"), f" {CATEGORIES[i.category][0]} ",
                                   truncate_user_text(i.text, 300), "  ✓ your vote" if i.number in mine else "")))
    if not items:
        blocks.append(Section(rich("No items yet.")))
    return Reply(Message(tuple(blocks), fallback=f"{r.name}: {len(items)} items"))


async def cmd_schedule(ctx: RetroContext, inv: Invocation, args: list[str]) -> Reply:
    r = find_retro(ctx, inv, _one_name(args))
    tz = inv.member.tz
    # A round closed early keeps its meeting, so it stays on the schedule until the meeting is over.
    occs = [o for o in ensure_plan(ctx, r) if o.status != "closed" or (o.start and o.end > ctx.app.now())]
    if not occs:
        return Reply(Message.text(f"{r.name} has no round coming up."))
    if r.is_async:
        occ = occs[0]
        return Reply(Message.text(f"{r.name} is an async retro: open from ", Strong(fmt_local(occ.opens_at, tz)),
                                  " to ", Strong(fmt_local(occ.end, tz)), " your time."))
    blocks: list[Block] = [Header(f"🗓 {r.name} — next {len(occs)} slots, in your time ({tz})")]
    team = participants(ctx, r)
    now = ctx.app.now()
    called_off = [o for o in ctx.store.occurrences(r.workspace, r.name) if o.status == SKIPPED and o.start is not None
                  and o.start > now and o.day <= occs[-1].day]
    for occ in sorted(occs + called_off, key=lambda o: o.day):
        if occ.start is None:
            continue
        if occ.status == SKIPPED:
            local = local_date(occ.start, tz)
            blocks.append(Section(rich(Strong(fmt_local(occ.start, tz)),
                                       f"  (skipped · `/retro unskip {local.isoformat()}` holds it after all)")))
            continue
        fixed = "fixed" if occ.published else "planned"
        nights = f" · night for {', '.join(occ.night)}" if occ.night else ""
        gone = [m.id for m in team if is_absent(m, occ)]
        away = f" · away: {', '.join(gone)}" if gone else ""
        blocks.append(Section(rich(Strong(fmt_local(occ.start, tz)), f"  ({fixed}{nights}{away})")))
    blocks.append(Divider())
    blocks.append(Section(rich(Strong("Burden"), " — who takes how many early (<08:00), late (≥18:00) and night "
                               "(22:00-06:00) meetings, published and planned")))
    names = {m.id: m.name for m in participants(ctx, r)}
    for mid, burden, early, late, night in burden_table(ctx, r, occs):
        blocks.append(Section(rich(Strong(names.get(mid, mid)),
                                   f": burden {burden:.1f} · early {early} · late {late} · night {night}")))
    plan_state = ctx.app.store.kv_get(r.workspace, plan_state_key(r)) or {}
    for note in plan_state.get("notes", []):
        blocks.append(Context(rich("⚠️ ", note)))
    blocks.append(Context(rich("The whole plan is attached as a calendar file. Slots that are not fixed yet are "
                               "planned again when the team changes.")))
    ics = occurrence_calendar(ctx, r, [o for o in occs if o.start is not None], tz)
    return Reply(Message(tuple(blocks), fallback=f"{r.name}: the next {len(occs)} slots",
                         attachments=(Attachment(f"{r.name}-plan.ics", ics, "text/calendar"),)))


def _meeting(ctx: RetroContext, inv: Invocation, args: list[str], doing: str) -> tuple[Retro, Occurrence]:
    """``DATE [NAME]``: the date as the speaker says it (``2027-03-15``, ``15 mar``, ``next monday``), in their
    own time; the retro's name last, when the workspace has several."""
    names = {r.name for r in ctx.store.list_retros(inv.workspace)}
    name = args[-1] if len(args) > 1 and args[-1] in names else None
    words = args[:-1] if name else args
    if not words:
        raise CommandError(f"Say which meeting to {doing}: `/retro {doing} DATE`, e.g. `/retro {doing} 2027-03-15`.")
    r = find_retro(ctx, inv, name)
    today = local_date(ctx.app.now(), inv.member.tz)
    try:
        day = parse_day(" ".join(words), today)
    except DateInputError as err:
        raise CommandError(str(err)) from None
    occ = meeting_on(ctx, r, day, inv.member.tz)
    if occ is None or occ.start is None:
        ensure_plan(ctx, r, through=day + timedelta(days=1))  # a date further ahead than the plan shown so far
        occ = meeting_on(ctx, r, day, inv.member.tz)
    if occ is None or occ.start is None:
        coming = [o for o in ensure_plan(ctx, r) if o.start is not None][:3]
        dates = ", ".join(fmt_local(o.start, inv.member.tz) for o in coming if o.start is not None)
        raise Refusal(f"{r.name} has no meeting on {fmt_day(day)}." + (f" Coming: {dates}." if dates else ""))
    return r, occ


async def _call_off(ctx: RetroContext, inv: Invocation, args: list[str], doing: str, may: str,
                    change: Callable[[RetroContext, Retro, Occurrence, Member], Awaitable[str]]) -> Reply:
    r, occ = _meeting(ctx, inv, args, doing)
    if not may_run(ctx, r, occ, inv.member):
        return Reply(Message.text(refusal(ctx, r, occ, may)))
    try:
        return Reply(Message.text(await change(ctx, r, occ, inv.member)))
    except ValueError as err:
        raise Refusal(sentence(err)) from None


async def cmd_skip(ctx: RetroContext, inv: Invocation, args: list[str]) -> Reply:
    return await _call_off(ctx, inv, args, "skip", "skip a meeting of", skip_meeting)


async def cmd_unskip(ctx: RetroContext, inv: Invocation, args: list[str]) -> Reply:
    return await _call_off(ctx, inv, args, "unskip", "hold a meeting of", unskip_meeting)


def _name_and_confirm(args: list[str]) -> tuple[str | None, bool]:
    confirm = "confirm" in args
    return _one_name([a for a in args if a != "confirm"]), confirm


async def cmd_open(ctx: RetroContext, inv: Invocation, args: list[str]) -> Reply:
    r = find_retro(ctx, inv, _one_name(args))
    if current_round(ctx, r) is not None:
        raise Refusal(f"{r.name} is already open; its thread is in {r.channel}.")
    occ = next_round(ctx, r)
    if occ is None:
        raise Refusal(f"{r.name} has no round left to open.")
    if not may_run(ctx, r, occ, inv.member):
        return Reply(Message.text(refusal(ctx, r, occ, "open")))  # not a usage mistake: no usage line
    await open_round(ctx, r, occ)
    ctx.app.engine.replan()
    # The thread itself tells the channel; the person who opened it is told where it is.
    return Reply(Message.text(f"Opened the {r.name} retro for {fmt_day(occ.day)}: reply in its thread in {r.channel}."))


def early_close_question(r: Retro, occ: Occurrence, tz: str) -> Message:
    """What a person is asked before a round closes ahead of its meeting (or its planned close)."""
    if occ.start is not None:
        head = (f"The {r.name} meeting is ", Strong(fmt_local(occ.start, tz)), " your time. Closing now ends items "
                "and votes and posts the summary; the meeting stays on and everyone is still reminded.")
    else:
        head = (f"{r.name} is planned to close ", Strong(fmt_local(occ.end, tz)), " your time. Closing now ends "
                "items and votes and posts the summary.")
    return Message((Section(rich("⚠️ ", *head)),
                    Actions((Button("Close now", "retro.close.confirm", f"{r.name}|{occ.day.isoformat()}"),)),
                    Context(rich("Or type `/retro close confirm`."))),
                   fallback=f"Close {r.name} before its meeting? Type /retro close confirm to go ahead.")


async def cmd_close(ctx: RetroContext, inv: Invocation, args: list[str]) -> Reply:
    name, confirmed = _name_and_confirm(args)
    r = find_retro(ctx, inv, name)
    occ = current_round(ctx, r)
    if occ is None:
        raise Refusal(f"{r.name} is not open, so there is nothing to close.")
    if not may_run(ctx, r, occ, inv.member):
        return Reply(Message.text(refusal(ctx, r, occ, "close")))
    if closes_early(ctx, occ) and not confirmed:
        return Reply(early_close_question(r, occ, inv.member.tz))
    return Reply(Message.text(await close_now(ctx, r, occ, inv.member.tz)))


async def cmd_actions(ctx: RetroContext, inv: Invocation, args: list[str]) -> Reply:
    if args:
        raise CommandError("`actions` takes no arguments.")
    actions = ctx.store.actions(inv.workspace, status="open")
    blocks: list[Block] = [Header(f"📌 Open action items ({len(actions)}{overdue_count(ctx, actions)})")]
    blocks.extend(Section(rich(*action_line(ctx, a), f"  ({a.retro})")) for a in actions)
    if not actions:
        blocks.append(Section(rich("None open.")))
    return Reply(Message(tuple(blocks), fallback=f"{len(actions)} open action items"))


async def cmd_action(ctx: RetroContext, inv: Invocation, args: list[str]) -> Reply:
    r = find_retro(ctx, inv)
    occ = _latest(ctx, r)
    if occ is None:
        raise Refusal(f"{r.name} has not run yet, so there is no round to attach an action item to.")
    if not args and inv.trigger:
        return Reply(form=Form("Retro action item", "retro.action.submit", (
            FormInput("owner", "Owner (member id)", kind="text"),
            FormInput("text", "What will be done", multiline=True),
            FormInput("due", "Due date (next friday, in 2 weeks, 2027-04-01)", optional=True)),
            metadata={"retro": r.name, "day": occ.day.isoformat()}))
    try:
        owner, what, due = parse_action(ctx, inv.workspace, " ".join(args), inv.member)
    except ValueError as err:
        raise CommandError(sentence(err)) from None
    action = await add_action(ctx, r, occ, owner, what, due, inv.member)
    due_text = f", due {fmt_day(due)}" if due else " (no due date)"
    return Reply(Message.text(f"Saved action item #{action.id} for {owner.name}{due_text}."))


async def cmd_done(ctx: RetroContext, inv: Invocation, args: list[str]) -> Reply:
    if len(args) != 1 or not args[0].lstrip("#").isdigit():
        raise CommandError("Give the action item's number, like `/retro done 4`.")
    action = ctx.store.get_action(inv.workspace, int(args[0].lstrip("#")))
    if action is None:
        raise Refusal(f"There is no action item #{args[0].lstrip('#')}.")
    me = inv.member
    if not (me.is_admin or me.id in (action.owner, action.created_by)):
        owner = ctx.app.store.get_member(inv.workspace, action.owner)
        return Reply(Message.text(f"Action item #{action.id} is {owner.name if owner else action.owner}'s: only its "
                                  "owner, whoever recorded it or an admin can mark it done."))
    if action.status == "done":
        return Reply(Message.text(f"Action item #{action.id} is already done."))
    ctx.store.set_action_status(inv.workspace, action.id, "done")
    return Reply(Message.text(f"Action item #{action.id} is done. Thanks!"))


async def cmd_add(ctx: RetroContext, inv: Invocation, args: list[str]) -> Reply:
    anonymous = "--anon" in args
    words = [a for a in args if a != "--anon"]
    if not words:
        raise CommandError("Say what to add, like `/retro add --anon improve: deploys take too long`.")
    text = " ".join(words)
    if anonymous:
        return Reply(Message.text(await add_anonymous(ctx, inv.workspace, inv.member, text)))
    found = open_occurrence_for(ctx, inv.workspace, inv.member)
    if found is None:
        raise Refusal("No retro is open right now.")
    category, body = category_of(text)
    if category is None or not body:
        raise CommandError("Start the item with a category: well:, improve:, idea: or kudos: (or 🟢 🔴 💡 🙌).")
    item = await add_item(ctx, found[0], found[1], category, body, inv.member)
    return Reply(Message.text(f"Added #{item.number} to the {found[0].name} thread."))


def _voting_on(ctx: RetroContext, inv: Invocation, args: list[str], verb: str) -> tuple[Retro, Occurrence, Item]:
    if len(args) != 1 or not args[0].lstrip("#").isdigit():
        raise CommandError(f"Give the item's number, like `/retro {verb} 3`.")
    found = open_occurrence_for(ctx, inv.workspace, inv.member)
    if found is None:
        raise Refusal("No retro is open right now.")
    r, occ = found
    item = ctx.store.item_by_number(r.workspace, r.name, occ.day, int(args[0].lstrip("#")))
    if item is None:
        raise Refusal(f"There is no item #{args[0].lstrip('#')} in {r.name}.")
    return r, occ, item


async def cmd_vote(ctx: RetroContext, inv: Invocation, args: list[str]) -> Reply:
    r, occ, item = _voting_on(ctx, inv, args, "vote")
    return Reply(Message.text(cast_vote(ctx, r, occ, item, inv.member)))


async def cmd_unvote(ctx: RetroContext, inv: Invocation, args: list[str]) -> Reply:
    r, occ, item = _voting_on(ctx, inv, args, "unvote")
    return Reply(Message.text(take_back_vote(ctx, r, occ, item, inv.member)))


def family(ctx: RetroContext) -> CommandFamily[Meridian]:
    def sub(name: str, usage: str, summary: str, handler: Handler) -> Subcommand[Meridian]:
        async def run(_app: Meridian, inv: Invocation, args: list[str]) -> Reply:
            return await handler(ctx, inv, args)

        return Subcommand(name, usage, summary, run)

    return CommandFamily(
        name="retro",
        summary="retrospectives in threads, on slots that rotate fairly across time zones",
        default=sub("", "[NAME]", "the open retro's items and your votes, or when the next one is", cmd_status),
        takes_free_text=True,
        subcommands=[
            sub("schedule", "schedule [NAME]", "the next slots in your time, the burden table, a calendar file",
                cmd_schedule),
            sub("open", "open [NAME]", "open the next retro's thread now (admins and the facilitator)", cmd_open),
            sub("skip", "skip DATE [NAME]", "call one meeting off: no thread, no reminders, no burden (admins and "
                "the facilitator)", cmd_skip),
            sub("unskip", "unskip DATE [NAME]", "hold a skipped meeting after all, at its slot", cmd_unskip),
            sub("close", "close [NAME] [confirm]", "close the open retro and post its summary (admins and the "
                "facilitator; before the meeting, add confirm)", cmd_close),
            sub("add", "add [--anon] CATEGORY: TEXT", "add an item (anonymously with --anon)", cmd_add),
            sub("vote", "vote N", "vote for item N", cmd_vote),
            sub("unvote", "unvote N", "take back your vote for item N", cmd_unvote),
            sub("action", "action @OWNER TEXT [by DATE]", "record an action item (by next friday, by 2027-04-01)",
                cmd_action),
            sub("actions", "actions", "list open action items, overdue ones marked", cmd_actions),
            sub("done", "done N", "mark action item N done (its owner, who recorded it, or an admin)", cmd_done),
        ],
    )
