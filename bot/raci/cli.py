"""``meridian import FILE.csv`` and ``meridian export --raci-csv``: RACI charts for operators.

The operator's import goes through the same reader and the same all-or-nothing write
as ``/raci import`` in chat; only the permission check is left out, since whoever runs
the CLI already holds the database.
"""

from __future__ import annotations

from pathlib import Path

from bot.kernel.app import Meridian
from bot.raci.csv import write_long, write_wide
from bot.raci.model import RaciRefused
from bot.raci.service import RaciService


def _workspace(app: Meridian, workspace: str | None) -> str:
    known = [w.id for w in app.store.list_workspaces()]
    if workspace:
        if workspace not in known:
            raise RaciRefused(f"there is no workspace `{workspace}` (known: {', '.join(known) or 'none'})")
        return workspace
    if len(known) != 1:
        raise RaciRefused("say which workspace with --workspace "
                          f"({'none exists yet: meridian import TEAM.yaml first' if not known else ', '.join(known)})")
    return known[0]


def import_raci_file(app: Meridian, service: RaciService, path: str, workspace: str | None) -> str:
    """Import a CSV chart; the line to print, or ``RaciRefused`` with every problem."""
    ws = _workspace(app, workspace)
    try:
        data = Path(path).read_bytes()
    except OSError as err:
        raise RaciRefused(f"{path}: cannot read the file: {err.strerror}") from None
    total, changed = service.import_csv("cli", ws, app.store.list_members(ws), data, app.now(), Path(path).name)
    return f"imported {total} RACI activities into {ws} ({changed} new or changed)"


def export_raci_csv(app: Meridian, service: RaciService, workspace: str | None, shape: str = "wide") -> str:
    ws = _workspace(app, workspace)
    activities = service.store.list_activities(ws)
    return write_wide(activities, app.store.list_members(ws)) if shape == "wide" else write_long(activities)
