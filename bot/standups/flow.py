"""Async stand-ups: reminders on each person's own clock, answers into the day's thread, a summary.

The stand-up "day" is each member's local date (DESIGN §7). For one day ``D`` of a
stand-up, a member is reminded at ``remind_at`` on their local ``D`` (when ``D`` is a
stand-up day, one of their workdays and not out of office), nudged once after
``nudge_after`` if still silent, and may answer — or edit — until their cut-off. The
summary of ``D`` goes out when the last participant's cut-off has passed, so a team from
Los Angeles to Sydney gets one report for the same date.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot.kernel.commands import CommandError, CommandFamily, Invocation, Reply, Subcommand
from bot.kernel.domain import WEEKDAYS, Member, Standup
from bot.kernel.messages import (
    Actions,
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
    plain,
    rich,
    truncate_user_text,
)
from bot.kernel.ports import ClaimedItem, DueItem, StandupRun
from bot.kernel.timekeeping import (
    TimeInputError,
    cutoff_at,
    is_standup_day,
    local_date,
    next_standup_day,
    parse_date,
    parse_duration,
    parse_hhmm,
    reminder_at,
    validate_zone,
)

if TYPE_CHECKING:
    from bot.kernel.app import Action, IncomingMessage, Meridian

NO_BLOCKER = re.compile(r"^\s*(no(ne|pe|thing)?|n/?a|-+|nothing( blocking)?|all good|no blockers?)\s*[.!]?\s*$",
                        re.IGNORECASE)
STATS_DAYS = 28


# --- keys: what, for whom, which occurrence (DESIGN §8) --------------------------------------
def _key(s: Standup, *parts: object) -> str:
    return ":".join(["standup", s.workspace, s.name, *(str(p) for p in parts)])


def thread_key(s: Standup, day: date) -> str:
    return _key(s, "thread", day)


def answer_key(s: Standup, member: str, day: date) -> str:
    return _key(s, "answer", member, day)


def conversation_key(member: str) -> str:
    return f"member:{member}:conversation"


def skip_key(member: str, standup: str) -> str:
    return f"member:{member}:skip:{standup}"


def closed_key(s: Standup, day: date) -> str:
    return f"standup:{s.name}:closed:{day}"


def fmt_day(day: date) -> str:
    return f"{day:%a} {day.day} {day:%b %Y}"


# --- planning --------------------------------------------------------------------------------
def participants(app: Meridian, s: Standup) -> list[Member]:
    return [m for m in app.store.list_members(s.workspace) if s.includes(m)]


def _local_days(tz: str, start: datetime, end: datetime) -> list[date]:
    first, last = local_date(start, tz) - timedelta(days=1), local_date(end, tz)
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def summary_at(members: list[Member], s: Standup, day: date) -> datetime | None:
    """The last participant's cut-off for ``day``; ``None`` when nobody has a stand-up that day."""
    cutoffs = [cutoff_at(m, s, day) for m in members if is_standup_day(m, s, day)]
    return max(cutoffs) if cutoffs else None


def plan_standups(app: Meridian, start: datetime, end: datetime) -> list[DueItem]:
    """Every reminder, nudge and summary of every active stand-up that falls in [start, end)."""
    items: list[DueItem] = []
    people: dict[str, list[Member]] = {}
    for s in app.store.list_standups():
        if s.paused:
            continue
        if s.workspace not in people:
            people[s.workspace] = app.store.list_members(s.workspace)
        members = [m for m in people[s.workspace] if s.includes(m)]
        summary_days: set[date] = set()
        for m in members:
            for day in _local_days(m.tz, start, end):
                if not is_standup_day(m, s, day):
                    continue
                payload = {"standup": s.name, "member": m.id, "day": day.isoformat()}
                at = reminder_at(m, s, day)
                if start <= at < end:
                    items.append(DueItem(_key(s, "reminder", m.id, day), "standup.reminder", s.workspace, at, payload))
                nudge = at + s.nudge_after
                if s.nudge_after > timedelta(0) and start <= nudge < end:
                    items.append(DueItem(_key(s, "nudge", m.id, day), "standup.nudge", s.workspace, nudge, payload))
                summary_days.add(day)
        for day in summary_days:
            at_ = summary_at(members, s, day)
            if at_ is not None and start <= at_ < end:
                items.append(DueItem(_key(s, "summary", day), "standup.summary", s.workspace, at_,
                                     {"standup": s.name, "day": day.isoformat()}))
    return items


