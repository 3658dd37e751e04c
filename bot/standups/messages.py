"""What stand-ups say: the reminder, the day's thread header, an answer, the summary, the answer form.

Answers and summaries point a blocker at its owner when the blocker names an activity
someone owns (``ActivityOwners``, which RACI offers); without that port they say nothing more.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from bot.kernel.domain import Member, Standup
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
    rich,
    truncate_user_text,
)
from bot.kernel.ports import ActivityOwners, StandupRun
from bot.kernel.routing import named, route
from bot.kernel.timekeeping import cutoff_at, reminder_at, zone, zone_label
from bot.standups.blockers import Blocker, Verdict, blocker_in, blocker_text, classify
from bot.standups.model import (
    answer_day,
    fmt_day,
    is_late,
    last_plan,
    next_session,
    run_of,
    thread_opened,
)
from bot.standups.report import Standing, day_standings, excluded_note, why_away
from bot.standups.tracking import TrackedBlocker, covering, day_number, resolve_actions

if TYPE_CHECKING:
    from bot.kernel.app import Meridian


def question_section(s: Standup, index: int) -> Section:
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
    blocks.append(question_section(s, 0))
    blocks.append(Context(rich(f"Reply here one answer at a time, or press Answer for a form. "
                               f"Open until {cut:%H:%M} your time.")))
    blocks.append(Actions((Button("Answer", "standup.answer", f"{s.name}|{day}", "primary", opens_form=True),
                           Button("Skip today", "standup.skip", f"{s.name}|{day}"),
                           Button("Snooze 1 h", "standup.snooze", f"{s.name}|{day}"))))
    return Message(tuple(blocks), fallback=f"{s.name} stand-up for {fmt_day(day)}: {s.questions[0]}")


def current_answers(s: Standup, answers: tuple[str, ...] | list[str]) -> Section:
    """What the person answered so far, so an edit is never blind."""
    parts: list[Inline] = [Strong("Your current answers:")]
    for i, q in enumerate(s.questions):
        a = answers[i] if i < len(answers) else ""
        parts.extend(["\n", Strong(f"{i + 1}/{len(s.questions)} {q}"), " ", truncate_user_text(a) if a.strip() else "—"])
    return Section(tuple(parts))


def now_answer(answers: tuple[str, ...] | list[str], index: int) -> Context:
    a = answers[index] if index < len(answers) else ""
    return Context(rich("Now: ", truncate_user_text(a, 500) if a.strip() else "—",
                        " · reply with the new text, or `keep`"))


def local_when(instant: datetime, m: Member) -> str:
    """An instant as the person reads it: ``Tue 16 Mar at 09:30 PDT``."""
    at = instant.astimezone(m.zone)
    return f"{at:%a} {at.day} {at:%b} at {at:%H:%M} {at.tzname()}"


def no_session_message(app: Meridian, standups: list[Standup], m: Member) -> Message:
    """A DM outside any answering session: nothing is taken as an answer; say what is open and what comes next."""
    now = app.now()
    lines = ["No stand-up is open in this chat right now, so I haven't taken that as an answer."]
    for s in standups:
        if s.paused:
            lines.append(f"{s.name} is paused: no reminders until an admin resumes it.")
            continue
        current = answer_day(app, s, m, now)
        status = run_of(app, s, m.id, current).status if current is not None else ""
        if current is not None and status == "answered":
            where = "are in" if thread_opened(app, s, current) else "are saved for that day's thread"
            lines.append(f"Your {s.name} answers for {fmt_day(current)} {where}; type /standup to change them "
                         f"until {local_when(cutoff_at(m, s, current), m)}.")
        elif current is not None and status != "skipped" and reminder_at(m, s, current) <= now:
            lines.append(f"You can still answer {s.name} for {fmt_day(current)} until "
                         f"{local_when(cutoff_at(m, s, current), m)} (your time): type /standup.")
            continue
        day = next_session(app, s, m, now)
        if day is None:
            lines.append(f"You have no upcoming {s.name} days.")
        elif run_of(app, s, m.id, day).status != "answered":
            lines.append(f"Your next {s.name} stand-up opens {local_when(reminder_at(m, s, day), m)} "
                         f"(your time); type /standup to answer it now.")
    return Message.text("\n".join(lines))


def thread_header(s: Standup, day: date, counts: str | None = None) -> Message:
    line = counts or "Answers arrive in this thread as people post them; the summary follows at the cut-off."
    return Message((Header(f"📋 {s.name} — {fmt_day(day)}"), Context(rich(line))),
                   fallback=f"{s.name} stand-up — {fmt_day(day)}")


def owner_hint(app: Meridian, owners: ActivityOwners | None, s: Standup, blocker: str) -> tuple[Inline, ...]:
    """When a blocker names an owned activity, point at its Accountable person.

    The escalation is routed (``bot.kernel.routing``): a ping only when the Accountable is in
    their working hours and not away; otherwise their name with why, and their delegate, if they
    are away and named one, pinged in their stead."""
    hint = owners.owner_hint(s.workspace, blocker) if owners is not None else None
    if not hint:
        return ()
    activity, accountable = hint
    routing = route([(accountable, "A")], app.now(), partial(app.store.get_member, s.workspace))
    return (" — ", activity, " is owned by ", *named(routing.people))


def answer_message(app: Meridian, owners: ActivityOwners | None, s: Standup, m: Member, run: StandupRun,
                   edited: bool = False, verdict: Verdict | None = None) -> Message:
    """One person's answers for the thread; ``verdict`` is what is known of the blocker answer (else it is read)."""
    when = run.answered_at.astimezone(m.zone) if run.answered_at else None
    head: list[Inline] = [Mention(m.id, m.name)]
    if when:
        # An answer given before its day (early) names the day it was given on.
        head.append(f" · {when:%a} {when:%H:%M} {zone_label(when, m.tz)}" if when.date() != run.day
                    else f" · {when:%H:%M} {zone_label(when, m.tz)}")
    if is_late(s, m, run):
        head.append(" · late")
    if edited:
        head.append(" · edited")
    blocks: list[Any] = [Section(tuple(head))]
    for q, a in zip(s.questions, run.answers, strict=False):
        blocks.append(Section(rich(Strong(q), "\n", truncate_user_text(a) if a.strip() else "—")))
    text = blocker_text(s, run)
    verdict = verdict or (classify(text) if text else "none")
    item = covering(app, s, m.id, run.day) if verdict != "none" else None
    if item is not None and not item.is_open:
        blocks.append(Context(rich("✅ Blocker resolved: ", truncate_user_text(text, 500), resolved_note(s, item))))
        return Message(tuple(blocks), fallback=f"{m.name} answered the {s.name} stand-up")
    age = f" (day {n})" if item is not None and (n := day_number(m, s, item, run.day)) > 1 else ""
    if verdict == "blocker":
        blocks.append(Context(rich(f"🚧 Blocker{age}: ", truncate_user_text(text, 500),
                                   *owner_hint(app, owners, s, text))))
    elif verdict == "unsure":
        blocks.append(Context(rich(f"🚧 Possible blocker{age} (asked {m.name} to confirm): ",
                                   truncate_user_text(text, 500), *owner_hint(app, owners, s, text))))
    if item is not None:
        blocks.append(resolve_actions(s, item))
    return Message(tuple(blocks), fallback=f"{m.name} answered the {s.name} stand-up")


