"""Asking once, with two buttons, whether an answer Meridian could not read is a blocker.

The question is a neutral message with buttons, so it works the same on Slack, Teams and
the console (``:press Blocker``). The person's answer is kept with the text it was about;
the thread post (and the summary, when it already went out) then show it.
"""

from __future__ import annotations

import hashlib
from datetime import date
from typing import TYPE_CHECKING

from bot.kernel.commands import Reply
from bot.kernel.domain import Member, Standup
from bot.kernel.messages import Actions, Button, Context, Message, Section, rich, truncate_user_text
from bot.kernel.ports import ActivityOwners, StandupRun
from bot.standups.blocker_items import refresh_posts, track_answer
from bot.standups.blockers import Verdict, blocker_text, verdict_key, verdict_of
from bot.standups.messages import answer_message, summary_message, thread_header
from bot.standups.model import answer_key, fmt_day, is_closed, standup_key, thread_key

if TYPE_CHECKING:
    from bot.kernel.app import Action, Meridian

ACTION_PREFIX = "standup.blocker."
CONFIRM, DENY = f"{ACTION_PREFIX}yes", f"{ACTION_PREFIX}no"


def question_message(s: Standup, day: date, text: str) -> Message:
    value = f"{s.name}|{day.isoformat()}"
    return Message((
        Section(rich(f"One more thing about your {s.name} answer for {fmt_day(day)}: is this a blocker?")),
        Context(rich("“", truncate_user_text(text, 300), "”")),
        Actions((Button("Blocker", CONFIRM, value, "danger"), Button("Not a blocker", DENY, value))),
    ), fallback=f"Is your {s.name} answer for {fmt_day(day)} a blocker?")


async def ask_if_unsure(app: Meridian, s: Standup, m: Member, run: StandupRun) -> None:
    """Called where an answer is saved: ask once per answer text, when the text cannot be read."""
    text = blocker_text(s, run)
    if not text or verdict_of(app, s, run) != "unsure":
        return
    key = verdict_key(m.id, s.name, run.day)
    stored = app.store.kv_get(s.workspace, key)
    if isinstance(stored, dict) and stored.get("text") == text:
        return  # this very text was asked about already
    app.store.kv_set(s.workspace, key, {"text": text, "verdict": "unsure"})
    digest = hashlib.sha256(text.encode()).hexdigest()[:12]
    await app.outbox.dm(standup_key(s, "dm", m.id, run.day, f"blocker-{digest}"), s.workspace, m.id,
                        question_message(s, run.day, text))


async def on_blocker_action(app: Meridian, act: Action, *, owners: ActivityOwners | None) -> Reply | None:
    """**Blocker** / **Not a blocker**: keep the person's word and show it where the answer is shown."""
    name, _, day_s = (act.value or "|").partition("|")
    s = app.store.get_standup(act.workspace, name)
    if s is None or not day_s:
        return Reply(Message.text("That stand-up no longer exists."))
    day = date.fromisoformat(day_s)
    run = app.store.get_run(s.workspace, s.name, act.member.id, day)
    text = blocker_text(s, run) if run is not None else ""
    if run is None or not text:
        return Reply(Message.text(f"Your {s.name} answer for {fmt_day(day)} has no blocker answer any more."))
    verdict: Verdict = "blocker" if act.action_id == CONFIRM else "none"
    app.store.kv_set(s.workspace, verdict_key(act.member.id, s.name, day), {"text": text, "verdict": verdict})
    ended = track_answer(app, s, act.member, run)
    if app.outbox.sent(answer_key(s, act.member.id, day)):
        await app.outbox.update(s.workspace, answer_key(s, act.member.id, day),
                                answer_message(app, owners, s, act.member, run, verdict=verdict))
    if is_closed(app, s, day):
        message, headline = summary_message(app, owners, s, day)
        await app.outbox.update(s.workspace, standup_key(s, "summary", day), message)
        await app.outbox.update(s.workspace, thread_key(s, day), thread_header(s, day, headline))
    for item in ended:  # "not a blocker": the blocker open from an earlier day is gone too
        await refresh_posts(app, owners, s, act.member, item)
    said = "a blocker" if verdict == "blocker" else "not a blocker"
    return Reply(Message.text(f"Noted: “{truncate_user_text(text, 200)}” is {said} ({s.name}, {fmt_day(day)})."))