# --- state helpers ---------------------------------------------------------------------------
def _run(app: Meridian, s: Standup, member: str, day: date) -> StandupRun:
    return app.store.get_run(s.workspace, s.name, member, day) or StandupRun(s.workspace, s.name, member, day)


def _skipped_until(app: Meridian, s: Standup, member: str) -> date | None:
    raw = app.store.kv_get(s.workspace, skip_key(member, s.name))
    return date.fromisoformat(raw) if raw else None


def is_closed(app: Meridian, s: Standup, day: date) -> bool:
    return bool(app.store.kv_get(s.workspace, closed_key(s, day)))


def answer_day(app: Meridian, s: Standup, m: Member, now: datetime) -> date | None:
    """Which day an answer given now counts for: today until the cut-off, then the next stand-up day."""
    today = local_date(now, m.tz)
    if is_standup_day(m, s, today) and now < cutoff_at(m, s, today) and not is_closed(app, s, today):
        return today
    return next_standup_day(m, s, today)


def last_plan(app: Meridian, s: Standup, member: str, before: date) -> str | None:
    """What the member said they would do next, the last time they answered."""
    # One member's runs only: this runs for every reminder, so it must not read the whole team's month.
    runs = app.store.runs_between(s.workspace, s.name, before - timedelta(days=STATS_DAYS),
                                  before - timedelta(days=1), member=member)
    for run in reversed([r for r in runs if r.status == "answered"]):
        if len(run.answers) > 1 and run.answers[1].strip():
            return run.answers[1]
    return None


def blocker_of(s: Standup, run: StandupRun) -> str | None:
    i = s.blocker_question()
    if i is None or run.status != "answered" or i >= len(run.answers):
        return None
    text = run.answers[i].strip()
    return text if text and not NO_BLOCKER.match(text) else None


# --- messages --------------------------------------------------------------------------------
def _question_section(s: Standup, index: int) -> Section:
    return Section(rich(Strong(f"{index + 1}/{len(s.questions)}"), " — ", s.questions[index]))


def reminder_message(app: Meridian, s: Standup, m: Member, day: date, nudge: bool = False) -> Message:
    cut = cutoff_at(m, s, day).astimezone(m.zone)
    blocks: list[Any] = [Header(f"{'⏰ Still open' if nudge else '☀️ Stand-up'}: {s.name} — {fmt_day(day)}")]
    greeting = (f"Hi {m.name}, your {s.name} stand-up is still waiting for you."
                if nudge else f"Good morning, {m.name}! Time for your {s.name} stand-up in {s.channel}.")
    blocks.append(Section(rich(greeting)))
    plan = last_plan(app, s, m.id, day)
    if plan:
        blocks.append(Context(rich("Last time you planned: ", truncate_user_text(plan, 500))))
    blocks.append(_question_section(s, 0))
    blocks.append(Context(rich(f"Reply here one answer at a time, or press Answer for a form. "
                               f"Open until {cut:%H:%M} your time.")))
    blocks.append(Actions((Button("Answer", "standup.answer", f"{s.name}|{day}", "primary"),
                           Button("Skip today", "standup.skip", f"{s.name}|{day}"),
                           Button("Snooze 1 h", "standup.snooze", f"{s.name}|{day}"))))
    return Message(tuple(blocks), fallback=f"{s.name} stand-up for {fmt_day(day)}: {s.questions[0]}")


def thread_header(s: Standup, day: date, counts: str | None = None) -> Message:
    line = counts or "Answers arrive in this thread as people post them; the summary follows at the cut-off."
    return Message((Header(f"📋 {s.name} — {fmt_day(day)}"), Context(rich(line))),
                   fallback=f"{s.name} stand-up — {fmt_day(day)}")


