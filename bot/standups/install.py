"""The stand-ups capability: async stand-ups on each person's own clock, built at bootstrap and installed."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from bot.kernel.ports import ActivityOwners
from bot.standups.commands import family
from bot.standups.flow import on_action, on_dm, on_idle_dm, on_nudge, on_reminder, on_summary
from bot.standups.home import standup_blocks
from bot.standups.plan import plan_standups

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
        app.add_home_section(standup_blocks)
