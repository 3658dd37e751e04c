"""The ``/standup`` family: answer, skip, setup, pause and resume, report, stats."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

from bot.kernel.commands import CommandError, CommandFamily, Invocation, Reply, Subcommand
from bot.kernel.dates import parse_day
from bot.kernel.domain import WEEKDAYS, Member, Standup, weekday_name
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
from bot.kernel.timekeeping import TimeInputError, cutoff_at, local_date
from bot.standups.blocker_items import cmd_blockers
from bot.standups.blockers import Blocker, verdict_of
from bot.standups.flow import dm, skip_day, start_conversation
from bot.standups.messages import (
    answer_form,
    current_answers,
    local_when,
    now_answer,
    question_section,
    summary_message,
)
from bot.standups.model import (
    STATS_DAYS,
    answer_day,
    find_standup,
    fmt_day,
    is_closed,
    is_early,
    last_plan,
    participants,
    run_of,
    save_skip,
    standup_key,
    thread_opened,
)
from bot.standups.report import EXCUSED, no_stand_up, standing
from bot.standups.setup import SETUP_KEYS, apply_setup, require_admin, setup_form
from bot.standups.tracking import day_number, open_items

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
    m = inv.member
    current = run_of(app, s, m.id, day)
    editing = current.status == "answered"
    state = start_conversation(app, s, m, day, edit=editing)
    early = is_early(m, day, app.now())
    cut = cutoff_at(m, s, day).astimezone(m.zone)
    until = local_when(cut, m) if early else f"{cut:%H:%M} your time"
    blocks: list[Any] = [Header(f"{'✏️ Edit: ' if editing else ''}{s.name} — {fmt_day(day)}")]
    if editing:
        blocks.append(current_answers(s, current.answers))
        blocks.append(Context(rich("Reply to each question with the new text, or `keep` to leave it as it is; "
                                   f"`cancel` stops without changing anything. Open until {until}.")))
        blocks.append(question_section(s, 0))
        blocks.append(now_answer(current.answers, 0))
    else:
        plan = last_plan(app, s, m.id, day)
        if plan:
            blocks.append(Context(rich("Last time you planned: ", truncate_user_text(plan, 500))))
        blocks.append(question_section(s, 0))
        note = (f" These answers are for {fmt_day(day)}: they go into its thread when it opens."
                if early and not thread_opened(app, s, day) else "")
        blocks.append(Context(rich(f"Reply in your DM with me, one answer at a time. Open until {until}.{note}")))
    await dm(app, s, m, day, f"start{state['sid']}", Message(tuple(blocks), fallback=s.questions[0]))
    if editing:
        return Reply(Message.text(f"Your current {s.name} answers for {fmt_day(day)} are in your DM with me; "
                                  "change them there."))
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
        save_skip(app, s, inv.member.id, today, until)
        return Reply(Message.text(f"Skipping {s.name} until {fmt_day(until)} inclusive. No reminders until then."))
    raise CommandError("Say `today` or `until YYYY-MM-DD`.")


async def _set_paused(app: Meridian, inv: Invocation, args: list[str], paused: bool) -> Reply:
    require_admin(inv)
    if len(args) > 1:
        raise CommandError("Name at most one stand-up.")
    s = find_standup(app, inv, args[0] if args else None)
    if s.paused == paused:
        # Nothing changes, so nothing is announced: only the admin who asked hears it.
        again = f"/standup resume {s.name}" if paused else f"/standup pause {s.name}"
        return Reply(Message.text(f"{s.name} is already {'paused' if paused else 'running'}; "
                                  f"nothing changed ({again} to change that)."))
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
    """A day's report, to the asker only unless they add ``public``."""
    s = find_standup(app, inv)
    public = bool(args) and args[-1].lower() == "public"
    rest = args[:-1] if public else args
    try:
        day = (parse_day(" ".join(rest), local_date(app.now(), inv.member.tz), prefer="past") if rest
               else _latest_closed_day(app, s))
    except TimeInputError as err:
        more = " Give one date, and `public` to post the report in the channel." if len(rest) > 1 else ""
        raise CommandError(f"{err}{more}") from None
    nothing = no_stand_up(app, s, day, inv.member)
    if nothing is not None:
        return Reply(Message.text(nothing))  # one private line, never a made-up report in the channel
    message, _ = summary_message(app, owners, s, day)
    return Reply(message, public=public)


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
    team_start = min((r.day for r in runs), default=today)
    # A day nobody was reminded and no summary went out (paused, or not running yet) had no stand-up to miss.
    held = {r.day for r in runs} | {first + timedelta(days=i) for i in range(STATS_DAYS)
                                    if is_closed(app, s, first + timedelta(days=i))}
    lines: list[Section] = []
    open_blockers: list[Any] = []
    for m in participants(app, s):
        mine = by_member.get(m.id, {})
        start = min(mine, default=team_start)  # from their first stand-up, not from before they joined
        lines.append(Section(rich(Strong(m.name), f": {_participation(app, s, m, mine, start, today, held)}")))
        blocker = _open_blocker(app, s, m)
        if blocker is not None:
            n, found = blocker
            mark = "" if found.confirmed else ", unconfirmed"
            open_blockers.append(Section(rich(Strong(m.name), f" (day {n}{mark}): ",
                                              truncate_user_text(found.text, 300))))
    blocks: list[Any] = [Header(f"📊 {s.name} — last {STATS_DAYS} days"), *lines, Divider(),
                         Section(rich(Strong(f"Open blockers ({len(open_blockers)})"))),
                         *(open_blockers or [Context(rich("None."))])]
    return Reply(Message(tuple(blocks), fallback=plain(rich(f"{s.name} participation over {STATS_DAYS} days"))))


