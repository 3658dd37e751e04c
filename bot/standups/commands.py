"""The ``/standup`` family: answer, skip, setup, pause and resume, report, stats."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

from bot.kernel.commands import CommandError, CommandFamily, Invocation, Reply, Subcommand
from bot.kernel.dates import parse_day
from bot.kernel.domain import WEEKDAYS, Standup
from bot.kernel.messages import (
    Context,
    Divider,
    Header,
    Message,
    Section,
    Strong,
    plain,
    rich,
    truncate_user_text,
)
from bot.kernel.ports import ActivityOwners, StandupRun
from bot.kernel.timekeeping import TimeInputError, is_standup_day, local_date
from bot.standups.flow import dm, skip_day, start_conversation
from bot.standups.messages import answer_form, question_section, summary_message
from bot.standups.model import (
    STATS_DAYS,
    answer_day,
    blocker_of,
    find_standup,
    fmt_day,
    is_closed,
    last_plan,
    participants,
    skip_key,
    standup_key,
)
from bot.standups.setup import SETUP_KEYS, apply_setup, require_admin, setup_form

if TYPE_CHECKING:
    from bot.kernel.app import Meridian


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
    start_conversation(app, s, inv.member, day)
    plan = last_plan(app, s, inv.member.id, day)
    blocks: list[Any] = [Header(f"{s.name} — {fmt_day(day)}")]
    if plan:
        blocks.append(Context(rich("Last time you planned: ", truncate_user_text(plan, 500))))
    blocks.append(question_section(s, 0))
    blocks.append(Context(rich("Reply in your DM with me, one answer at a time.")))
    await dm(app, s, inv.member, day, f"start{int(app.now().timestamp())}",
             Message(tuple(blocks), fallback=s.questions[0]))
    return Reply(Message.text(f"I've sent you the {s.name} questions for {fmt_day(day)} in a DM."))


async def cmd_skip(app: Meridian, inv: Invocation, args: list[str]) -> Reply:
    s = find_standup(app, inv)
    what = [a.lower() for a in args]
    if not what or what == ["today"]:
        day = answer_day(app, s, inv.member, app.now())
        if day is None:
            raise CommandError("You have no upcoming stand-up day to skip.")
        return Reply(Message.text(skip_day(app, s, inv.member, day)))
    if len(what) >= 2 and what[0] == "until":
        today = local_date(app.now(), inv.member.tz)
        try:
            until = parse_day(" ".join(args[1:]), today)
        except TimeInputError as err:
            raise CommandError(str(err)) from None
        if until < today:
            raise CommandError(f"{until.isoformat()} is in the past; give a date from today on.")
        app.store.kv_set(s.workspace, skip_key(inv.member.id, s.name), until.isoformat())
        return Reply(Message.text(f"Skipping {s.name} until {fmt_day(until)} inclusive. No reminders until then."))
    raise CommandError("Say `today` or `until YYYY-MM-DD`.")


async def _set_paused(app: Meridian, inv: Invocation, args: list[str], paused: bool) -> Reply:
    require_admin(inv)
    s = find_standup(app, inv, args[0] if args else None)
    app.store.upsert_standup(replace(s, paused=paused))
    if paused:
        app.store.cancel_pending(s.workspace, standup_key(s, ""))
    app.engine.replan()
    state = "paused: no reminders until /standup resume" if paused else "resumed: reminders start again"
    return Reply(Message.text(f"{s.name} is {state}."), public=True)


async def cmd_pause(app: Meridian, inv: Invocation, args: list[str]) -> Reply:
    return await _set_paused(app, inv, args, True)


async def cmd_resume(app: Meridian, inv: Invocation, args: list[str]) -> Reply:
    return await _set_paused(app, inv, args, False)


async def cmd_setup(app: Meridian, inv: Invocation, args: list[str]) -> Reply:
    require_admin(inv)
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


async def cmd_report(app: Meridian, inv: Invocation, args: list[str], *, owners: ActivityOwners | None) -> Reply:
    s = find_standup(app, inv)
    try:
        day = (parse_day(" ".join(args), local_date(app.now(), inv.member.tz), prefer="past") if args
               else _latest_closed_day(app, s))
    except TimeInputError as err:
        raise CommandError(str(err)) from None
    message, _ = summary_message(app, owners, s, day)
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


def family(owners: ActivityOwners | None = None) -> CommandFamily[Meridian]:
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
            Subcommand("report", "report [YYYY-MM-DD]", "re-post a day's report", partial(cmd_report, owners=owners)),
            Subcommand("stats", "stats", "participation and open blockers over 4 weeks", cmd_stats),
        ],
    )
