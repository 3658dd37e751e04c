"""The stand-up as it happens: reminders and nudges, answers typed into the DM one question at a time,
buttons and forms, answers posted (or edited) in the day's thread, and the summary at the last cut-off.

A DM is an answer only inside an answering session (kept under ``conversation_key``): the
reminder, the Answer button and ``/standup`` open one for a day; it ends after the last question,
at ``cancel``, or at the member's cut-off. Any other DM gets a short note saying when the next
stand-up opens (``on_idle_dm``, offered after every other capability). A day's thread opens at
its first reminder or first on-time answer; answers given before their day wait in the store
until then.

Handlers that post an answer or a summary take ``owners`` (the ``ActivityOwners`` port
the capability was built with) so a blocker can point at its owner.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from bot.kernel.commands import Reply
from bot.kernel.domain import Member, Standup
from bot.kernel.messages import Context, Message, rich
from bot.kernel.ports import ActivityOwners, ClaimedItem, DueItem, StandupRun
from bot.kernel.timekeeping import cutoff_at, is_standup_day
from bot.standups.blocker_items import after_summary, refresh_posts, track_answer
from bot.standups.blocker_question import ask_if_unsure
from bot.standups.blockers import verdict_of
from bot.standups.messages import (
    answer_form,
    answer_message,
    no_session_message,
    now_answer,
    question_section,
    reminder_message,
    summary_message,
    thread_header,
    with_resolve,
)
from bot.standups.model import (
    answer_day,
    answer_key,
    closed_key,
    conversation_key,
    fmt_day,
    is_closed,
    is_early,
    is_late,
    last_skipped_day,
    run_of,
    sessions_key,
    skip_key,
    spans_of,
    standup_key,
    thread_key,
    thread_opened,
)
from bot.standups.setup import setup_from_form

if TYPE_CHECKING:
    from bot.kernel.app import Action, IncomingMessage, Meridian


# --- delivery of answers ---------------------------------------------------------------------
@dataclass(frozen=True)
class _Thread:
    """The day's thread as the store has it: whether it is out, and the answers waiting for it."""

    out: bool
    waiting: list[tuple[StandupRun, Member]]


def _thread_state(app: Meridian, s: Standup, day: date) -> _Thread:
    # Every reminder of a fan-out comes here: once the thread is out, one read says so.
    return _Thread(app.outbox.sent(thread_key(s, day)) is not None, _waiting_answers(app, s, day))


async def open_thread(app: Meridian, owners: ActivityOwners | None, s: Standup, day: date,
                      thread: _Thread | None = None) -> None:
    """Start the day's thread and post every answer that waited for it (early ones), once each.

    Runs at the day's first reminder, its first on-time answer and its summary; the answers live
    in the store and each post has its outbox key, so a restart in between loses and repeats nothing.
    ``thread``: its state when the caller has just read it (a reminder reads it with its own writes).
    """
    if thread is None:
        thread = await app.store.off_loop(_thread_state, app, s, day)
    if not thread.out:
        await app.outbox.post(thread_key(s, day), s.workspace, s.channel, thread_header(s, day))
    for run, m in thread.waiting:
        await app.outbox.post(answer_key(s, m.id, day), s.workspace, s.channel, answer_message(app, owners, s, m, run),
                              thread_key=thread_key(s, day))


def _waiting_answers(app: Meridian, s: Standup, day: date) -> list[tuple[StandupRun, Member]]:
    """The day's answers not yet in its thread, oldest first, with their authors (still in the stand-up)."""
    waiting = [r for r in app.store.runs_for_day(s.workspace, s.name, day, status="answered")
               if app.store.outbox_get(answer_key(s, r.member, day)) is None]
    found = []
    for run in sorted(waiting, key=lambda r: (r.answered_at or app.now(), r.member)):
        m = app.store.get_member(s.workspace, run.member)
        if m is not None and s.includes(m):
            found.append((run, m))
    return found