def answer_message(app: Meridian, s: Standup, m: Member, run: StandupRun, edited: bool = False) -> Message:
    when = run.answered_at.astimezone(m.zone) if run.answered_at else None
    head: list[Inline] = [Mention(m.id, m.name)]
    if when:
        head.append(f" · {when:%H:%M} {when.tzname()}")
    if edited:
        head.append(" · edited")
    blocks: list[Any] = [Section(tuple(head))]
    for q, a in zip(s.questions, run.answers, strict=False):
        blocks.append(Section(rich(Strong(q), "\n", truncate_user_text(a) if a.strip() else "—")))
    blocker = blocker_of(s, run)
    if blocker:
        blocks.append(Context(rich("🚧 Blocker: ", truncate_user_text(blocker, 500), *_owner_hint(app, s, blocker))))
    return Message(tuple(blocks), fallback=f"{m.name} answered the {s.name} stand-up")


def _owner_hint(app: Meridian, s: Standup, blocker: str) -> tuple[Inline, ...]:
    """When a blocker names a RACI activity, point at its Accountable person."""
    raci = app.services.get("raci")
    if raci is None or not hasattr(raci, "owner_hint"):
        return ()
    hint = raci.owner_hint(s.workspace, blocker)
    if not hint:
        return ()
    activity, accountable = hint
    return (" — ", activity, " is owned by ", Mention(accountable.id, accountable.name))


def summary_message(app: Meridian, s: Standup, day: date) -> tuple[Message, str]:
    """The day's summary and the one-line headline for the thread's parent message."""
    members = participants(app, s)
    runs = {r.member: r for r in app.store.runs_for_day(s.workspace, s.name, day)}
    answered, skipped, away, missing = [], [], [], []
    blockers: list[tuple[Member, str]] = []
    for m in members:
        run = runs.get(m.id)
        skip_until = _skipped_until(app, s, m.id)
        if run and run.status == "answered":
            answered.append(m)
            b = blocker_of(s, run)
            if b:
                blockers.append((m, b))
        elif (run and run.status == "skipped") or (skip_until and day <= skip_until):
            skipped.append(m)
        elif not is_standup_day(m, s, day):
            away.append(m)
        else:
            missing.append(m)

    def names(people: list[Member], mention: bool = False) -> tuple[Inline, ...]:
        if not people:
            return ("nobody",)
        parts: list[Inline] = []
        for i, p in enumerate(people):
            if i:
                parts.append(", ")
            parts.append(Mention(p.id, p.name) if mention else p.name)
        return tuple(parts)

    expected = len(answered) + len(missing)
    headline = f"{len(answered)}/{expected} answered · {len(blockers)} blocker{'s' if len(blockers) != 1 else ''}"
    blocks: list[Any] = [Header(f"🧾 {s.name} summary — {fmt_day(day)}"),
                         Section(rich(Strong(f"Answered ({len(answered)})"), ": ", *names(answered))),
                         Section(rich(Strong(f"Skipped ({len(skipped)})"), ": ", *names(skipped))),
                         Section(rich(Strong(f"Away ({len(away)})"), ": ", *names(away))),
                         Section(rich(Strong(f"Not answered ({len(missing)})"), ": ",
                                      *names(missing, mention=s.mention_missing)))]
    if blockers:
        blocks.append(Divider())
        blocks.append(Section(rich(Strong(f"🚧 Blockers ({len(blockers)})"))))
        for m, b in blockers:
            blocks.append(Section(rich(Strong(m.name), ": ", truncate_user_text(b, 500), *_owner_hint(app, s, b))))
    else:
        blocks.append(Context(rich("No blockers reported.")))
    fallback = f"{s.name} summary for {fmt_day(day)}: {headline}"
    return Message(tuple(blocks), fallback=fallback), headline


# --- delivery of answers ---------------------------------------------------------------------
async def _ensure_thread(app: Meridian, s: Standup, day: date) -> None:
    await app.outbox.post(thread_key(s, day), s.workspace, s.channel, thread_header(s, day))


