"""The RACI store on SQLModel: SQLite for the console, PostgreSQL in production.

``apply`` is one transaction, so an import of a hundred activities lands whole or not
at all, and every change is written together with its history row. The revision is
the newest history id of the workspace: each write adds history, so a process that
caches the lookup index notices changes made by any other process.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, delete, func, or_
from sqlalchemy import select as sa_select
from sqlalchemy import update as sa_update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, col, select

from bot.kernel.members import normalise
from bot.raci.model import Activity, Assignment, Change, HistoryEntry, RaciRefused, Role, scrub
from storage.db import connect, open_session, table_of
from storage.raci.models import RaciActivityRow, RaciAssignmentRow, RaciHistoryRow

RACI_TABLES = [SQLModel.metadata.tables[name] for name in ("raci_activity", "raci_assignment", "raci_history")]


def create_raci_tables(engine: Engine) -> None:
    """Create RACI's tables where migrations are not run (the console, tests)."""
    SQLModel.metadata.create_all(engine, tables=RACI_TABLES)


def _aware(instant: datetime) -> datetime:
    return instant if instant.tzinfo else instant.replace(tzinfo=UTC)


class RaciRepo:
    """Implements ``bot.raci.model.RaciStore``."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # --- reading ------------------------------------------------------------------
    def revision(self, workspace: str) -> int:
        with connect(self.engine) as conn:
            return int(conn.execute(self._revision_query(workspace)).scalar() or 0)

    @staticmethod
    def _revision_query(workspace: str) -> Any:
        return sa_select(func.max(RaciHistoryRow.id)).where(col(RaciHistoryRow.workspace) == workspace)

    def index_entries(self, workspace: str) -> list[tuple[str, tuple[str, ...]]]:
        with open_session(self.engine) as s:
            rows = s.exec(select(RaciActivityRow.name, RaciActivityRow.aliases)
                          .where(RaciActivityRow.workspace == workspace)).all()
            return [(name, tuple(json.loads(aliases))) for name, aliases in rows]

    def get_activity(self, workspace: str, name: str) -> Activity | None:
        return self.read_activity(workspace, name)[1]

    def read_activity(self, workspace: str, name: str) -> tuple[int, Activity | None]:
        """The workspace's revision and the activity in one statement: the read behind every lookup.

        When the activity does not exist the revision comes back as 0, which no cached
        index has, so the caller re-reads the index — the right thing when it is stale.
        """
        a, x = RaciActivityRow, RaciAssignmentRow
        revision = self._revision_query(workspace).scalar_subquery().label("revision")
        query = (sa_select(revision, a.name, a.aliases, a.description, a.channel,  # type: ignore[call-overload]
                           x.member_id, x.role)
                 .outerjoin(x, col(x.activity_id) == col(a.id))
                 .where(a.workspace == workspace, a.key == normalise(name))
                 .order_by(col(x.position)))
        with connect(self.engine) as conn:
            rows = conn.execute(query).all()
        if not rows:
            return 0, None
        first = rows[0]
        assignments = tuple(Assignment(r.member_id, Role(r.role)) for r in rows if r.member_id is not None)
        return int(first.revision or 0), Activity(workspace, first.name, assignments,
                                                  tuple(json.loads(first.aliases)), first.description, first.channel)

    def list_activities(self, workspace: str) -> list[Activity]:
        with open_session(self.engine) as s:
            rows = s.exec(select(RaciActivityRow).where(RaciActivityRow.workspace == workspace)
                          .order_by(RaciActivityRow.key)).all()
            return self._activities(s, list(rows))

    def activities_of(self, workspace: str, member_id: str) -> list[Activity]:
        with open_session(self.engine) as s:
            ids = select(RaciAssignmentRow.activity_id).where(RaciAssignmentRow.workspace == workspace,
                                                             RaciAssignmentRow.member_id == member_id)
            rows = s.exec(select(RaciActivityRow).where(col(RaciActivityRow.id).in_(ids))
                          .order_by(RaciActivityRow.key)).all()
            return self._activities(s, list(rows))

    def history(self, workspace: str, names: Sequence[str], limit: int = 20) -> list[HistoryEntry]:
        keys = {normalise(n) for n in names}
        with open_session(self.engine) as s:
            for _ in range(20):  # follow renames both ways until no new name turns up
                linked = s.exec(select(RaciHistoryRow.activity_key, RaciHistoryRow.previous_key).where(
                    RaciHistoryRow.workspace == workspace, col(RaciHistoryRow.previous_key).is_not(None),
                    col(RaciHistoryRow.activity_key).in_(keys) | col(RaciHistoryRow.previous_key).in_(keys))).all()
                grown = keys | {k for pair in linked for k in pair if k}
                if grown == keys:
                    break
                keys = grown
            rows = s.exec(select(RaciHistoryRow).where(RaciHistoryRow.workspace == workspace,
                                                       col(RaciHistoryRow.activity_key).in_(sorted(keys)))
                          .order_by(col(RaciHistoryRow.id).desc()).limit(limit)).all()
            return [HistoryEntry(r.workspace, r.activity, _aware(r.at), r.actor, r.action,  # type: ignore[arg-type]
                                 r.before, r.after, None) for r in rows]

    @staticmethod
    def _activities(s: Session, rows: list[RaciActivityRow]) -> list[Activity]:
        by_id: dict[int, list[Assignment]] = {r.id: [] for r in rows if r.id is not None}
        if by_id:
            found = s.exec(select(RaciAssignmentRow).where(col(RaciAssignmentRow.activity_id).in_(list(by_id)))
                           .order_by(col(RaciAssignmentRow.activity_id), col(RaciAssignmentRow.position))).all()
            for a in found:
                by_id[a.activity_id].append(Assignment(a.member_id, Role(a.role)))
        return [Activity(r.workspace, r.name, tuple(by_id.get(r.id or 0, ())), tuple(json.loads(r.aliases)),
                         r.description, r.channel) for r in rows]

    # --- writing ------------------------------------------------------------------
    def merge_member(self, workspace: str, old: str, new: str) -> None:
        theirs = table_of(RaciAssignmentRow).alias("theirs")
        mine = table_of(RaciAssignmentRow).c
        with open_session(self.engine) as s, s.begin():
            s.execute(sa_update(RaciAssignmentRow).where(
                mine.workspace == workspace, mine.member_id == old,
                ~sa_select(theirs.c.id).where(theirs.c.activity_id == mine.activity_id,
                                              theirs.c.member_id == new).exists())
                .values(member_id=new))
            s.execute(delete(RaciAssignmentRow).where(mine.workspace == workspace, mine.member_id == old))

    def forget_in_history(self, workspace: str, member_id: str, names: Sequence[str], instead: str) -> int:
        words = [*names, member_id]
        with open_session(self.engine) as s, s.begin():
            mentions = [c for w in words if w
                        for c in (col(RaciHistoryRow.before).contains(w), col(RaciHistoryRow.after).contains(w))]
            rows = s.exec(select(RaciHistoryRow).where(RaciHistoryRow.workspace == workspace,
                                                       or_(col(RaciHistoryRow.actor) == member_id, *mentions))).all()
            changed = 0
            for row in rows:
                actor = instead if row.actor == member_id else row.actor
                before, after = scrub(row.before, words, instead), scrub(row.after, words, instead)
                if (actor, before, after) != (row.actor, row.before, row.after):
                    row.actor, row.before, row.after = actor, before, after
                    s.add(row)
                    changed += 1
            return changed

    def apply(self, workspace: str, changes: Sequence[Change]) -> None:
        try:
            with open_session(self.engine) as s, s.begin():
                for change in changes:
                    self._apply_one(s, workspace, change)
        except IntegrityError:
            raise RaciRefused("Someone else changed these activities at the same moment; "
                              "nothing was written. Please try again.") from None

    def _apply_one(self, s: Session, workspace: str, change: Change) -> None:
        row: RaciActivityRow | None = None
        if change.replaces is not None:
            row = s.exec(select(RaciActivityRow).where(RaciActivityRow.workspace == workspace,
                                                       RaciActivityRow.key == normalise(change.replaces))).first()
            if row is None:
                raise RaciRefused(f"“{change.replaces}” was removed by someone else; nothing was written.")
            s.exec(delete(RaciAssignmentRow).where(col(RaciAssignmentRow.activity_id) == row.id))
        if change.save is None:
            if row is not None:
                s.delete(row)
        else:
            act = change.save
            if row is None:
                row = RaciActivityRow(workspace=workspace, name=act.name, key=normalise(act.name))
            row.name, row.key = act.name, normalise(act.name)
            row.aliases = json.dumps(list(act.aliases), ensure_ascii=False)
            row.description, row.channel = act.description, act.channel
            s.add(row)
            s.flush()
            assert row.id is not None
            s.add_all(RaciAssignmentRow(activity_id=row.id, workspace=workspace, member_id=a.member_id,
                                        role=a.role.value, position=i) for i, a in enumerate(act.assignments))
        e = change.entry
        s.add(RaciHistoryRow(workspace=workspace, activity=e.activity, activity_key=normalise(e.activity),
                             at=e.at, actor=e.actor, action=e.action, before=e.before, after=e.after,
                             previous_key=normalise(e.previous) if e.previous else None))
        s.flush()