def with_resolve(app: Meridian, s: Standup, m: Member, day: date, text: str) -> Message:
    """A reply to the author about their answers, with **Resolved** when the answers name an open blocker."""
    item = covering(app, s, m.id, day)
    if item is None or not item.is_open or day not in item.days:
        return Message.text(text)
    return Message((Section(rich(text)), Context(rich("🚧 Blocker: ", truncate_user_text(item.text, 300),
                                                      " — press Resolved when it clears.")),
                    resolve_actions(s, item)), fallback=text)


def resolved_note(s: Standup, item: TrackedBlocker) -> str:
    """`` — resolved by Ravi, Tue 16 Mar 10:02 GMT`` (the stand-up's zone), or by the author's answer."""
    if item.resolved_at is None:
        return ""
    at = item.resolved_at.astimezone(zone(s.tz))
    how = "their next answer" if item.resolved_how == "answer" else item.resolved_name
    return f" — resolved by {how}, {at:%a} {at.day} {at:%b %H:%M} {at.tzname()}"


def _names(people: list[Member], mention: bool = False, late: frozenset[str] = frozenset(),
           why: dict[str, str] | None = None) -> tuple[Inline, ...]:
    parts: list[Inline] = []
    for i, p in enumerate(people):
        if i:
            parts.append(", ")
        parts.append(Mention(p.id, p.name) if mention else p.name)
        if p.id in late:
            parts.append(" (late)")
        if why and p.id in why:
            parts.append(f" ({why[p.id]})")
    return tuple(parts)