def _participation(app: Meridian, s: Standup, m: Member, mine: dict[date, StandupRun], since: date,
                   today: date, held: set[date]) -> str:
    """``3/4 days answered (75%)``, naming the excused days the denominator leaves out (the report's rules)."""
    now = app.now()
    counted = answered = 0
    excused: dict[str, int] = {}
    for i in range((today - since).days + 1):
        day = since + timedelta(days=i)
        if weekday_name(day) not in s.days or day > local_date(now, m.tz) or day not in held:
            continue
        kind = standing(app, s, m, day, mine.get(day), now)
        if kind in EXCUSED:
            if kind != "not yet due":
                excused[kind] = excused.get(kind, 0) + 1
            continue
        if kind == "open":
            continue  # today, still answerable: neither a miss nor an answer yet
        counted += 1
        answered += kind == "answered"
    rate = f"{100 * answered / counted:.0f}%" if counted else "—"
    text = f"{answered}/{counted} days answered ({rate})"
    if excused:
        text += " · not counted: " + ", ".join(f"{n} {k}" for k, n in excused.items())
    return text


def _open_blocker(app: Meridian, s: Standup, m: Member) -> tuple[int, Blocker] | None:
    """The member's open blocker (the newest) and which of their stand-up days today is for it.

    The same item the reports and ``/standup blockers`` show: a blocker someone resolved is not open
    here either, and a day out of office does not age it."""
    items = open_items(app, s, m.id)
    if not items:
        return None
    item = items[-1]
    run = app.store.get_run(s.workspace, s.name, m.id, item.days[-1]) if item.days else None
    confirmed = run is None or verdict_of(app, s, run) != "unsure"
    return day_number(m, s, item, max(local_date(app.now(), m.tz), item.since)), Blocker(item.text, confirmed)


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
            Subcommand("report", "report [YYYY-MM-DD] [public]",
                       "a day's report, shown to you only; add public to post it in the channel",
                       partial(cmd_report, owners=owners)),
            Subcommand("stats", "stats", "participation and open blockers over 4 weeks", cmd_stats),
            Subcommand("blockers", "blockers [NAME]",
                       "open blockers with their age and owner; press Resolved when one clears",
                       partial(cmd_blockers, owners=owners)),
        ],
    )