async def save_answers(app: Meridian, owners: ActivityOwners | None, s: Standup, m: Member, day: date,
                       answers: list[str]) -> str:
    """Store the answers and show them in the day's thread: a new reply, or an edit of the old one.

    An answer for a day that has not begun for the member (given after their cut-off, for the next
    stand-up day) is stored and waits for that day's thread, unless the thread is already open.
    """
    run = run_of(app, s, m.id, day)
    was_answered = run.status == "answered"
    now = app.now()
    cut = cutoff_at(m, s, day)
    if was_answered and now >= cut:
        return (f"Your {s.name} answers for {fmt_day(day)} closed at {cut.astimezone(m.zone):%H:%M} your time, "
                "so they stay as they were.")
    padded = [a.strip() for a in answers] + [""] * (len(s.questions) - len(answers))
    run = replace(run, status="answered", answers=tuple(padded[: len(s.questions)]), answered_at=now)
    app.store.save_run(run)
    ended = track_answer(app, s, m, run)
    said = await _show_answers(app, owners, s, m, run, was_answered)
    for item in ended:  # the answer says it is gone: every report that shows it open says so
        await refresh_posts(app, owners, s, m, item)
    return said


async def _show_answers(app: Meridian, owners: ActivityOwners | None, s: Standup, m: Member, run: StandupRun,
                        was_answered: bool) -> str:
    """Post the saved answers (or edit their post), and say where they are."""
    day, now, cut = run.day, app.now(), cutoff_at(m, s, run.day)
    key = answer_key(s, m.id, day)
    if was_answered and app.outbox.sent(key):
        await app.outbox.update(s.workspace, key,
                                answer_message(app, owners, s, m, run, edited=True, verdict=verdict_of(app, s, run)))
        await ask_if_unsure(app, s, m, run)
        return f"Your {s.name} answers for {fmt_day(day)} are updated in the thread in {s.channel}."
    if is_early(m, day, now) and not thread_opened(app, s, day):
        await ask_if_unsure(app, s, m, run)
        return (f"Thanks, {m.name}! Your {s.name} answers for {fmt_day(day)} are saved. They go into that day's "
                f"thread in {s.channel} when it opens with the day's first reminder; type /standup to change them.")
    await open_thread(app, owners, s, day)
    await ask_if_unsure(app, s, m, run)
    late = (f" They came after your {cut.astimezone(m.zone):%H:%M} cut-off, so they are marked late."
            if is_late(s, m, run) else "")
    return f"Thanks, {m.name}! Your {s.name} answers for {fmt_day(day)} are in the thread in {s.channel}.{late}"


def start_conversation(app: Meridian, s: Standup, m: Member, day: date, *, edit: bool = False,
                       keep_progress: bool = False) -> dict[str, Any]:
    """Open an answering session: until the member's cut-off for ``day`` (or the last question), what
    they type in their DM answers this day's questions, in order. An edit session starts from the
    current answers, each of which can be kept. ``keep_progress`` leaves a session already under way
    for the same day as it is (a snoozed reminder does not throw away half-given answers)."""
    known = app.store.kv_get_many(s.workspace, [conversation_key(m.id), sessions_key(m.id)])
    current = known.get(conversation_key(m.id))
    if (keep_progress and current and current.get("standup") == s.name and current.get("day") == day.isoformat()
            and current.get("answers")):
        return dict(current)
    sid = int(known.get(sessions_key(m.id)) or 0) + 1
    state: dict[str, Any] = {"standup": s.name, "day": day.isoformat(), "index": 0, "answers": [], "seq": 0,
                             "sid": sid}
    if edit:
        state["edit"] = list(run_of(app, s, m.id, day).answers)
    app.store.kv_set_many(s.workspace, {sessions_key(m.id): sid, conversation_key(m.id): state})
    return state


def open_session(app: Meridian, m: Member, workspace: str) -> tuple[Standup, date, dict[str, Any]] | None:
    """The member's answering session, if one is open now (not past its cut-off, its day not closed)."""
    state = app.store.kv_get(workspace, conversation_key(m.id))
    if not state:
        return None
    s = app.store.get_standup(workspace, state["standup"])
    day = date.fromisoformat(state["day"])
    if s is None or s.paused or app.now() >= cutoff_at(m, s, day) or is_closed(app, s, day):
        return None
    return s, day, state


async def dm(app: Meridian, s: Standup, m: Member, day: date, tag: str, message: Message) -> None:
    await app.outbox.dm(standup_key(s, "dm", m.id, day, tag), s.workspace, m.id, message, known=m)


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