async def save_answers(app: Meridian, s: Standup, m: Member, day: date, answers: list[str]) -> str:
    """Store the answers and show them in the day's thread: a new reply, or an edit of the old one."""
    run = _run(app, s, m.id, day)
    was_answered = run.status == "answered"
    padded = [a.strip() for a in answers] + [""] * (len(s.questions) - len(answers))
    run = replace(run, status="answered", answers=tuple(padded[: len(s.questions)]), answered_at=app.now())
    app.store.save_run(run)
    await _ensure_thread(app, s, day)
    key = answer_key(s, m.id, day)
    message = answer_message(app, s, m, run, edited=was_answered)
    if was_answered and app.outbox.sent(key):
        await app.outbox.update(s.workspace, key, message)
        return f"Your {s.name} answers for {fmt_day(day)} are updated in {s.channel}."
    await app.outbox.post(key, s.workspace, s.channel, message, thread_key=thread_key(s, day))
    late = " (after the summary, so they are marked late)" if is_closed(app, s, day) else ""
    return f"Thanks, {m.name}! Your {s.name} answers for {fmt_day(day)} are in the thread in {s.channel}{late}."


def _start_conversation(app: Meridian, s: Standup, m: Member, day: date) -> None:
    app.store.kv_set(s.workspace, conversation_key(m.id),
                     {"standup": s.name, "day": day.isoformat(), "index": 0, "answers": [], "seq": 0})


async def _dm(app: Meridian, s: Standup, m: Member, day: date, tag: str, message: Message) -> None:
    await app.outbox.dm(_key(s, "dm", m.id, day, tag), s.workspace, m.id, message)


# --- scheduled work --------------------------------------------------------------------------
def _item_context(app: Meridian, item: ClaimedItem) -> tuple[Standup, Member, date] | None:
    s = app.store.get_standup(item.workspace, item.payload["standup"])
    m = app.store.get_member(item.workspace, item.payload["member"])
    if s is None or m is None or s.paused or not s.includes(m):
        return None
    return s, m, date.fromisoformat(item.payload["day"])


def _needs_reminding(app: Meridian, s: Standup, m: Member, day: date) -> bool:
    run = app.store.get_run(s.workspace, s.name, m.id, day)
    if run and run.status in {"answered", "skipped"}:
        return False
    until = _skipped_until(app, s, m.id)
    # The member may have changed zone, days or out-of-office since the item was planned.
    return not (until and day <= until) and is_standup_day(m, s, day) and not is_closed(app, s, day)


async def on_reminder(app: Meridian, item: ClaimedItem) -> None:
    ctx = _item_context(app, item)
    if ctx is None:
        return
    s, m, day = ctx
    if not _needs_reminding(app, s, m, day):
        return
    tag = f"reminder{item.payload.get('snooze', '')}"
    await _dm(app, s, m, day, tag, reminder_message(app, s, m, day))
    run = _run(app, s, m.id, day)
    app.store.save_run(replace(run, status="reminded", reminded_at=app.now()))
    _start_conversation(app, s, m, day)


async def on_nudge(app: Meridian, item: ClaimedItem) -> None:
    ctx = _item_context(app, item)
    if ctx is None:
        return
    s, m, day = ctx
    if _needs_reminding(app, s, m, day):
        await _dm(app, s, m, day, "nudge", reminder_message(app, s, m, day, nudge=True))


async def on_summary(app: Meridian, item: ClaimedItem) -> None:
    s = app.store.get_standup(item.workspace, item.payload["standup"])
    if s is None:
        return
    day = date.fromisoformat(item.payload["day"])
    message, headline = summary_message(app, s, day)
    await _ensure_thread(app, s, day)
    await app.outbox.post(_key(s, "summary", day), s.workspace, s.channel, message, thread_key=thread_key(s, day))
    await app.outbox.update(s.workspace, thread_key(s, day), thread_header(s, day, headline))
    app.store.kv_set(s.workspace, closed_key(s, day), True)


# --- conversation in DMs ---------------------------------------------------------------------
async def on_dm(app: Meridian, msg: IncomingMessage) -> bool:
    """Answers typed into the DM, one question at a time."""
    if not msg.is_dm:
        return False
    state = app.store.kv_get(msg.workspace, conversation_key(msg.member.id))
    if not state:
        return False
    s = app.store.get_standup(msg.workspace, state["standup"])
    if s is None:
        app.store.kv_delete(msg.workspace, conversation_key(msg.member.id))
        return False
    day = date.fromisoformat(state["day"])
    answers = [*state["answers"], msg.text]
    seq = int(state.get("seq", 0)) + 1
    if len(answers) < len(s.questions):
        app.store.kv_set(msg.workspace, conversation_key(msg.member.id),
                         {**state, "index": len(answers), "answers": answers, "seq": seq})
        await _dm(app, s, msg.member, day, f"q{seq}",
                  Message((_question_section(s, len(answers)),), fallback=s.questions[len(answers)]))
        return True
    app.store.kv_delete(msg.workspace, conversation_key(msg.member.id))
    done = await save_answers(app, s, msg.member, day, answers)
    await _dm(app, s, msg.member, day, f"done{seq}", Message.text(done))
    return True


