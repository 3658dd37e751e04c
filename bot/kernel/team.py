"""Applying a validated team file to the store, and exporting the stored team as one.

The file is validated whole first (``bot.kernel.teamfile``, with every capability's
section); here it is written in one transaction, so a file that fails half-way (a
database refusing a value) changes nothing.
"""

from __future__ import annotations

from typing import Any

from bot.kernel.app import Meridian
from bot.kernel.calendars import HolidayCalendar
from bot.kernel.domain import QUIET, WEEKDAYS, Hours, Standup, Workspace
from bot.kernel.status import SETTING_KEY, StatusRules, rules_for
from bot.kernel.teamfile import TeamFile


def apply_team(app: Meridian, tf: TeamFile, platform: str | None = None) -> None:
    """Write the team into the store; the schedule is planned again from it.

    ``platform`` is where the workspace talks (``meridian import --platform``); ``None``
    keeps the stored workspace's platform, or leaves a new one to the configured platforms.
    """
    with app.store.transaction():
        existing = app.store.get_workspace(tf.workspace)
        chosen = platform or (existing.platform if existing else "")
        app.store.upsert_workspace(Workspace(tf.workspace, chosen, tf.workspace))
        app.store.set_team_holidays(tf.workspace, tf.holidays)
        _merge_platform_users(app, tf)
        app.store.upsert_members(tf.members)
        for s in tf.standups:
            app.store.upsert_standup(s)
            app.store.cancel_pending(s.workspace, f"standup:{s.workspace}:{s.name}:")
        for section in app.sections:
            if section.apply is not None and (section.name in tf.raw or section.apply_when_absent):
                section.apply(tf)
        app.engine.replan()


def _merge_platform_users(app: Meridian, tf: TeamFile) -> None:
    """A person who used Meridian before the import (member ``UBOB``, created by the platform) and the
    team file's member holding that account (``bob`` with ``accounts: {slack: UBOB}``) are one person:
    the earlier member is folded into the team file's, so they get one reminder, not two.

    The stored members are read once, so a large import pays one query for this, not one per account."""
    named = {m.id for m in tf.members}
    earlier = [m for m in app.store.list_members(tf.workspace) if m.id not in named]
    if not earlier:
        return
    holder = {(platform, account): m.id for m in earlier for platform, account in m.accounts.items()}
    for member in tf.members:
        for platform, account in member.accounts.items():
            old_id = holder.pop((platform, account), None)
            if old_id is not None:
                app.merge_member(tf.workspace, old_id, member.id)


def export_team(app: Meridian, workspace: str) -> dict[str, Any]:
    """The workspace as team-file data (``meridian export``)."""
    members = []
    team_holidays = app.store.team_holidays(workspace)
    everyone = app.store.list_members(workspace)
    ids = {m.id for m in everyone}
    for m in everyone:
        entry: dict[str, Any] = {"id": m.id, "name": m.name, "tz": m.tz}
        if m.hours != Hours():
            entry["hours"] = str(m.hours)
        if m.quiet != QUIET:
            entry["quiet"] = str(m.quiet)
        if m.workdays != frozenset(WEEKDAYS[:5]):
            entry["workdays"] = [d for d in WEEKDAYS if d in m.workdays]
        if m.ooo:
            entry["ooo"] = [str(r) for r in m.ooo]
        if m.holidays != team_holidays:
            entry["holidays"] = (m.holidays or HolidayCalendar()).beyond(team_holidays).to_data()
        if m.accounts:
            entry["accounts"] = dict(m.accounts)
        if m.is_admin:
            entry["admin"] = True
        if not m.status_ooo:
            entry["status_ooo"] = False
        if m.delegate is not None and m.delegate in ids:  # a delegate who left is no longer one
            entry["delegate"] = m.delegate
        members.append(entry)
    standups = []
    for s in app.store.list_standups(workspace):
        st: dict[str, Any] = {"name": s.name, "channel": s.channel, "remind_at": f"{s.remind_at:%H:%M}",
                              "days": [d for d in WEEKDAYS if d in s.days],
                              "members": "all" if s.members is None else list(s.members),
                              "questions": list(s.questions)}
        if s.cutoff:
            st["cutoff"] = f"{s.cutoff:%H:%M}"
        if s.tz != "UTC":
            st["tz"] = s.tz
        if s.mention_missing:
            st["mention_missing"] = True
        if s.paused:
            st["paused"] = True
        if s.escalate_after != Standup.escalate_after:
            st["escalate_after"] = s.escalate_after
        standups.append(st)
    team: dict[str, Any] = {"workspace": workspace}
    if team_holidays is not None:
        team["holidays"] = team_holidays.to_data()
    rules = rules_for(app, workspace)
    if rules != StatusRules():
        team[SETTING_KEY] = rules.to_data()
    return {**team, "members": members, "standups": standups}
