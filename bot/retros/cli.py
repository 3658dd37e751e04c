"""``meridian rotation plan``: the fair retro-slot plan of a team file, as a table or as JSON.

It reads only the team file (no database): the plan shown is the one the bot stores for
a team with no history yet. It is made by the same planning function
(``rotation.plan_in_blocks``, blocks counted from ``starts``), so it shows the same slots as
``meridian schedule preview``, ``/retro schedule``, the reminders and the thread. The file is checked whole: the ``retros:`` section here,
the other capabilities' sections as the caller passes them in.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from bot.kernel.teamfile import TeamFileError, TeamSection, load_team
from bot.retros import rotation
from bot.retros.config import parse_retros
from bot.retros.plan import rotation_member
from bot.retros.presence import away_days
from bot.retros.teamfile import team_section

Sections = Callable[[], Sequence[TeamSection]]
"""The team-file sections of the other capabilities, asked for only when the command runs."""


class RotationCommandError(Exception):
    """Ends the command with one line on stderr and exit status 2."""


def plan_for_team(path: str, retro_name: str, occurrences: int,
                  sections: Sequence[TeamSection] = ()) -> rotation.RotationPlan:
    try:
        tf = load_team(path, [team_section(), *(s for s in sections if s.name != "retros")])
    except TeamFileError as err:
        raise RotationCommandError(str(err)) from None
    retros, _ = parse_retros(tf)
    retro = next((r for r in retros if r.name == retro_name), None)
    if retro is None:
        known = ", ".join(r.name for r in retros) or "none"
        raise RotationCommandError(f"{path}: no retro called `{retro_name}` (retros: {known})")
    if retro.is_async or retro.every is None or retro.starts is None:
        raise RotationCommandError(f"`{retro_name}` is an async retro: it has no meeting slot to plan")
    if not 1 <= occurrences <= 520:
        raise RotationCommandError("--occurrences must be between 1 and 520")
    dates = rotation.occurrence_dates(retro.starts, rotation.parse_every(retro.every),
                                      -(-occurrences // rotation.BLOCK) * rotation.BLOCK)
    # Time off in the file counts as it does in the bot: an absent member is planned at no cost.
    members = [rotation_member(m, away=away_days(m, dates)) for m in tf.members if retro.includes(m)]
    try:
        return rotation.plan_retro(members, starts=retro.starts, every=retro.every, duration=retro.duration,
                                   count=occurrences, candidates=list(retro.candidates) if retro.candidates else None,
                                   night_cap=retro.night_cap)
    except rotation.RotationError as err:
        raise RotationCommandError(str(err)) from None


def cmd_rotation_plan(args: argparse.Namespace, sections: Sections = tuple) -> int:
    try:
        plan = plan_for_team(args.team, args.retro, args.occurrences, sections())
    except RotationCommandError as err:
        print(f"meridian: {err}", file=sys.stderr)
        return 2
    if args.json:
        json.dump(rotation.plan_to_json(plan), sys.stdout, indent=1, ensure_ascii=False)
        print()
        for note in plan.notes:  # the JSON keeps its documented shape; notes go to stderr
            print(f"note: {note}", file=sys.stderr)
        return 0
    print(rotation.format_plan_table(plan))
    return 0


def add_rotation_command(sub: Any, sections: Sections = tuple) -> None:
    rot = sub.add_parser("rotation", help="fair retro slots").add_subparsers(dest="rotation_command", required=True)
    p = rot.add_parser("plan", help="the fair retro-slot plan with each member's burden")
    p.add_argument("--team", required=True, help="team file")
    p.add_argument("--retro", required=True, help="the retro's name in the team file")
    p.add_argument("--occurrences", type=int, default=8, help="how many occurrences to plan (default 8)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=partial(cmd_rotation_plan, sections=sections))