# --- buttons and forms -----------------------------------------------------------------------
def answer_form(app: Meridian, s: Standup, m: Member, day: date) -> Form:
    run = app.store.get_run(s.workspace, s.name, m.id, day)
    previous = list(run.answers) if run and run.status == "answered" else []
    plan = last_plan(app, s, m.id, day) or ""
    inputs = []
    for i, q in enumerate(s.questions):
        initial = previous[i] if i < len(previous) else (plan if i == 0 else "")
        inputs.append(FormInput(f"q{i}", q, multiline=True, initial=initial, optional=i == s.blocker_question()))
    return Form(f"{s.name} — {day:%a %d %b}"[:24], "standup.submit", tuple(inputs),
                metadata={"standup": s.name, "day": day.isoformat()})


async def on_action(app: Meridian, act: Action) -> Reply | None:
    name, _, day_s = (act.value or "|").partition("|")
    if act.action_id == "standup.submit":
        name, day_s = act.metadata.get("standup", ""), act.metadata.get("day", "")
    if act.action_id == "standup.setup.submit":
        return await _setup_from_form(app, act)
    s = app.store.get_standup(act.workspace, name)
    if s is None:
        return Reply(Message.text("That stand-up no longer exists."))
    day = date.fromisoformat(day_s) if day_s else answer_day(app, s, act.member, app.now())
    if day is None:
        return Reply(Message.text("You have no upcoming stand-up days."))
    if act.action_id == "standup.answer":
        return Reply(form=answer_form(app, s, act.member, day))
    if act.action_id == "standup.skip":
        return Reply(Message.text(_skip_day(app, s, act.member, day)))
    if act.action_id == "standup.snooze":
        app.store.schedule([DueItem(_key(s, "reminder", act.member.id, day, f"snooze{int(app.now().timestamp())}"),
                                    "standup.reminder", s.workspace, app.now() + timedelta(hours=1),
                                    {"standup": s.name, "member": act.member.id, "day": day.isoformat(),
                                     "snooze": f"-snooze-{int(app.now().timestamp())}"})])
        return Reply(Message.text("Snoozed: I'll remind you again in an hour."))
    if act.action_id == "standup.submit":
        answers = [act.values.get(f"q{i}", "") for i in range(len(s.questions))]
        if not any(a.strip() for a in answers):
            return Reply(Message.text("Your answers were empty, so nothing was posted."))
        app.store.kv_delete(act.workspace, conversation_key(act.member.id))
        return Reply(Message.text(await save_answers(app, s, act.member, day, answers)))
    return None


def _skip_day(app: Meridian, s: Standup, m: Member, day: date) -> str:
    run = _run(app, s, m.id, day)
    if run.status == "answered":
        return f"You already answered for {fmt_day(day)}; nothing to skip."
    app.store.save_run(replace(run, status="skipped"))
    state = app.store.kv_get(s.workspace, conversation_key(m.id))
    if state and state.get("standup") == s.name and state.get("day") == day.isoformat():
        app.store.kv_delete(s.workspace, conversation_key(m.id))
    return f"Skipped {s.name} for {fmt_day(day)}. No more reminders for that day."


# --- commands --------------------------------------------------------------------------------
def find_standup(app: Meridian, inv: Invocation, name: str | None = None) -> Standup:
    standups = app.store.list_standups(inv.workspace)
    if name:
        for s in standups:
            if s.name == name:
                return s
        raise CommandError(f"There is no stand-up called `{name}`.")
    mine = [s for s in standups if s.includes(inv.member)]
    for s in mine or standups:
        if inv.channel and s.channel == inv.channel:
            return s
    if mine:
        return mine[0]
    if standups:
        return standups[0]
    raise CommandError("There is no stand-up in this workspace yet; an admin can create one with /standup setup.")


