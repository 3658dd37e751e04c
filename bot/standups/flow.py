"""The stand-up as it happens: reminders and nudges, answers typed into the DM one question at a time,
buttons and forms, answers posted (or edited) in the day's thread, and the summary at the last cut-off.

Handlers that post an answer or a summary take ``owners`` (the ``ActivityOwners`` port
the capability was built with) so a blocker can point at its owner.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from typing import TYPE_CHECKING

from bot.kernel.commands import Reply
from bot.kernel.domain import Member, Standup
from bot.kernel.messages import Message
from bot.kernel.ports import ActivityOwners, ClaimedItem, DueItem
from bot.kernel.timekeeping import is_standup_day
from bot.standups.blocker_question import ask_if_unsure
from bot.standups.blockers import verdict_of
from bot.standups.messages import (
    answer_form,
    answer_message,
    question_section,
    reminder_message,
    summary_message,
    thread_header,
)
from bot.standups.model import (
    answer_day,
    answer_key,
    closed_key,
    conversation_key,
    fmt_day,
    is_closed,
    run_of,
    skipped_until,
    standup_key,
    thread_key,
)
from bot.standups.setup import setup_from_form

if TYPE_CHECKING:
    from bot.kernel.app import Action, IncomingMessage, Meridian


# --- delivery of answers ---------------------------------------------------------------------
async def ensure_thread(app: Meridian, s: Standup, day: date) -> None:
    await app.outbox.post(thread_key(s, day), s.workspace, s.channel, thread_header(s, day))


async def save_answers(app: Meridian, owners: ActivityOwners | None, s: Standup, m: Member, day: date,
                       answers: list[str]) -> str:
    """Store the answers and show them in the day's thread: a new reply, or an edit of the old one."""
    run = run_of(app, s, m.id, day)
    was_answered = run.status == "answered"
    padded = [a.strip() for a in answers] + [""] * (len(s.questions) - len(answers))
    run = replace(run, status="answered", answers=tuple(padded[: len(s.questions)]), answered_at=app.now())
    app.store.save_run(run)
    await ensure_thread(app, s, day)
    key = answer_key(s, m.id, day)
    message = answer_message(owners, s, m, run, edited=was_answered, verdict=verdict_of(app, s, run))
    if was_answered and app.outbox.sent(key):
        await app.outbox.update(s.workspace, key, message)
        await ask_if_unsure(app, s, m, run)
        return f"Your {s.name} answers for {fmt_day(day)} are updated in {s.channel}."
    await app.outbox.post(key, s.workspace, s.channel, message, thread_key=thread_key(s, day))
    await ask_if_unsure(app, s, m, run)
    late = " (after the summary, so they are marked late)" if is_closed(app, s, day) else ""
    return f"Thanks, {m.name}! Your {s.name} answers for {fmt_day(day)} are in the thread in {s.channel}{late}."


def start_conversation(app: Meridian, s: Standup, m: Member, day: date) -> None:
    """From now on, what the member types in their DM answers this day's questions, in order."""
    app.store.kv_set(s.workspace, conversation_key(m.id),
                     {"standup": s.name, "day": day.isoformat(), "index": 0, "answers": [], "seq": 0})


async def dm(app: Meridian, s: Standup, m: Member, day: date, tag: str, message: Message) -> None:
    await app.outbox.dm(standup_key(s, "dm", m.id, day, tag), s.workspace, m.id, message)


def skip_day(app: Meridian, s: Standup, m: Member, day: date) -> str:
    run = run_of(app, s, m.id, day)
    if run.status == "answered":
        return f"You already answered for {fmt_day(day)}; nothing to skip."
    app.store.save_run(replace(run, status="skipped"))
    state = app.store.kv_get(s.workspace, conversation_key(m.id))
    if state and state.get("standup") == s.name and state.get("day") == day.isoformat():
        app.store.kv_delete(s.workspace, conversation_key(m.id))
    return f"Skipped {s.name} for {fmt_day(day)}. No more reminders for that day."


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
    until = skipped_until(app, s, m.id)
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
    await dm(app, s, m, day, tag, reminder_message(app, s, m, day))
    run = run_of(app, s, m.id, day)
    app.store.save_run(replace(run, status="reminded", reminded_at=app.now()))
    start_conversation(app, s, m, day)


async def on_nudge(app: Meridian, item: ClaimedItem) -> None:
    ctx = _item_context(app, item)
    if ctx is None:
        return
    s, m, day = ctx
    if _needs_reminding(app, s, m, day):
        await dm(app, s, m, day, "nudge", reminder_message(app, s, m, day, nudge=True))


async def on_summary(app: Meridian, item: ClaimedItem, *, owners: ActivityOwners | None) -> None:
    s = app.store.get_standup(item.workspace, item.payload["standup"])
    if s is None:
        return
    day = date.fromisoformat(item.payload["day"])
    message, headline = summary_message(app, owners, s, day)
    await ensure_thread(app, s, day)
    await app.outbox.post(standup_key(s, "summary", day), s.workspace, s.channel, message,
                          thread_key=thread_key(s, day))
    await app.outbox.update(s.workspace, thread_key(s, day), thread_header(s, day, headline))
    app.store.kv_set(s.workspace, closed_key(s, day), True)


# --- conversation in DMs ---------------------------------------------------------------------
async def on_dm(app: Meridian, msg: IncomingMessage, *, owners: ActivityOwners | None) -> bool:
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
        await dm(app, s, msg.member, day, f"q{seq}",
                 Message((question_section(s, len(answers)),), fallback=s.questions[len(answers)]))
        return True
    app.store.kv_delete(msg.workspace, conversation_key(msg.member.id))
    done = await save_answers(app, owners, s, msg.member, day, answers)
    await dm(app, s, msg.member, day, f"done{seq}", Message.text(done))
    return True


# --- buttons and forms -----------------------------------------------------------------------
async def on_action(app: Meridian, act: Action, *, owners: ActivityOwners | None) -> Reply | None:
    name, _, day_s = (act.value or "|").partition("|")
    if act.action_id == "standup.submit":
        name, day_s = act.metadata.get("standup", ""), act.metadata.get("day", "")
    if act.action_id == "standup.setup.submit":
        return await setup_from_form(app, act)
    s = app.store.get_standup(act.workspace, name)
    if s is None:
        return Reply(Message.text("That stand-up no longer exists."))
    day = date.fromisoformat(day_s) if day_s else answer_day(app, s, act.member, app.now())
    if day is None:
        return Reply(Message.text("You have no upcoming stand-up days."))
    if act.action_id == "standup.answer":
        return Reply(form=answer_form(app, s, act.member, day))
    if act.action_id == "standup.skip":
        return Reply(Message.text(skip_day(app, s, act.member, day)))
    if act.action_id == "standup.snooze":
        app.store.schedule([DueItem(standup_key(s, "reminder", act.member.id, day,
                                                f"snooze{int(app.now().timestamp())}"),
                                    "standup.reminder", s.workspace, app.now() + timedelta(hours=1),
                                    {"standup": s.name, "member": act.member.id, "day": day.isoformat(),
                                     "snooze": f"-snooze-{int(app.now().timestamp())}"})])
        return Reply(Message.text("Snoozed: I'll remind you again in an hour."))
    if act.action_id == "standup.submit":
        answers = [act.values.get(f"q{i}", "") for i in range(len(s.questions))]
        if not any(a.strip() for a in answers):
            return Reply(Message.text("Your answers were empty, so nothing was posted."))
        app.store.kv_delete(act.workspace, conversation_key(act.member.id))
        return Reply(Message.text(await save_answers(app, owners, s, act.member, day, answers)))
    return None
