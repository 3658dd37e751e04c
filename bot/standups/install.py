"""The stand-ups capability: async stand-ups on each person's own clock, built at bootstrap and installed."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from functools import partial
from typing import TYPE_CHECKING

from bot.kernel.messages import Message
from bot.kernel.ports import ActivityOwners
from bot.standups.blocker_items import FOLLOW_UP, escalation_key, on_follow_up, on_item_action
from bot.standups.blocker_question import ACTION_PREFIX, on_blocker_action
from bot.standups.commands import family
from bot.standups.flow import on_action, on_dm, on_idle_dm, on_nudge, on_reminder, on_summary
from bot.standups.home import standup_blocks
from bot.standups.model import answer_key
from bot.standups.plan import plan_standups
from bot.standups.tracking import ITEM_PREFIX, load

if TYPE_CHECKING:
    from bot.kernel.app import Meridian


class Standups:
    """Reminders, the DM answering session, the day's thread and summary, ``/standup``, and a home-page section.

    ``owners`` (RACI offers it) lets a blocker that names an activity point at its
    Accountable; without it stand-ups work the same, with no such hint.
    """

    name = "standups"

    def __init__(self, owners: ActivityOwners | None = None) -> None:
        self.owners = owners

    def install(self, app: Meridian) -> None:
        app.add_family(family(self.owners))
        app.add_planner(plan_standups)
        app.on_due("standup.reminder", partial(on_reminder, owners=self.owners))
        app.on_due("standup.nudge", on_nudge)
        app.on_due("standup.summary", partial(on_summary, owners=self.owners))
        app.on_message(partial(on_dm, owners=self.owners))
        app.on_message(on_idle_dm, last=True)
        app.on_action("standup.", partial(on_action, owners=self.owners))
        app.on_action(ACTION_PREFIX, partial(on_blocker_action, owners=self.owners))
        app.on_action(ITEM_PREFIX, partial(on_item_action, owners=self.owners))
        app.on_due(FOLLOW_UP, on_follow_up)
        app.add_home_section(standup_blocks)

        async def forget(workspace: str, member_id: str) -> dict[str, int]:
            return {"stand-up posts taken down": await take_down_answers(app, workspace, member_id)}

        app.on_forget(forget)


WITHDRAWN = Message.text("(An answer taken down: its author left the team and asked to be forgotten.)")
ESCALATION_WITHDRAWN = Message.text("(A blocker's escalation taken down: its author left the team and asked to be "
                                    "forgotten.)")


async def take_down_answers(app: Meridian, workspace: str, member_id: str) -> int:
    """``forget-me``: each answer the person posted in a stand-up thread, and each escalation of their blockers,
    is replaced by a short note (before the kernel deletes the answers themselves), so their words leave the
    channel too."""
    taken = 0
    for s in app.store.list_standups(workspace):
        if s.members is not None and member_id in s.members:  # a named participant leaves the list
            app.store.upsert_standup(replace(s, members=tuple(m for m in s.members if m != member_id)))
        for item in load(app, s, member_id):  # an escalation quotes the blocker: it goes too
            if item.escalated_on is not None and app.outbox.sent(escalation_key(s, item)) is not None:
                await app.outbox.update(workspace, escalation_key(s, item), ESCALATION_WITHDRAWN)
                taken += 1
        for run in app.store.runs_between(workspace, s.name, date.min, date.max, member=member_id):
            key = answer_key(s, member_id, run.day)
            if app.outbox.sent(key) is not None:
                await app.outbox.update(workspace, key, WITHDRAWN)
                taken += 1
    return taken