async def cmd_answer(app: Meridian, inv: Invocation, args: list[str]) -> Reply:
    if args:
        raise CommandError(f"Unknown sub-command `{args[0]}` for /standup.")
    s = find_standup(app, inv)
    if not s.includes(inv.member):
        raise CommandError(f"You are not a participant of {s.name}; ask an admin to add you.")
    day = answer_day(app, s, inv.member, app.now())
    if day is None:
        raise CommandError("You have no upcoming stand-up days (check your workdays and out-of-office).")
    if inv.trigger:
        return Reply(form=answer_form(app, s, inv.member, day))
    _start_conversation(app, s, inv.member, day)
    plan = last_plan(app, s, inv.member.id, day)
    blocks: list[Any] = [Header(f"{s.name} — {fmt_day(day)}")]
    if plan:
        blocks.append(Context(rich("Last time you planned: ", truncate_user_text(plan, 500))))
    blocks.append(_question_section(s, 0))
    blocks.append(Context(rich("Reply in your DM with me, one answer at a time.")))
    await _dm(app, s, inv.member, day, f"start{int(app.now().timestamp())}",
              Message(tuple(blocks), fallback=s.questions[0]))
    return Reply(Message.text(f"I've sent you the {s.name} questions for {fmt_day(day)} in a DM."))


async def cmd_skip(app: Meridian, inv: Invocation, args: list[str]) -> Reply:
    s = find_standup(app, inv)
    what = [a.lower() for a in args]
    if not what or what == ["today"]:
        day = answer_day(app, s, inv.member, app.now())
        if day is None:
            raise CommandError("You have no upcoming stand-up day to skip.")
        return Reply(Message.text(_skip_day(app, s, inv.member, day)))
    if len(what) == 2 and what[0] == "until":
        try:
            until = parse_date(args[1])
        except TimeInputError as err:
            raise CommandError(str(err)) from None
        today = local_date(app.now(), inv.member.tz)
        if until < today:
            raise CommandError(f"{until.isoformat()} is in the past; give a date from today on.")
        app.store.kv_set(s.workspace, skip_key(inv.member.id, s.name), until.isoformat())
        return Reply(Message.text(f"Skipping {s.name} until {fmt_day(until)} inclusive. No reminders until then."))
    raise CommandError("Say `today` or `until YYYY-MM-DD`.")


def _require_admin(inv: Invocation) -> None:
    if not inv.member.is_admin:
        raise CommandError("Only workspace admins can change a stand-up's setup.")


async def _set_paused(app: Meridian, inv: Invocation, args: list[str], paused: bool) -> Reply:
    _require_admin(inv)
    s = find_standup(app, inv, args[0] if args else None)
    app.store.upsert_standup(replace(s, paused=paused))
    if paused:
        app.store.cancel_pending(s.workspace, _key(s, ""))
    app.engine.replan()
    state = "paused: no reminders until /standup resume" if paused else "resumed: reminders start again"
    return Reply(Message.text(f"{s.name} is {state}."), public=True)


async def cmd_pause(app: Meridian, inv: Invocation, args: list[str]) -> Reply:
    return await _set_paused(app, inv, args, True)


async def cmd_resume(app: Meridian, inv: Invocation, args: list[str]) -> Reply:
    return await _set_paused(app, inv, args, False)


SETUP_KEYS = ("channel", "at", "days", "questions", "cutoff", "nudge", "tz", "members", "mentions")


def _parse_days(text: str) -> frozenset[str]:
    text = text.lower().strip()
    if text in {"weekdays", "mon-fri"}:
        return frozenset(WEEKDAYS[:5])
    if "-" in text and "," not in text:
        a, b = text.split("-", 1)
        if a in WEEKDAYS and b in WEEKDAYS:
            i, j = WEEKDAYS.index(a), WEEKDAYS.index(b)
            return frozenset(WEEKDAYS[k % 7] for k in range(i, j + 1 if j >= i else j + 8))
    days = [d.strip()[:3] for d in re.split(r"[,\s]+", text) if d.strip()]
    bad = [d for d in days if d not in WEEKDAYS]
    if bad or not days:
        raise CommandError(f"`{text}` is not a list of days; write e.g. mon,tue,wed,thu,fri or sun-thu.")
    return frozenset(days)