def _needs_reminding(app: Meridian, s: Standup, m: Member, day: date, run: StandupRun | None = None) -> bool:
    """``run``: the member's run for the day when the caller has just read it (each read counts in a fan-out)."""
    run = run or run_of(app, s, m.id, day)
    if run.status in {"answered", "skipped"}:
        return False
    known = app.store.kv_get_many(s.workspace, [skip_key(m.id, s.name), closed_key(s, day)])
    until = last_skipped_day(spans_of(known.get(skip_key(m.id, s.name))))
    # The member may have changed zone, days or out-of-office since the item was planned.
    return not (until and day <= until) and is_standup_day(m, s, day) and not known.get(closed_key(s, day))


@dataclass(frozen=True)
class _Due:
    """What a reminder item comes to, read in one piece off the event loop (``Store.off_loop``)."""

    standup: Standup
    member: Member
    day: date
    message: Message | None
    """The reminder to send; ``None`` when the member answered early (their day's thread opens, nothing is sent)."""


def _reminder_due(app: Meridian, item: ClaimedItem) -> _Due | None:
    ctx = _item_context(app, item)
    if ctx is None:
        return None
    s, m, day = ctx
    run = run_of(app, s, m.id, day)
    if run.status == "answered" and not is_closed(app, s, day):
        return _Due(s, m, day, None)
    if not _needs_reminding(app, s, m, day, run):
        return None
    return _Due(s, m, day, reminder_message(app, s, m, day))


def _reminded(app: Meridian, due: _Due) -> _Thread:
    """After the reminder went out: the run says so, the answering session opens, and the thread is read."""
    s, m, day = due.standup, due.member, due.day
    if due.message is not None:
        app.store.mark_reminded(s.workspace, s.name, m.id, day, app.now())
        start_conversation(app, s, m, day, keep_progress=True)
    return _thread_state(app, s, day)


async def on_reminder(app: Meridian, item: ClaimedItem, *, owners: ActivityOwners | None) -> None:
    """Every reminder of a fan-out runs this: its store work goes off the loop in two pieces (what is due;
    what was sent and the thread), so a fan-out's round trips to the database overlap."""
    due = await app.store.off_loop(_reminder_due, app, item)
    if due is None:
        return
    s, m, day = due.standup, due.member, due.day
    if due.message is not None:  # else answered early: their day has come, so the answer shows
        await dm(app, s, m, day, f"reminder{item.payload.get('snooze', '')}", due.message)
    await open_thread(app, owners, s, day, await app.store.off_loop(_reminded, app, due))


def _nudge_due(app: Meridian, item: ClaimedItem) -> _Due | None:
    ctx = _item_context(app, item)
    if ctx is None or not _needs_reminding(app, *ctx):
        return None
    s, m, day = ctx
    return _Due(s, m, day, reminder_message(app, s, m, day, nudge=True))


async def on_nudge(app: Meridian, item: ClaimedItem) -> None:
    """A stand-up's nudges come due together, as its reminders do: what is due is read off the loop in one piece."""
    due = await app.store.off_loop(_nudge_due, app, item)
    if due is not None and due.message is not None:
        await dm(app, due.standup, due.member, due.day, "nudge", due.message)


async def on_summary(app: Meridian, item: ClaimedItem, *, owners: ActivityOwners | None) -> None:
    s = app.store.get_standup(item.workspace, item.payload["standup"])
    if s is None:
        return
    day = date.fromisoformat(item.payload["day"])
    await open_thread(app, owners, s, day)
    message, headline = summary_message(app, owners, s, day)
    await app.outbox.post(standup_key(s, "summary", day), s.workspace, s.channel, message,
                          thread_key=thread_key(s, day))
    await app.outbox.update(s.workspace, thread_key(s, day), thread_header(s, day, headline))
    app.store.kv_set(s.workspace, closed_key(s, day), True)
    await after_summary(app, owners, s, day)


# --- conversation in DMs ---------------------------------------------------------------------
KEEP = {"keep", "same", "="}
CANCEL = {"cancel", "stop"}


