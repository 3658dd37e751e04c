"""``meridian schedule preview``: every planned instant of every capability, in UTC and in local time.

It asks the same planners the engine uses, so the preview cannot drift from what will be sent.
Internal housekeeping (drift checks every few minutes, retries) is left out: people preview what
they will see. Days a person would work but is away (a public holiday of their calendar, out of
office) are rows too, ``away`` with the reason, at the start of their working hours that day: the
reason their reminders are missing.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot.kernel.domain import weekday_name
from bot.kernel.timekeeping import at_local, iso_local, iso_z, local_date

if TYPE_CHECKING:
    from bot.kernel.app import Meridian

KINDS = {
    "standup.reminder": "reminder", "standup.nudge": "nudge", "standup.summary": "summary",
    "retro.open": "retro-open", "retro.remind": "retro-reminder", "retro.close": "retro-close",
    "retro.action_remind": "action-reminder", "digest.experiments": "digest", "digest.drift": "digest",
}


def _name(kind: str, payload: dict[str, Any]) -> str:
    if kind.startswith("digest."):
        return kind.split(".", 1)[1]
    return str(payload.get("standup") or payload.get("retro") or "")


def _zone(app: Meridian, workspace: str, kind: str, payload: dict[str, Any]) -> str:
    member = payload.get("member")
    if member:
        m = app.store.get_member(workspace, member)
        if m is not None:
            return m.tz
    if "tz" in payload:
        return str(payload["tz"])
    if "standup" in payload:
        s = app.store.get_standup(workspace, payload["standup"])
        if s is not None:
            return s.tz
    ws = app.store.get_workspace(workspace)
    return ws.tz if ws else "UTC"


def preview(app: Meridian, start: datetime, end: datetime) -> list[dict[str, Any]]:
    rows = []
    for planner in app.planners:
        for item in planner(app, start, end):
            kind = KINDS.get(item.kind)
            if kind is None:
                continue
            rows.append({"kind": kind, "name": _name(item.kind, item.payload), "member": item.payload.get("member"),
                         "utc": iso_z(item.due_at),
                         "local": iso_local(item.due_at, _zone(app, item.workspace, item.kind, item.payload))})
    rows.extend(away_rows(app, start, end))
    rows.sort(key=lambda r: (r["utc"], r["kind"], r["name"], r["member"] or ""))
    return rows


def away_rows(app: Meridian, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """One row per member and workday in the window on which they are away, named by the reason."""
    rows = []
    for workspace in app.store.list_workspaces():
        for m in app.store.list_members(workspace.id):
            day, last = local_date(start, m.tz) - timedelta(days=1), local_date(end, m.tz)
            while day <= last:
                at = at_local(day, m.hours.start, m.tz)
                reason = m.away_reason(day) if weekday_name(day) in m.workdays and start <= at < end else None
                if reason is not None:
                    rows.append({"kind": "away", "name": reason, "member": m.id, "utc": iso_z(at),
                                 "local": iso_local(at, m.tz)})
                day += timedelta(days=1)
    return rows


COLUMNS = (("utc", "UTC"), ("kind", "WHAT"), ("name", "NAME"), ("member", "WHO"), ("local", "LOCAL TIME"))


def format_rows(rows: list[dict[str, Any]]) -> str:
    """The preview as a table: a header, then one aligned line per instant (``(channel)`` for a post)."""
    cells = [[str(r[k] if r[k] is not None else "(channel)") for k, _ in COLUMNS] for r in rows]
    header = [title for _, title in COLUMNS]
    widths = [max(len(line[i]) for line in [header, *cells]) for i in range(len(COLUMNS))]
    lines = ["  ".join(v.ljust(w) for v, w in zip(line, widths, strict=True)).rstrip() for line in [header, *cells]]
    if not rows:
        lines.append("(nothing planned in this window)")
    return "\n".join(lines)