def apply_setup(app: Meridian, workspace: str, name: str, options: dict[str, str], channel: str | None) -> Standup:
    existing = app.store.get_standup(workspace, name)
    s = existing or Standup(workspace=workspace, name=name, channel=channel or "#general")
    try:
        for key, value in options.items():
            if key == "channel":
                s = replace(s, channel=value)
            elif key == "at":
                s = replace(s, remind_at=parse_hhmm(value))
            elif key == "days":
                s = replace(s, days=_parse_days(value))
            elif key == "questions":
                qs = tuple(q.strip() for q in re.split(r"\s*\|\s*|\n", value) if q.strip())
                if not qs:
                    raise CommandError("Give at least one question, separated by |.")
                s = replace(s, questions=qs)
            elif key == "cutoff":
                s = replace(s, cutoff=parse_hhmm(value))
            elif key == "nudge":
                s = replace(s, nudge_after=timedelta(0) if value in {"off", "0"} else parse_duration(value))
            elif key == "tz":
                s = replace(s, tz=validate_zone(value))
            elif key == "members":
                s = replace(s, members=None if value == "all" else tuple(v for v in re.split(r"[,\s]+", value) if v))
            elif key == "mentions":
                s = replace(s, mention_missing=value.lower() in {"on", "yes", "true"})
    except TimeInputError as err:
        raise CommandError(str(err)) from None
    app.store.upsert_standup(s)
    app.store.cancel_pending(workspace, _key(s, ""))
    app.engine.replan()
    return s


async def cmd_setup(app: Meridian, inv: Invocation, args: list[str]) -> Reply:
    _require_admin(inv)
    if not args and inv.trigger:
        return Reply(form=setup_form(app, inv))
    if not args:
        raise CommandError("Name the stand-up and what to change, e.g. `/standup setup ml-daily at=09:30 days=mon-fri`.")
    name, options = args[0], {}
    for word in args[1:]:
        key, sep, value = word.partition("=")
        if not sep or key not in SETUP_KEYS:
            raise CommandError(f"`{word}` is not an option; use {', '.join(k + '=…' for k in SETUP_KEYS)}.")
        options[key] = value
    s = apply_setup(app, inv.workspace, name, options, inv.channel)
    return Reply(Message.text(f"{s.name} in {s.channel}: {s.remind_at:%H:%M} each person's time on "
                              f"{', '.join(d for d in WEEKDAYS if d in s.days)}; {len(s.questions)} questions."),
                 public=True)


def setup_form(app: Meridian, inv: Invocation) -> Form:
    s = app.store.get_standup(inv.workspace, find_standup(app, inv).name) if app.store.list_standups(inv.workspace) \
        else None
    return Form("Stand-up setup", "standup.setup.submit", (
        FormInput("name", "Name", initial=s.name if s else "daily"),
        FormInput("channel", "Channel", initial=s.channel if s else (inv.channel or ""), kind="channel"),
        FormInput("at", "Reminder time (each person's own clock)", initial=f"{s.remind_at:%H:%M}" if s else "09:30"),
        FormInput("days", "Days", initial=",".join(d for d in WEEKDAYS if s and d in s.days) or "mon,tue,wed,thu,fri"),
        FormInput("questions", "Questions (one per line)", multiline=True,
                  initial="\n".join(s.questions) if s else "\n".join(Standup("", "", "").questions)),
        FormInput("members", "Participants (member ids, or all)",
                  initial="all" if not s or s.members is None else ",".join(s.members)),
    ))


async def _setup_from_form(app: Meridian, act: Action) -> Reply:
    if not act.member.is_admin:
        return Reply(Message.text("Only workspace admins can change a stand-up's setup."))
    name = act.values.get("name", "").strip()
    if not name:
        return Reply(Message.text("The stand-up needs a name."))
    options = {k: v for k, v in act.values.items() if k in SETUP_KEYS and v.strip()}
    try:
        s = apply_setup(app, act.workspace, name, options, act.channel)
    except CommandError as err:
        return Reply(Message.text(str(err)))
    return Reply(Message.text(f"Saved {s.name} in {s.channel}."))


