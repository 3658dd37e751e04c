"""``SqlStore``: the core's ``Store`` port over SQLModel, for SQLite and PostgreSQL alike.

Translating rows to domain objects happens here and nowhere else. The two places
where concurrency matters — claiming due work and adding outbox entries — are single
SQL statements (``UPDATE … RETURNING`` with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL,
``INSERT … ON CONFLICT DO NOTHING`` on both) so that several workers never do the same
thing twice.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, date, datetime, timedelta
from functools import cached_property, partial
from typing import Any

from sqlalchemy import bindparam, delete, event, func, null, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

from bot.kernel.calendars import HolidayCalendar
from bot.kernel.domain import Hours, Member, Standup, StatusAway, Workspace
from bot.kernel.ports import ClaimedItem, DueItem, OutboxEntry, P, R, StandupRun
from bot.kernel.timekeeping import parse_date_range, parse_hhmm
from storage.db import (
    UTCDateTime,
    ambient_connection,
    as_database_error,
    make_engine,
    session_scope,
    statement_scope,
    table_of,
    transaction_scope,
)
from storage.kernel.models import (
    DueWorkRow,
    KeyValueRow,
    MemberAccountRow,
    MemberRow,
    OutboxRow,
    StandupRow,
    StandupRunRow,
    WorkerBeatRow,
    WorkspaceRow,
)
from storage.offload import BlockingCalls

DueWorkC = table_of(DueWorkRow).c
OutboxC = table_of(OutboxRow).c
MemberC = table_of(MemberRow).c
MemberAccountC = table_of(MemberAccountRow).c
StandupC = table_of(StandupRow).c
StandupRunC = table_of(StandupRunRow).c
KeyValueC = table_of(KeyValueRow).c
BeatC = table_of(WorkerBeatRow).c


def _csv(values: Iterable[str]) -> str:
    return ",".join(values)


def _calendar_data(calendar: HolidayCalendar | None) -> dict[str, Any] | None:
    return calendar.to_data() if calendar is not None else None


def status_data(absences: tuple[StatusAway, ...]) -> list[dict[str, Any]]:
    return [{"emoji": a.emoji, "text": a.text, "since": a.since.isoformat(),
             "until": a.until.astimezone(UTC).isoformat() if a.until else None, "platform": a.platform}
            for a in absences]


def status_from_data(data: list[dict[str, Any]] | None) -> tuple[StatusAway, ...]:
    return tuple(StatusAway(str(a.get("emoji", "")), str(a.get("text", "")), date.fromisoformat(a["since"]),
                            datetime.fromisoformat(a["until"]) if a.get("until") else None,
                            str(a.get("platform", ""))) for a in data or ())


def member_from_row(row: MemberRow) -> Member:
    return Member(
        workspace=row.workspace, id=row.id, name=row.name, tz=row.tz,
        hours=Hours(parse_hhmm(row.hours_start), parse_hhmm(row.hours_end)),
        quiet=Hours(parse_hhmm(row.quiet_start), parse_hhmm(row.quiet_end)),
        workdays=frozenset(d for d in row.workdays.split(",") if d),
        ooo=tuple(parse_date_range(r) for r in row.ooo),
        holidays=HolidayCalendar.from_data(row.holidays) if row.holidays is not None else None,
        accounts=dict(row.accounts), is_admin=row.is_admin, owner_of=tuple(row.owner_of),
        status_away=status_from_data(row.status_away), status_ooo=row.status_ooo, delegate=row.delegate,
    )


def standup_from_row(row: StandupRow) -> Standup:
    return Standup(
        workspace=row.workspace, name=row.name, channel=row.channel, remind_at=parse_hhmm(row.remind_at),
        days=frozenset(d for d in row.days.split(",") if d),
        members=tuple(row.members) if row.members is not None else None,
        questions=tuple(row.questions), nudge_after=timedelta(minutes=row.nudge_after_min),
        cutoff=parse_hhmm(row.cutoff) if row.cutoff else None, tz=row.tz, paused=row.paused,
        mention_missing=row.mention_missing, escalate_after=row.escalate_after,
    )


def _run_from_row(row: StandupRunRow) -> StandupRun:
    return StandupRun(row.workspace, row.standup, row.member, row.day, row.status, tuple(row.answers),
                      row.answered_at, row.reminded_at)


def _outbox_from_row(row: OutboxRow) -> OutboxEntry:
    return OutboxEntry(row.key, row.workspace, row.kind, row.target, row.payload, row.status, row.attempts,
                       row.thread_key, row.channel, row.message_id, row.next_attempt_at, row.created_at,
                       row.attempt_at, row.attempt_by)


# Hot-path lookups built once: composing a statement costs more Python time than running it.
MEMBER_BY_ID = select(table_of(MemberRow)).where(MemberC.workspace == bindparam("workspace"),
                                                 MemberC.id == bindparam("id"))
STANDUP_BY_NAME = select(table_of(StandupRow)).where(StandupC.workspace == bindparam("workspace"),
                                                     StandupC.name == bindparam("name"))
RUN_OF_DAY = select(table_of(StandupRunRow)).where(
    StandupRunC.workspace == bindparam("workspace"), StandupRunC.standup == bindparam("standup"),
    StandupRunC.member == bindparam("member"), StandupRunC.day == bindparam("day"))
OUTBOX_BY_KEY = select(table_of(OutboxRow)).where(OutboxC.key == bindparam("key"))
KV_VALUE = select(KeyValueC.value).where(KeyValueC.workspace == bindparam("workspace"),
                                         KeyValueC.key == bindparam("key"))
KV_VALUES = select(KeyValueC.key, KeyValueC.value).where(KeyValueC.workspace == bindparam("workspace"),
                                                         KeyValueC.key.in_(bindparam("keys", expanding=True)))

BEATS_KEPT = timedelta(days=1)
"""A worker silent this long is forgotten: whatever it held has long been taken over."""


def _silent_workers(silent_since: datetime) -> Any:
    """Workers whose latest heartbeat is at or before the instant: presumed dead."""
    return select(BeatC.worker).where(BeatC.beat_at <= silent_since)


CUT_SHORT = "the attempt was cut short: the database connection dropped before its outcome was recorded"

CLAIMABLE_OUTBOX = ("pending", "failed", "dead")
"""Outbox states a new attempt may start from without waiting; ``sending`` only once stale."""


class SqlStore:
    def __init__(self, engine: Engine, calls: BlockingCalls | None = None) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        self.calls = calls if calls is not None else (BlockingCalls() if self.dialect == "postgresql" else None)
        """Where ``off_loop`` runs calls; ``None`` runs them in place (SQLite: local, one writer at a time)."""
        if self.calls is not None and self.calls.pause is not None:
            pool = self.calls
            event.listen(engine, "before_cursor_execute", lambda *_: pool.between_statements())

    async def off_loop(self, call: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
        """On the pool of ``calls`` (PostgreSQL); in place on SQLite, and inside a unit of work, whose
        connection belongs to the task that opened it."""
        if self.calls is None or ambient_connection(self.engine) is not None:
            return call(*args, **kwargs)
        return await self.calls.run(partial(call, *args, **kwargs))

    @classmethod
    def from_url(cls, url: str, create: bool = True) -> SqlStore:
        store = cls(make_engine(url))
        if create:
            store.create_all()
        return store

    def create_all(self) -> None:
        SQLModel.metadata.create_all(self.engine)

    def session(self) -> Any:
        return session_scope(self.engine)

    def transaction(self) -> AbstractContextManager[None]:
        return transaction_scope(self.engine)

    def one_statement(self) -> Any:
        """A Core connection for a method that runs one statement (the per-reminder hot path, where an ORM
        session's bookkeeping cost more than the query): autocommit on PostgreSQL, where BEGIN and COMMIT are
        round trips; SQLite keeps its ordinary transaction (an in-memory database shares one connection)."""
        return statement_scope(self.engine, autocommit=self.dialect == "postgresql")

    def _insert(self, model: type[SQLModel]) -> Any:
        insert = postgresql.insert if self.dialect == "postgresql" else sqlite.insert
        return insert(table_of(model))

    # --- workspaces and people --------------------------------------------------------
    def get_workspace(self, workspace: str) -> Workspace | None:
        with self.one_statement() as c:
            row = c.execute(select(table_of(WorkspaceRow)).where(table_of(WorkspaceRow).c.id == workspace)).first()
            return Workspace(row.id, row.platform, row.name, row.tz) if row else None

    def upsert_workspace(self, workspace: Workspace) -> None:
        """Write the workspace's own fields; its team holiday calendar (``set_team_holidays``) is left as it is."""
        values = {"id": workspace.id, "platform": workspace.platform, "name": workspace.name, "tz": workspace.tz}
        with self.session() as s:
            stmt = self._insert(WorkspaceRow)
            s.execute(stmt.values(values).on_conflict_do_update(
                index_elements=["id"], set_={k: stmt.excluded[k] for k in values if k != "id"}))

    def team_holidays(self, workspace: str) -> HolidayCalendar | None:
        with self.one_statement() as c:
            data = c.execute(select(table_of(WorkspaceRow).c.holidays)
                             .where(table_of(WorkspaceRow).c.id == workspace)).scalar()
            return HolidayCalendar.from_data(data) if data is not None else None

    def set_team_holidays(self, workspace: str, calendar: HolidayCalendar | None) -> None:
        with self.session() as s:
            s.execute(update(WorkspaceRow).where(table_of(WorkspaceRow).c.id == workspace)
                      .values(holidays=calendar.to_data() if calendar is not None else None))

    def list_workspaces(self) -> list[Workspace]:
        with self.session() as s:
            return [Workspace(r.id, r.platform, r.name, r.tz) for r in s.exec(select(WorkspaceRow)).scalars()]

    def get_member(self, workspace: str, member_id: str) -> Member | None:
        with self.one_statement() as c:
            row = c.execute(MEMBER_BY_ID, {"workspace": workspace, "id": member_id}).first()
            return member_from_row(row) if row else None

    def list_members(self, workspace: str) -> list[Member]:
        with self.session() as s:
            rows = s.exec(select(MemberRow).where(MemberC.workspace == workspace)
                          .order_by(MemberC.id)).scalars()
            return [member_from_row(r) for r in rows]

    def find_member_by_account(self, workspace: str, platform: str, account_id: str) -> Member | None:
        with self.session() as s:
            link = s.get(MemberAccountRow, (workspace, platform, account_id))
            row = s.get(MemberRow, (workspace, link.member_id)) if link else None
            return member_from_row(row) if row else None

    def upsert_member(self, member: Member) -> None:
        self.upsert_members([member])

    def upsert_members(self, members: list[Member]) -> None:
        """Write many people in one transaction with set-based statements (a 1,000-member import is one commit)."""
        if not members:
            return
        defaults = {ws: self.team_holidays(ws) for ws in {m.workspace for m in members if m.holidays is None}}
        rows = [{"workspace": m.workspace, "id": m.id, "name": m.name, "tz": m.tz,
                 "hours_start": f"{m.hours.start:%H:%M}", "hours_end": f"{m.hours.end:%H:%M}",
                 "quiet_start": f"{m.quiet.start:%H:%M}", "quiet_end": f"{m.quiet.end:%H:%M}",
                 "workdays": _csv(sorted(m.workdays)), "ooo": [str(r) for r in m.ooo],
                 "holidays": _calendar_data(m.holidays or defaults.get(m.workspace)), "accounts": dict(m.accounts),
                 "is_admin": m.is_admin, "owner_of": list(m.owner_of), "status_ooo": m.status_ooo,
                 "delegate": m.delegate}
                for m in members]
        accounts = [{"workspace": m.workspace, "platform": p, "account_id": a, "member_id": m.id}
                    for m in members for p, a in m.accounts.items()]
        with self.session() as s:
            stmt = self._insert(MemberRow)
            s.execute(stmt.on_conflict_do_update(
                index_elements=["workspace", "id"],
                set_={k: stmt.excluded[k] for k in rows[0] if k not in ("workspace", "id")}), rows)
            by_workspace: dict[str, list[str]] = {}
            for m in members:
                by_workspace.setdefault(m.workspace, []).append(m.id)
            for workspace, ids in by_workspace.items():
                s.execute(delete(MemberAccountRow).where(MemberAccountC.workspace == workspace,
                                                         MemberAccountC.member_id.in_(ids)))
            if accounts:
                stmt = self._insert(MemberAccountRow)
                s.execute(stmt.on_conflict_do_update(index_elements=["workspace", "platform", "account_id"],
                                                     set_={"member_id": stmt.excluded["member_id"]}), accounts)

    def set_member_status(self, workspace: str, member_id: str, absences: tuple[StatusAway, ...]) -> None:
        with self.session() as s:
            s.execute(update(MemberRow).where(MemberC.workspace == workspace, MemberC.id == member_id)
                      .values(status_away=status_data(absences) if absences else null()))

    def delete_member(self, workspace: str, member_id: str) -> None:
        with self.session() as s:
            s.execute(delete(MemberAccountRow).where(MemberAccountC.workspace == workspace,
                                                     MemberAccountC.member_id == member_id))
            s.execute(delete(MemberRow).where(MemberC.workspace == workspace,
                                              MemberC.id == member_id))
            s.execute(delete(KeyValueRow).where(KeyValueC.workspace == workspace,
                                                KeyValueC.key.like(f"member:{member_id}:%")))

    def merge_member(self, workspace: str, old_id: str, new_id: str) -> None:
        """Fold ``old_id`` into ``new_id``: its stand-up days and personal settings move where the new
        member has none of their own, then the old member is gone (one person, one member)."""
        if old_id == new_id:
            return
        mine = table_of(StandupRunRow).alias("mine")
        clash = select(mine.c.id).where(mine.c.workspace == workspace, mine.c.member == new_id,
                                       mine.c.standup == StandupRunC.standup, mine.c.day == StandupRunC.day)
        with self.session() as s:
            s.execute(update(StandupRunRow).where(StandupRunC.workspace == workspace, StandupRunC.member == old_id,
                                                  ~clash.exists()).values(member=new_id))
            s.execute(delete(StandupRunRow).where(StandupRunC.workspace == workspace, StandupRunC.member == old_id))
            old_prefix, new_prefix = f"member:{old_id}:", f"member:{new_id}:"
            rows = s.execute(select(KeyValueC.key, KeyValueC.value).where(
                KeyValueC.workspace == workspace, KeyValueC.key.like(f"{old_prefix}%"))).all()
            have = set(s.execute(select(KeyValueC.key).where(
                KeyValueC.workspace == workspace, KeyValueC.key.like(f"{new_prefix}%"))).scalars())
            moved = [{"workspace": workspace, "key": new_prefix + key[len(old_prefix):], "value": value}
                     for key, value in rows if new_prefix + key[len(old_prefix):] not in have]
            if moved:
                s.execute(self._insert(KeyValueRow), moved)
            statuses = dict(s.execute(select(MemberC.id, MemberC.status_away).where(
                MemberC.workspace == workspace, MemberC.id.in_((old_id, new_id)))).all())
            if statuses.get(old_id) and not statuses.get(new_id):  # what the platform said of the earlier member
                s.execute(update(MemberRow).where(MemberC.workspace == workspace, MemberC.id == new_id)
                          .values(status_away=statuses[old_id]))
        self.delete_member(workspace, old_id)

    # --- stand-ups ------------------------------------------------------------------
    def list_standups(self, workspace: str | None = None) -> list[Standup]:
        with self.session() as s:
            q = select(StandupRow).order_by(StandupC.workspace, StandupC.name)
            if workspace is not None:
                q = q.where(StandupC.workspace == workspace)
            return [standup_from_row(r) for r in s.exec(q).scalars()]

    def get_standup(self, workspace: str, name: str) -> Standup | None:
        with self.one_statement() as c:
            row = c.execute(STANDUP_BY_NAME, {"workspace": workspace, "name": name}).first()
            return standup_from_row(row) if row else None

    def upsert_standup(self, standup: Standup) -> None:
        with self.session() as s:
            s.merge(StandupRow(
                workspace=standup.workspace, name=standup.name, channel=standup.channel,
                remind_at=f"{standup.remind_at:%H:%M}", days=_csv(sorted(standup.days)),
                members=list(standup.members) if standup.members is not None else None,
                questions=list(standup.questions), nudge_after_min=int(standup.nudge_after.total_seconds() // 60),
                cutoff=f"{standup.cutoff:%H:%M}" if standup.cutoff else None, tz=standup.tz,
                paused=standup.paused, mention_missing=standup.mention_missing,
                escalate_after=standup.escalate_after))

    def get_run(self, workspace: str, standup: str, member: str, day: date) -> StandupRun | None:
        with self.one_statement() as c:
            row = c.execute(RUN_OF_DAY, {"workspace": workspace, "standup": standup, "member": member,
                                         "day": day}).first()
            return _run_from_row(row) if row else None

    def save_run(self, run: StandupRun) -> None:
        values = {"workspace": run.workspace, "standup": run.standup, "member": run.member, "day": run.day,
                  "status": run.status, "answers": list(run.answers), "answered_at": run.answered_at,
                  "reminded_at": run.reminded_at}
        stmt = self._insert(StandupRunRow).values(**values)
        stmt = stmt.on_conflict_do_update(
            index_elements=["workspace", "standup", "member", "day"],
            set_={k: stmt.excluded[k] for k in ("status", "answers", "answered_at", "reminded_at")})
        with self.one_statement() as c:
            c.execute(stmt)

    def mark_reminded(self, workspace: str, standup: str, member: str, day: date, at: datetime) -> None:
        with self.one_statement() as c:
            c.execute(self._mark_reminded, {"workspace": workspace, "standup": standup, "member": member, "day": day,
                                            "status": "reminded", "answers": [], "reminded_at": at})

    @cached_property
    def _mark_reminded(self) -> Any:
        stmt = self._insert(StandupRunRow)
        return stmt.on_conflict_do_update(
            index_elements=["workspace", "standup", "member", "day"],
            set_={"status": stmt.excluded.status, "reminded_at": stmt.excluded.reminded_at},
            where=StandupRunC.status.not_in(["answered", "skipped"]))

    def runs_for_day(self, workspace: str, standup: str, day: date, status: str | None = None) -> list[StandupRun]:
        return self.runs_between(workspace, standup, day, day, status=status)

    def runs_between(self, workspace: str, standup: str, first: date, last: date,
                     member: str | None = None, status: str | None = None) -> list[StandupRun]:
        query = select(table_of(StandupRunRow)).where(
            StandupRunC.workspace == workspace, StandupRunC.standup == standup,
            StandupRunC.day >= first, StandupRunC.day <= last)
        if member is not None:
            query = query.where(StandupRunC.member == member)
        if status is not None:
            query = query.where(StandupRunC.status == status)
        with self.one_statement() as c:
            rows = c.execute(query.order_by(StandupRunC.day, StandupRunC.member))
            return [_run_from_row(r) for r in rows]

    def delete_runs_for_member(self, workspace: str, member: str) -> int:
        with self.session() as s:
            result = s.execute(delete(StandupRunRow).where(StandupRunC.workspace == workspace,
                                                           StandupRunC.member == member))
            return int(result.rowcount or 0)

    # --- scheduled work ---------------------------------------------------------------
    def schedule(self, items: list[DueItem]) -> int:
        if not items:
            return 0
        rows = [{"key": i.key, "kind": i.kind, "workspace": i.workspace, "due_at": i.due_at, "payload": i.payload,
                 "status": "pending", "attempts": 0, "note": ""} for i in items]
        # One statement compiled once, sent as batched executemany; RETURNING counts what was new.
        stmt = self._insert(DueWorkRow).on_conflict_do_nothing(index_elements=["key"]).returning(DueWorkC.key)
        with self.session() as s:
            new = len(s.execute(stmt, rows).all())
        return new

    def beat(self, worker: str, at: datetime) -> None:
        stmt = self._insert(WorkerBeatRow).values(worker=worker, beat_at=at)
        with self.session() as s:
            s.execute(stmt.on_conflict_do_update(index_elements=["worker"], set_={"beat_at": stmt.excluded["beat_at"]}))
            s.execute(delete(WorkerBeatRow).where(BeatC.beat_at < at - BEATS_KEPT))

    def claim_due(self, now: datetime, worker: str, limit: int, lease_seconds: float,
                  silent_since: datetime | None = None) -> list[ClaimedItem]:
        until = now + timedelta(seconds=lease_seconds)
        table = DueWorkRow.__tablename__
        due = (f"SELECT id FROM {table} WHERE status = 'pending' AND due_at <= :now "
               "ORDER BY due_at, id LIMIT :limit")
        # On PostgreSQL, `= ANY(ARRAY(…))` keeps the update on primary-key lookups; a plain `IN (…)` may be
        # planned as a hash join over the whole table, which would make the cost grow with the member count.
        which = (f"id = ANY(ARRAY({due} FOR UPDATE SKIP LOCKED))" if self.dialect == "postgresql"
                 else f"id IN ({due})")
        with self.session() as s:
            # A worker that died mid-job leaves a claim whose lease runs out, and its heartbeat stops sooner:
            # make such claims claimable again.
            abandoned = DueWorkC.claimed_until < now
            if silent_since is not None:
                abandoned = abandoned | DueWorkC.claimed_by.in_(_silent_workers(silent_since))
            s.execute(update(DueWorkRow).where(DueWorkC.status == "claimed", abandoned).values(status="pending"))
            claim = text(
                f"UPDATE {table} SET status = 'claimed', claimed_by = :worker, claimed_until = :until, "
                f"attempts = attempts + 1 WHERE {which} "
                "RETURNING id, key, kind, workspace, due_at, payload, attempts"
            ).bindparams(bindparam("until", type_=UTCDateTime()), bindparam("now", type_=UTCDateTime()))
            rows = s.execute(claim, {"worker": worker, "until": until, "now": now, "limit": limit}).all()
        claimed = [ClaimedItem(r.id, r.key, r.kind, r.workspace, self._read_instant(r.due_at),
                               self._read_json(r.payload), r.attempts) for r in rows]
        return sorted(claimed, key=lambda c: (c.due_at, c.id))

    def _read_instant(self, value: Any) -> datetime:
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    @staticmethod
    def _read_json(value: Any) -> dict[str, Any]:
        if isinstance(value, str):
            import json

            return dict(json.loads(value))
        return dict(value or {})

    def release_claims(self, worker: str, keep: Collection[int] = ()) -> int:
        stmt = update(DueWorkRow).where(DueWorkC.status == "claimed", DueWorkC.claimed_by == worker)
        if keep:
            stmt = stmt.where(DueWorkC.id.not_in(list(keep)))
        with self.one_statement() as c:
            return int(c.execute(stmt.values(status="pending", claimed_until=None)).rowcount or 0)

    def finish(self, item_id: int, status: str, note: str = "") -> None:
        with self.one_statement() as c:
            c.execute(update(DueWorkRow).where(DueWorkC.id == item_id)
                      .values(status=status, note=note[:2000], claimed_until=None))

    def retry_later(self, item_id: int, at: datetime, note: str) -> None:
        with self.one_statement() as c:
            c.execute(update(DueWorkRow).where(DueWorkC.id == item_id)
                      .values(status="pending", due_at=at, note=note[:2000], claimed_until=None))

    def cancel_pending(self, workspace: str, key_prefix: str) -> int:
        """Drop pending work (its keys become free again) so that a re-plan puts it at its new time."""
        with self.session() as s:
            result = s.execute(delete(DueWorkRow).where(
                DueWorkC.workspace == workspace, DueWorkC.status == "pending",
                DueWorkC.key.startswith(key_prefix)))
            return int(result.rowcount or 0)

    def next_due_at(self) -> datetime | None:
        with self.one_statement() as c:
            value = c.execute(select(func.min(DueWorkC.due_at)).where(
                DueWorkC.status == "pending")).scalar()
            return self._read_instant(value) if value is not None else None

    def due_status(self, key: str) -> str | None:
        with self.one_statement() as c:
            return c.execute(select(DueWorkC.status).where(DueWorkC.key == key)).scalar()

    def due_items(self, key_prefix: str = "") -> list[DueWorkRow]:
        """Every scheduled item whose key starts with the prefix; for previews, audits and tests."""
        with self.session() as s:
            return list(s.exec(select(DueWorkRow).where(DueWorkC.key.startswith(key_prefix))
                               .order_by(DueWorkC.due_at, DueWorkC.id)).scalars())

    # --- outbox -----------------------------------------------------------------------
    def outbox_add(self, entry: OutboxEntry, now: datetime) -> OutboxEntry:
        # A new key comes back from the insert itself; only a key sent before needs reading back.
        with self.one_statement() as c:
            inserted = c.execute(self._insert(OutboxRow).values(
                key=entry.key, workspace=entry.workspace, kind=entry.kind, target=entry.target,
                thread_key=entry.thread_key, payload=entry.payload, status="pending", attempts=0,
                created_at=now, last_error="",
            ).on_conflict_do_nothing(index_elements=["key"]).returning(OutboxC.created_at)).first()
            if inserted is not None:
                return OutboxEntry(entry.key, entry.workspace, entry.kind, entry.target, entry.payload, "pending", 0,
                                   entry.thread_key, None, None, None, inserted.created_at, None)
            row = c.execute(OUTBOX_BY_KEY, {"key": entry.key}).first()
            assert row is not None
            return _outbox_from_row(row)

    def outbox_add_claimed(self, entry: OutboxEntry, now: datetime, worker: str) -> tuple[OutboxEntry, bool]:
        with self.one_statement() as c:
            inserted = c.execute(self._insert(OutboxRow).values(
                key=entry.key, workspace=entry.workspace, kind=entry.kind, target=entry.target,
                thread_key=entry.thread_key, payload=entry.payload, status="sending", attempts=0,
                created_at=now, last_error="", attempt_at=now, attempt_by=worker,
            ).on_conflict_do_nothing(index_elements=["key"]).returning(OutboxC.created_at)).first()
            if inserted is not None:
                return OutboxEntry(entry.key, entry.workspace, entry.kind, entry.target, entry.payload, "pending", 0,
                                   entry.thread_key, None, None, None, inserted.created_at, None), True
            row = c.execute(OUTBOX_BY_KEY, {"key": entry.key}).first()
            assert row is not None
            return _outbox_from_row(row), False

    def outbox_get(self, key: str) -> OutboxEntry | None:
        with self.one_statement() as c:
            row = c.execute(OUTBOX_BY_KEY, {"key": key}).first()
            return _outbox_from_row(row) if row else None

    def outbox_begin_attempt(self, key: str, now: datetime, stale_before: datetime, worker: str | None = None,
                             silent_since: datetime | None = None) -> OutboxEntry | None:
        # Read, then compare-and-set in a second transaction: the update only matches the state that was
        # read, so of two senders exactly one wins, on SQLite (no read-to-write upgrade) and PostgreSQL alike.
        before = self.outbox_get(key)
        if before is None:
            return None
        stale = before.status == "sending" and (before.attempt_at is None or before.attempt_at <= stale_before
                                                or self._silent(before.attempt_by, silent_since))
        if before.status not in CLAIMABLE_OUTBOX and not stale:
            return None
        same_attempt = (OutboxC.attempt_at.is_(None) if before.attempt_at is None
                        else OutboxC.attempt_at == before.attempt_at)
        with self.one_statement() as c:
            claimed = c.execute(update(OutboxRow)
                                .where(OutboxC.key == key, OutboxC.status == before.status, same_attempt)
                                .values(status="sending", attempt_at=now, attempt_by=worker))
            return before if claimed.rowcount == 1 else None

    def _silent(self, worker: str | None, silent_since: datetime | None) -> bool:
        """Whether ``worker``'s latest heartbeat is at or before ``silent_since`` (never, for one that never beat)."""
        if worker is None or silent_since is None:
            return False
        with self.one_statement() as c:
            beat = c.execute(select(BeatC.beat_at).where(BeatC.worker == worker)).scalar()
        return beat is not None and self._read_instant(beat) <= silent_since

    def outbox_renew_attempt(self, key: str, held_since: datetime, now: datetime) -> bool:
        with self.one_statement() as c:
            renewed = c.execute(update(OutboxRow)
                                .where(OutboxC.key == key, OutboxC.status == "sending",
                                       OutboxC.attempt_at == held_since)
                                .values(attempt_at=now))
            return bool(renewed.rowcount == 1)

    def outbox_mark_sent(self, key: str, channel: str, message_id: str, at: datetime) -> None:
        with self.one_statement() as c:
            c.execute(update(OutboxRow).where(OutboxC.key == key)
                      .values(status="sent", channel=channel, message_id=message_id, sent_at=at,
                              next_attempt_at=None, last_error=""))

    def outbox_mark_failed(self, key: str, error: str, retry_at: datetime | None) -> None:
        with self.one_statement() as c:
            c.execute(update(OutboxRow).where(OutboxC.key == key, OutboxC.status != "sent")
                      .values(status="failed" if retry_at else "dead", attempts=OutboxC.attempts + 1,
                              next_attempt_at=retry_at, last_error=error[:2000]))

    def outbox_retryable(self, now: datetime, limit: int, stale_after: timedelta = timedelta(minutes=5),
                         silent_since: datetime | None = None) -> list[OutboxEntry]:
        """Failed entries whose backoff is over, and entries a crash left ``pending`` or ``sending``."""
        stale = now - stale_after
        cut_short = OutboxC.attempt_at <= stale
        if silent_since is not None:
            cut_short = cut_short | OutboxC.attempt_by.in_(_silent_workers(silent_since))
        with self.session() as s:
            rows = s.exec(select(OutboxRow).where(
                ((OutboxC.status == "failed") & (OutboxC.next_attempt_at <= now))
                | ((OutboxC.status == "pending") & (OutboxC.created_at <= stale))
                | ((OutboxC.status == "sending") & cut_short))
                .order_by(OutboxC.created_at).limit(limit)).scalars()
            return [_outbox_from_row(r) for r in rows]

    def outbox_release(self, worker: str, now: datetime, keep: Collection[str] = ()) -> int:
        stmt = update(OutboxRow).where(OutboxC.status == "sending", OutboxC.attempt_by == worker)
        if keep:
            stmt = stmt.where(OutboxC.key.not_in(list(keep)))
        with self.one_statement() as c:
            return int(c.execute(stmt.values(status="failed", next_attempt_at=now, last_error=CUT_SHORT)).rowcount
                       or 0)

    def outage(self, err: BaseException) -> bool:
        return as_database_error(err) is not None

    def outbox_entries(self, workspace: str | None = None) -> list[OutboxEntry]:
        with self.session() as s:
            q = select(OutboxRow).order_by(OutboxC.created_at)
            if workspace:
                q = q.where(OutboxC.workspace == workspace)
            return [_outbox_from_row(r) for r in s.exec(q).scalars()]

    # --- retention ------------------------------------------------------------------------
    def purge(self, answers_before: date, bookkeeping_before: datetime) -> dict[str, int]:
        """Delete stand-up answers older than the retention period, and old finished bookkeeping."""
        with self.session() as s:
            runs = s.execute(delete(StandupRunRow).where(StandupRunC.day < answers_before))
            due = s.execute(delete(DueWorkRow).where(DueWorkC.status.in_(["done", "missed", "failed", "cancelled"]),
                                                     DueWorkC.due_at < bookkeeping_before))
            sent = s.execute(delete(OutboxRow).where(OutboxC.status.in_(["sent", "dead"]),
                                                     OutboxC.created_at < bookkeeping_before))
            return {"answers": int(runs.rowcount or 0), "due_work": int(due.rowcount or 0),  # type: ignore[attr-defined]
                    "outbox": int(sent.rowcount or 0)}  # type: ignore[attr-defined]

    # --- small state ------------------------------------------------------------------
    def kv_get(self, workspace: str, key: str) -> Any:
        with self.one_statement() as c:
            return c.execute(KV_VALUE, {"workspace": workspace, "key": key}).scalar()

    def kv_set(self, workspace: str, key: str, value: Any) -> None:
        with self.one_statement() as c:  # one upsert, where a merge would read the row first
            c.execute(self._kv_upsert, {"workspace": workspace, "key": key, "value": value})

    def kv_get_many(self, workspace: str, keys: Sequence[str]) -> dict[str, Any]:
        with self.one_statement() as c:
            return {row.key: row.value for row in c.execute(KV_VALUES, {"workspace": workspace, "keys": list(keys)})}

    def kv_set_many(self, workspace: str, values: Mapping[str, Any]) -> None:
        if values:
            with self.one_statement() as c:  # one statement; the driver sends its rows together
                c.execute(self._kv_upsert, [{"workspace": workspace, "key": k, "value": v} for k, v in values.items()])

    @cached_property
    def _kv_upsert(self) -> Any:
        """Built once with the values as parameters: a statement holding the value itself made SQLAlchemy
        derive its cache key from the value's type on every call, most of a small write's time."""
        stmt = self._insert(KeyValueRow)
        return stmt.on_conflict_do_update(index_elements=["workspace", "key"], set_={"value": stmt.excluded["value"]})

    def kv_delete(self, workspace: str, key: str) -> None:
        with self.one_statement() as c:
            c.execute(delete(KeyValueRow).where(KeyValueC.workspace == workspace,
                                                KeyValueC.key == key))


__all__ = ["SqlStore"]