async def on_dm(app: Meridian, msg: IncomingMessage, *, owners: ActivityOwners | None) -> bool:
    """Answers typed into the DM, one question at a time, inside an answering session only."""
    if not msg.is_dm:
        return False
    session = open_session(app, msg.member, msg.workspace)
    if session is None:
        return False
    s, day, state = session
    current: list[str] | None = state.get("edit")
    seq = int(state.get("seq", 0)) + 1
    tag = f"{state.get('sid', 0)}-{seq}"
    word = msg.text.strip().lower()
    if word in CANCEL:
        app.store.kv_delete(msg.workspace, conversation_key(msg.member.id))
        said = (f"Nothing changed: your {s.name} answers for {fmt_day(day)} stay as they were." if current is not None
                else f"Stopped: nothing was posted for {fmt_day(day)}. Type /standup to start again.")
        await dm(app, s, msg.member, day, f"cancel{tag}", Message.text(said))
        return True
    index = len(state["answers"])
    kept = current is not None and word in KEEP
    answer = (current[index] if index < len(current) else "") if current is not None and kept else msg.text
    answers = [*state["answers"], answer]
    if len(answers) < len(s.questions):
        app.store.kv_set(msg.workspace, conversation_key(msg.member.id),
                         {**state, "index": len(answers), "answers": answers, "seq": seq})
        blocks: list[Any] = []
        if current is not None:
            blocks.append(Context(rich(f"{'Kept' if kept else 'Changed'} {index + 1}/{len(s.questions)}.")))
        blocks.append(question_section(s, len(answers)))
        if current is not None:
            blocks.append(now_answer(current, len(answers)))
        await dm(app, s, msg.member, day, f"q{tag}", Message(tuple(blocks), fallback=s.questions[len(answers)]))
        return True
    app.store.kv_delete(msg.workspace, conversation_key(msg.member.id))
    if current is not None:
        done = await _save_edit(app, owners, s, msg.member, day, current, answers)
    else:
        done = await save_answers(app, owners, s, msg.member, day, answers)
    await dm(app, s, msg.member, day, f"done{tag}", with_resolve(app, s, msg.member, day, done))
    return True


async def _save_edit(app: Meridian, owners: ActivityOwners | None, s: Standup, m: Member, day: date,
                     current: list[str], answers: list[str]) -> str:
    """Save an edit made in the DM and say, there, which answers changed."""
    before = [*current, *[""] * len(s.questions)]
    changed = [i + 1 for i, a in enumerate(answers) if a.strip() != before[i].strip()]
    if not changed:
        return f"Nothing changed: your {s.name} answers for {fmt_day(day)} stay as they were."
    done = await save_answers(app, owners, s, m, day, answers)
    which = " and ".join(", ".join(str(n) for n in changed).rsplit(", ", 1))
    return f"Changed answer{'s' if len(changed) > 1 else ''} {which} of {len(s.questions)}. {done}"


async def _close_ended_session(app: Meridian, m: Member, workspace: str) -> None:
    """Forget a session that ended unfinished; if the cut-off cut it short, say nothing was posted."""
    state = app.store.kv_get(workspace, conversation_key(m.id))
    if not state:
        return
    app.store.kv_delete(workspace, conversation_key(m.id))
    s = app.store.get_standup(workspace, state["standup"])
    if s is None or not state.get("answers") or "edit" in state:
        return
    day = date.fromisoformat(state["day"])
    cut = cutoff_at(m, s, day).astimezone(m.zone)
    await dm(app, s, m, day, f"ranout{state.get('sid', 0)}",
             Message.text(f"Your {s.name} stand-up for {fmt_day(day)} closed at {cut:%H:%M} your time before the "
                          "last question, so those answers were not posted."))


async def on_idle_dm(app: Meridian, msg: IncomingMessage) -> bool:
    """A DM nobody took while no session is open: never an answer; say when the next stand-up opens.

    Offered last, after every other capability (a retro's ``anon:`` DM is not ours). Several lines
    in the same minute (``thanks!``, ``ok``, ``bye``) get one reply.
    """
    if not msg.is_dm:
        return False
    mine = [s for s in app.store.list_standups(msg.workspace) if s.includes(msg.member)]
    if not mine:
        return False
    await _close_ended_session(app, msg.member, msg.workspace)
    key = standup_key(mine[0], "idle", msg.member.id, f"{app.now():%Y%m%dT%H%M}")
    await app.outbox.dm(key, msg.workspace, msg.member.id, no_session_message(app, mine, msg.member))
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
        done = await save_answers(app, owners, s, act.member, day, answers)
        return Reply(with_resolve(app, s, act.member, day, done))
    return None