async def cmd_report(app: Meridian, inv: Invocation, args: list[str]) -> Reply:
    s = find_standup(app, inv)
    if len(args) > 1:
        raise CommandError("Give at most one date.")
    try:
        day = parse_date(args[0]) if args else _latest_closed_day(app, s)
    except TimeInputError as err:
        raise CommandError(str(err)) from None
    message, _ = summary_message(app, s, day)
    return Reply(message, public=True)


def _latest_closed_day(app: Meridian, s: Standup) -> date:
    """The newest day whose summary went out (what people mean by "the report"), else today."""
    today = local_date(app.now(), s.tz)
    for back in range(15):
        day = today - timedelta(days=back)
        if is_closed(app, s, day):
            return day
    return today


async def cmd_stats(app: Meridian, inv: Invocation, args: list[str]) -> Reply:
    if args:
        raise CommandError("`stats` takes no arguments.")
    s = find_standup(app, inv)
    today = local_date(app.now(), s.tz)
    first = today - timedelta(days=STATS_DAYS - 1)
    runs = app.store.runs_between(s.workspace, s.name, first, today)
    by_member: dict[str, dict[date, StandupRun]] = {}
    for r in runs:
        by_member.setdefault(r.member, {})[r.day] = r
    lines: list[Section] = []
    open_blockers: list[Any] = []
    for m in participants(app, s):
        mine = by_member.get(m.id, {})
        expected = answered = 0
        since = min(mine, default=today)  # count from their first stand-up, not from before they joined
        for i in range(STATS_DAYS):
            day = first + timedelta(days=i)
            if day < since or day > local_date(app.now(), m.tz) or not is_standup_day(m, s, day):
                continue
            run = mine.get(day)
            if run and run.status == "skipped":
                continue
            expected += 1
            answered += bool(run and run.status == "answered")
        rate = f"{100 * answered / expected:.0f}%" if expected else "—"
        lines.append(Section(rich(Strong(m.name), f": {answered}/{expected} days answered ({rate})")))
        answered_runs = sorted((r for r in mine.values() if r.status == "answered"), key=lambda r: r.day)
        if answered_runs and blocker_of(s, answered_runs[-1]):
            since = answered_runs[-1].day
            for r in reversed(answered_runs):
                if not blocker_of(s, r):
                    break
                since = r.day
            age = (today - since).days
            open_blockers.append(Section(rich(Strong(m.name), f" ({age} day{'s' if age != 1 else ''}): ",
                                              truncate_user_text(blocker_of(s, answered_runs[-1]) or "", 300))))
    blocks: list[Any] = [Header(f"📊 {s.name} — last {STATS_DAYS} days"), *lines, Divider(),
                         Section(rich(Strong(f"Open blockers ({len(open_blockers)})"))),
                         *(open_blockers or [Context(rich("None."))])]
    return Reply(Message(tuple(blocks), fallback=plain(rich(f"{s.name} participation over {STATS_DAYS} days"))))


def family() -> CommandFamily:
    return CommandFamily(
        name="standup",
        summary="asynchronous stand-ups on everyone's own clock",
        default=Subcommand("", "", "answer today's stand-up (or the next one, after your cut-off)", cmd_answer),
        subcommands=[
            Subcommand("setup", "setup NAME [at=09:30] [days=mon-fri] [questions=\"a | b | c\"] [channel=#x]",
                       "create or change a stand-up (admins)", cmd_setup),
            Subcommand("pause", "pause [NAME]", "pause a stand-up (admins)", cmd_pause),
            Subcommand("resume", "resume [NAME]", "resume a paused stand-up (admins)", cmd_resume),
            Subcommand("skip", "skip [today|until YYYY-MM-DD]", "skip without being nagged", cmd_skip),
            Subcommand("report", "report [YYYY-MM-DD]", "re-post a day's report", cmd_report),
            Subcommand("stats", "stats", "participation and open blockers over 4 weeks", cmd_stats),
        ],
    )


def install(app: Meridian) -> None:
    app.add_family(family())
    app.add_planner(plan_standups)
    app.on_due("standup.reminder", on_reminder)
    app.on_due("standup.nudge", on_nudge)
    app.on_due("standup.summary", on_summary)
    app.on_message(on_dm)
    app.on_action("standup.", on_action)