@dataclass(frozen=True)
class DayBlocker:
    """One blocker in a day's report: named in that day's answer, or carried over from an earlier one."""

    member: Member
    blocker: Blocker
    item: TrackedBlocker | None
    carried: bool = False
    """Not named that day (no answer): shown because it is still open from an earlier day."""

    def blocks(self, app: Meridian, owners: ActivityOwners | None, s: Standup, day: date) -> list[Any]:
        b, item = self.blocker, self.item
        marks = [] if b.confirmed else ["unconfirmed"]
        if self.carried:
            marks.append("carried over")
        if item is not None and (n := day_number(self.member, s, item, day)) > 1:
            marks.append(f"day {n}")
        mark = f" ({', '.join(marks)})" if marks else ""
        if item is not None and not item.is_open:
            return [Section(rich("✅ ", Strong(self.member.name), f"{mark}: ", truncate_user_text(b.text, 500),
                                 resolved_note(s, item)))]
        section = Section(rich(Strong(self.member.name), f"{mark}: ", truncate_user_text(b.text, 500),
                               *owner_hint(app, owners, s, b.text)))
        return [section, resolve_actions(s, item)] if item is not None else [section]


def day_blockers(app: Meridian, s: Standup, day: date,
                 people: list[tuple[Member, Standing, StandupRun | None]]) -> list[DayBlocker]:
    """Every blocker the report of ``day`` shows, in the team's order."""
    found: list[DayBlocker] = []
    for m, kind, run in people:
        named = blocker_in(app, s, run) if kind == "answered" and run is not None else None
        item = covering(app, s, m.id, day)
        if named is not None:
            found.append(DayBlocker(m, named, item))
        elif item is not None and kind != "answered" and day not in item.days:
            found.append(DayBlocker(m, Blocker(item.text, confirmed=True), item, carried=True))
    return found


SECTIONS: tuple[tuple[str, tuple[Standing, ...]], ...] = (
    ("Answered", ("answered",)),
    ("Still open", ("open",)),
    ("Not answered", ("not answered",)),
    ("Not yet due", ("not yet due",)),
    ("Skipped", ("skipped",)),
    ("Away", ("away",)),
)


def summary_message(app: Meridian, owners: ActivityOwners | None, s: Standup, day: date) -> tuple[Message, str]:
    """The day's summary and the one-line headline for the thread's parent message.

    Empty sections are left out. Skipped, away and not-yet-due people are not in the
    headline's denominator, and the headline names them.
    """
    standings = day_standings(app, s, day)
    blockers = day_blockers(app, s, day, standings.people)
    answered = standings.who("answered")
    late = frozenset(m.id for m, kind, run in standings.people
                     if kind == "answered" and run is not None and is_late(s, m, run))
    unconfirmed = sum(1 for b in blockers if not b.blocker.confirmed)
    resolved = sum(1 for b in blockers if b.item is not None and not b.item.is_open)
    headline = f"{len(answered)}/{standings.counted()} answered"
    excluded = excluded_note(standings)
    if excluded:
        headline += f" ({excluded})"
    headline += f" · {len(blockers)} blocker{'s' if len(blockers) != 1 else ''}"
    notes = [f"{n} {what}" for n, what in ((unconfirmed, "unconfirmed"), (resolved, "resolved")) if n]
    if notes:
        headline += f" ({', '.join(notes)})"
    so_far = " so far" if standings.who("open", "not yet due") else ""
    blocks: list[Any] = [Header(f"🧾 {s.name} summary{so_far} — {fmt_day(day)}")]
    for title, kinds in SECTIONS:
        people = standings.who(*kinds)
        if people:
            mention = s.mention_missing and "not answered" in kinds
            why = {m.id: r for m in people if "away" in kinds and (r := why_away(m, day))}
            blocks.append(Section(rich(Strong(f"{title} ({len(people)})"), ": ",
                                       *_names(people, mention, late, why))))
    if blockers:
        blocks.append(Divider())
        blocks.append(Section(rich(Strong(f"🚧 Blockers ({len(blockers)})"))))
        for b in blockers:
            blocks.extend(b.blocks(app, owners, s, day))
    else:
        blocks.append(Context(rich("No blockers reported.")))
    fallback = f"{s.name} summary for {fmt_day(day)}: {headline}"
    return Message(tuple(blocks), fallback=fallback), headline


def answer_form(app: Meridian, s: Standup, m: Member, day: date) -> Form:
    """The day's questions as a form, filled with earlier answers (an edit) or the last plan."""
    run = app.store.get_run(s.workspace, s.name, m.id, day)
    previous = list(run.answers) if run and run.status == "answered" else []
    plan = last_plan(app, s, m.id, day) or ""
    inputs = []
    for i, q in enumerate(s.questions):
        initial = previous[i] if i < len(previous) else (plan if i == 0 else "")
        inputs.append(FormInput(f"q{i}", q, multiline=True, initial=initial, optional=i == s.blocker_question()))
    return Form(f"{s.name} — {day:%a %d %b}"[:24], "standup.submit", tuple(inputs),
                metadata={"standup": s.name, "day": day.isoformat()})
