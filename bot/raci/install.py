"""The RACI capability: built at bootstrap with its store, installed on the app.

``Raci.service`` is what other capabilities may use, through the kernel's
``ActivityOwners`` port (stand-up blockers, drift alerts); bootstrap hands it to them.
"""

from __future__ import annotations

from bot.kernel import quiet
from bot.kernel.app import Meridian
from bot.kernel.domain import Member
from bot.kernel.messages import Block
from bot.kernel.teamfile import TeamFile, TeamSection
from bot.kernel.timekeeping import iso_z
from bot.raci.commands import EDIT_ACTION, RaciCommands
from bot.raci.model import Directory, RaciStore
from bot.raci.render import handover_message, home_roles
from bot.raci.service import RaciService, RaciSettings
from bot.raci.teamfile import apply_section, validate_section


class Raci:
    """``/raci``, the edit form, the team file's ``raci:`` section and the home page's roles."""

    name = "raci"

    def __init__(self, store: RaciStore, people: Directory, settings: RaciSettings | None = None) -> None:
        self.service = RaciService(store, people, settings or RaciSettings())

    def install(self, app: Meridian) -> None:
        commands = RaciCommands(self.service)
        app.add_family(commands.family())
        app.on_action(EDIT_ACTION, commands.on_edit_submitted)

        def apply(tf: TeamFile) -> None:
            apply_section(self.service, tf, app.now())

        app.add_section(TeamSection("raci", validate_section, apply))
        app.add_home_section(self._home_roles)
        app.on_merge(self.service.store.merge_member)

        async def forget(workspace: str, member_id: str) -> dict[str, int]:
            return await forget_member(app, self.service, workspace, member_id)

        app.on_forget(forget)

    def _home_roles(self, app: Meridian, member: Member) -> list[Block]:
        return home_roles(self.service, member)


async def forget_member(app: Meridian, service: RaciService, workspace: str, member_id: str) -> dict[str, int]:
    """``forget-me`` for RACI: the person's roles go, and each activity's Accountable (or an admin) is told by DM
    which letters need someone new."""
    now = app.now()
    removed, handovers = service.forget_member(workspace, member_id, now)
    keepers = sorted({h.keeper for h in handovers})
    for keeper in keepers:
        mine = [h for h in handovers if h.keeper == keeper]
        member = app.store.get_member(workspace, keeper)
        if member is not None:  # a handover waits for the keeper's working hours
            await quiet.notify(app, f"raci:{workspace}:handover:{keeper}:{iso_z(now)}", workspace, member,
                               handover_message(mine))
    return {"RACI roles": removed}
