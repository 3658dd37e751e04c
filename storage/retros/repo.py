"""``RetroRepo``: the retros' ``RetroStore`` port over SQLModel, on SQLite and PostgreSQL.

Votes are inserted with ``ON CONFLICT DO NOTHING`` on (item, voter), so a double click,
a reaction and a button press by the same person count once. Item numbers are the next
free number of their occurrence, guarded by a unique constraint and retried on a clash.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import SQLModel

from bot.retros.model import ActionItem, BurdenEntry, Item, Occurrence, Retro
from storage.db import session_scope, table_of
from storage.retros.models import (
    RetroActionRow,
    RetroBurdenRow,
    RetroItemRow,
    RetroOccurrenceRow,
    RetroRow,
    RetroVoteRow,
)

RetroC = table_of(RetroRow).c
OccC = table_of(RetroOccurrenceRow).c
BurdenC = table_of(RetroBurdenRow).c
ItemC = table_of(RetroItemRow).c
VoteC = table_of(RetroVoteRow).c
ActionC = table_of(RetroActionRow).c


def _config(r: Retro) -> dict[str, Any]:
    return {
        "every": r.every, "duration": r.duration, "starts": r.starts.isoformat() if r.starts else None,
        "members": list(r.members) if r.members is not None else None,
        "candidates": list(r.candidates) if r.candidates is not None else None,
        "open_before_min": int(r.open_before.total_seconds() // 60),
        "prompts": [list(p) for p in r.prompts], "night_cap": r.night_cap, "max_votes": r.max_votes,
        "opens": r.opens.isoformat() if r.opens else None, "closes": r.closes.isoformat() if r.closes else None,
        "tz": r.tz, "facilitator": r.facilitator,
    }


def _retro(row: RetroRow) -> Retro:
    c = row.config

    def instant(raw: str | None) -> datetime | None:
        return datetime.fromisoformat(raw).astimezone(UTC) if raw else None

    return Retro(
        workspace=row.workspace, name=row.name, channel=row.channel, every=c.get("every"),
        duration=c.get("duration", "60m"), starts=date.fromisoformat(c["starts"]) if c.get("starts") else None,
        members=tuple(c["members"]) if c.get("members") is not None else None,
        candidates=tuple(c["candidates"]) if c.get("candidates") is not None else None,
        open_before=timedelta(minutes=c.get("open_before_min", 48 * 60)),
        prompts=tuple((str(k), str(v)) for k, v in c.get("prompts", [])),
        night_cap=c.get("night_cap"), max_votes=int(c.get("max_votes", 3)),
        opens=instant(c.get("opens")), closes=instant(c.get("closes")), tz=c.get("tz", "UTC"),
        facilitator=c.get("facilitator"),
    )


def _occ(row: RetroOccurrenceRow) -> Occurrence:
    return Occurrence(row.workspace, row.retro, row.day, row.start_at, row.end_at, row.opens_at, row.published,
                      row.status, row.thread_id, dict(row.penalty), tuple(row.night))


def _item(row: RetroItemRow, votes: int = 0) -> Item:
    assert row.id is not None
    return Item(row.workspace, row.retro, row.day, row.category, row.text, row.author, row.number, row.id,
                row.message_id, votes)


def _action(row: RetroActionRow) -> ActionItem:
    assert row.id is not None
    return ActionItem(row.workspace, row.retro, row.day, row.owner, row.text, row.due, row.status, row.id,
                      row.created_by)


class RetroRepo:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name

    def session(self) -> Any:
        return session_scope(self.engine)

    def _insert(self, model: type[SQLModel]) -> Any:
        insert = postgresql.insert if self.dialect == "postgresql" else sqlite.insert
        return insert(table_of(model))

    # --- retros -----------------------------------------------------------------------
    def upsert_retro(self, retro: Retro) -> None:
        with self.session() as s:
            s.merge(RetroRow(workspace=retro.workspace, name=retro.name, channel=retro.channel,
                             config=_config(retro)))

    def get_retro(self, workspace: str, name: str) -> Retro | None:
        with self.session() as s:
            row = s.get(RetroRow, (workspace, name))
            return _retro(row) if row else None

    def list_retros(self, workspace: str | None = None) -> list[Retro]:
        with self.session() as s:
            q = select(RetroRow).order_by(RetroC.workspace, RetroC.name)
            if workspace is not None:
                q = q.where(RetroC.workspace == workspace)
            return [_retro(r) for r in s.exec(q).scalars()]

    # --- occurrences ------------------------------------------------------------------
    def occurrences(self, workspace: str, retro: str) -> list[Occurrence]:
        with self.session() as s:
            rows = s.exec(select(RetroOccurrenceRow).where(OccC.workspace == workspace, OccC.retro == retro)
                          .order_by(OccC.day)).scalars()
            return [_occ(r) for r in rows]

    def get_occurrence(self, workspace: str, retro: str, day: date) -> Occurrence | None:
        with self.session() as s:
            row = s.get(RetroOccurrenceRow, (workspace, retro, day))
            return _occ(row) if row else None

    def save_occurrence(self, occ: Occurrence) -> None:
        with self.session() as s:
            s.merge(RetroOccurrenceRow(
                workspace=occ.workspace, retro=occ.retro, day=occ.day, start_at=occ.start, end_at=occ.end,
                opens_at=occ.opens_at, published=occ.published, status=occ.status, thread_id=occ.thread_id,
                penalty=dict(occ.penalty), night=list(occ.night)))

    def delete_unpublished(self, workspace: str, retro: str) -> int:
        with self.session() as s:
            result = s.execute(delete(RetroOccurrenceRow).where(
                OccC.workspace == workspace, OccC.retro == retro, OccC.published.is_(False)))
            return int(result.rowcount or 0)

    def occurrence_by_thread(self, workspace: str, thread_id: str) -> Occurrence | None:
        with self.session() as s:
            row = s.exec(select(RetroOccurrenceRow).where(OccC.workspace == workspace,
                                                          OccC.thread_id == thread_id)).scalars().first()
            return _occ(row) if row else None

    # --- burden -----------------------------------------------------------------------
    def burden_history(self, workspace: str, retro: str) -> list[BurdenEntry]:
        with self.session() as s:
            rows = s.exec(select(RetroBurdenRow).where(BurdenC.workspace == workspace, BurdenC.retro == retro)
                          .order_by(BurdenC.day, BurdenC.member, BurdenC.kind)).scalars()
            return [BurdenEntry(r.workspace, r.retro, r.member, r.day, r.kind, r.penalty, r.early, r.late, r.night)
                    for r in rows]

    def add_burden(self, entries: list[BurdenEntry]) -> None:
        if not entries:
            return
        stmt = self._insert(RetroBurdenRow).values([
            {"workspace": e.workspace, "retro": e.retro, "member": e.member, "day": e.day, "kind": e.kind,
             "penalty": e.penalty, "early": e.early, "late": e.late, "night": e.night} for e in entries
        ]).on_conflict_do_nothing(index_elements=["workspace", "retro", "member", "day", "kind"])
        with self.session() as s:
            s.execute(stmt)

    # --- items and votes --------------------------------------------------------------
    def add_item(self, item: Item) -> Item:
        for _ in range(5):
            try:
                with self.session() as s:
                    last = s.execute(select(func.max(ItemC.number)).where(
                        ItemC.workspace == item.workspace, ItemC.retro == item.retro, ItemC.day == item.day)).scalar()
                    row = RetroItemRow(
                        workspace=item.workspace, retro=item.retro, day=item.day, number=int(last or 0) + 1,
                        category=item.category, text=item.text, author=item.author, anonymous=item.author is None,
                        message_id=item.message_id,
                        created_at=None if item.author is None else datetime.now(UTC))
                    s.add(row)
                    s.flush()
                    return _item(row)
            except IntegrityError:
                continue  # another writer took the number: take the next one
        raise RuntimeError("could not number a retro item")

    def _with_votes(self, s: Any, rows: list[RetroItemRow]) -> list[Item]:
        ids = [r.id for r in rows]
        counts: dict[int, int] = {}
        if ids:
            counts = dict(s.execute(select(VoteC.item_id, func.count()).where(VoteC.item_id.in_(ids))
                                    .group_by(VoteC.item_id)).all())
        return [_item(r, counts.get(r.id or 0, 0)) for r in rows]

    def items(self, workspace: str, retro: str, day: date) -> list[Item]:
        with self.session() as s:
            rows = list(s.exec(select(RetroItemRow).where(
                ItemC.workspace == workspace, ItemC.retro == retro, ItemC.day == day)
                .order_by(ItemC.number)).scalars())
            return self._with_votes(s, rows)

    def item_by_number(self, workspace: str, retro: str, day: date, number: int) -> Item | None:
        with self.session() as s:
            rows = list(s.exec(select(RetroItemRow).where(
                ItemC.workspace == workspace, ItemC.retro == retro, ItemC.day == day,
                ItemC.number == number)).scalars())
            found = self._with_votes(s, rows)
            return found[0] if found else None

    def item_by_message(self, workspace: str, message_id: str) -> Item | None:
        with self.session() as s:
            rows = list(s.exec(select(RetroItemRow).where(ItemC.workspace == workspace,
                                                          ItemC.message_id == message_id)).scalars())
            found = self._with_votes(s, rows[:1])
            return found[0] if found else None

    def set_item_message(self, item_id: int, message_id: str) -> None:
        with self.session() as s:
            s.execute(update(RetroItemRow).where(ItemC.id == item_id).values(message_id=message_id))

    def vote(self, item: Item, voter: str) -> bool:
        stmt = self._insert(RetroVoteRow).values(
            item_id=item.id, voter=voter, workspace=item.workspace, retro=item.retro, day=item.day,
        ).on_conflict_do_nothing(index_elements=["item_id", "voter"]).returning(VoteC.item_id)
        with self.session() as s:
            return bool(s.execute(stmt).all())

    def unvote(self, item: Item, voter: str) -> bool:
        with self.session() as s:
            result = s.execute(delete(RetroVoteRow).where(VoteC.item_id == item.id, VoteC.voter == voter))
            return bool(result.rowcount)

    def votes_cast(self, workspace: str, retro: str, day: date, voter: str) -> int:
        with self.session() as s:
            return int(s.execute(select(func.count()).select_from(table_of(RetroVoteRow)).where(
                VoteC.workspace == workspace, VoteC.retro == retro, VoteC.day == day,
                VoteC.voter == voter)).scalar() or 0)

    def voted(self, workspace: str, retro: str, day: date, voter: str) -> set[int]:
        with self.session() as s:
            return {int(n) for n in s.execute(select(ItemC.number).join(
                table_of(RetroVoteRow), VoteC.item_id == ItemC.id).where(
                VoteC.workspace == workspace, VoteC.retro == retro, VoteC.day == day,
                VoteC.voter == voter)).scalars()}

    # --- action items -----------------------------------------------------------------
    def add_action(self, action: ActionItem) -> ActionItem:
        with self.session() as s:
            row = RetroActionRow(workspace=action.workspace, retro=action.retro, day=action.day, owner=action.owner,
                                 text=action.text, due=action.due, status=action.status,
                                 created_by=action.created_by, created_at=datetime.now(UTC))
            s.add(row)
            s.flush()
            return _action(row)

    def get_action(self, workspace: str, action_id: int) -> ActionItem | None:
        with self.session() as s:
            row = s.get(RetroActionRow, action_id)
            return _action(row) if row and row.workspace == workspace else None

    def actions(self, workspace: str, retro: str | None = None, status: str | None = "open") -> list[ActionItem]:
        with self.session() as s:
            q = select(RetroActionRow).where(ActionC.workspace == workspace).order_by(ActionC.id)
            if retro is not None:
                q = q.where(ActionC.retro == retro)
            if status is not None:
                q = q.where(ActionC.status == status)
            return [_action(r) for r in s.exec(q).scalars()]

    def set_action_status(self, workspace: str, action_id: int, status: str) -> None:
        with self.session() as s:
            s.execute(update(RetroActionRow).where(ActionC.workspace == workspace, ActionC.id == action_id)
                      .values(status=status))

    def forget_member(self, workspace: str, member: str) -> dict[str, int]:
        with self.session() as s:
            items = s.execute(update(RetroItemRow).where(ItemC.workspace == workspace, ItemC.author == member)
                              .values(author=None, created_at=None))
            votes = s.execute(delete(RetroVoteRow).where(VoteC.workspace == workspace, VoteC.voter == member))
            s.execute(delete(RetroBurdenRow).where(BurdenC.workspace == workspace, BurdenC.member == member))
            s.execute(update(RetroActionRow).where(ActionC.workspace == workspace, ActionC.created_by == member)
                      .values(created_by=None))
            return {"retro items made anonymous": int(items.rowcount or 0),
                    "retro votes": int(votes.rowcount or 0)}

    def merge_member(self, workspace: str, old: str, new: str) -> None:
        with self.session() as s:
            s.execute(update(RetroItemRow).where(ItemC.workspace == workspace, ItemC.author == old).values(author=new))
            s.execute(update(RetroActionRow).where(ActionC.workspace == workspace, ActionC.owner == old)
                      .values(owner=new))
            s.execute(update(RetroActionRow).where(ActionC.workspace == workspace, ActionC.created_by == old)
                      .values(created_by=new))
            votes = table_of(RetroVoteRow).alias("theirs")
            s.execute(update(RetroVoteRow).where(
                VoteC.workspace == workspace, VoteC.voter == old,
                ~select(votes.c.item_id).where(votes.c.item_id == VoteC.item_id, votes.c.voter == new).exists())
                .values(voter=new))
            s.execute(delete(RetroVoteRow).where(VoteC.workspace == workspace, VoteC.voter == old))
            burden = table_of(RetroBurdenRow).alias("theirs")
            s.execute(update(RetroBurdenRow).where(
                BurdenC.workspace == workspace, BurdenC.member == old,
                ~select(burden.c.day).where(burden.c.workspace == workspace, burden.c.retro == BurdenC.retro,
                                           burden.c.member == new, burden.c.day == BurdenC.day,
                                           burden.c.kind == BurdenC.kind).exists())
                .values(member=new))
            s.execute(delete(RetroBurdenRow).where(BurdenC.workspace == workspace, BurdenC.member == old))


__all__ = ["RetroRepo"]
