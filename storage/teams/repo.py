"""What the Teams adapter remembers, on SQLite or PostgreSQL: conversation references and identities.

Writes are upserts keyed by tenant, so a web process and a worker can both record what
they saw without stepping on each other, and nothing of one tenant is readable from
another.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, or_, select

from storage.db import table_of
from storage.teams.models import TeamsConversationRow, TeamsUserRow


@dataclass(frozen=True)
class Conversation:
    tenant: str
    id: str
    kind: str
    label: str | None
    member_id: str | None
    service_url: str
    reference: dict[str, Any]


@dataclass(frozen=True)
class TeamsIdentity:
    tenant: str
    member_id: str
    user_id: str
    aad_object_id: str | None
    name: str


def _conversation(row: TeamsConversationRow) -> Conversation:
    return Conversation(row.tenant, row.conversation_id, row.kind, row.label, row.member_id, row.service_url,
                        json.loads(row.reference))


class TeamsRepo:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _insert(self, model: Any) -> Any:
        insert = postgresql.insert if self.engine.dialect.name == "postgresql" else sqlite.insert
        return insert(table_of(model))

    # --- conversations ------------------------------------------------------------------
    def save_conversation(self, tenant: str, conversation_id: str, kind: str, service_url: str,
                          reference: dict[str, Any], at: datetime, label: str | None = None,
                          member_id: str | None = None) -> Conversation:
        """Record (or refresh) a conversation; a channel keeps the label it was first given."""
        with Session(self.engine, expire_on_commit=False) as s:
            existing = s.get(TeamsConversationRow, (tenant, conversation_id))
            if existing is not None and existing.label:
                label = existing.label
            elif label is not None:
                label = self._free_label(s, tenant, conversation_id, label)
            values = {"tenant": tenant, "conversation_id": conversation_id, "kind": kind, "label": label,
                      "member_id": member_id, "service_url": service_url, "reference": json.dumps(reference),
                      "updated_at": at}
            stmt = self._insert(TeamsConversationRow).values(**values)
            s.execute(stmt.on_conflict_do_update(
                index_elements=["tenant", "conversation_id"],
                set_={k: stmt.excluded[k] for k in values if k not in ("tenant", "conversation_id", "label")}))
            s.commit()
            row = s.get(TeamsConversationRow, (tenant, conversation_id), populate_existing=True)
            assert row is not None
            return _conversation(row)

    @staticmethod
    def _free_label(s: Session, tenant: str, conversation_id: str, label: str) -> str:
        """``#name``, or ``#name-1a2b`` when another channel of the tenant already answers to it."""
        taken = s.exec(select(TeamsConversationRow.conversation_id).where(
            TeamsConversationRow.tenant == tenant, TeamsConversationRow.label == label)).first()
        if taken is None or taken == conversation_id:
            return label
        return f"{label}-{hashlib.sha256(conversation_id.encode()).hexdigest()[:4]}"

    def conversation(self, tenant: str, conversation_id: str) -> Conversation | None:
        with Session(self.engine) as s:
            row = s.get(TeamsConversationRow, (tenant, conversation_id))
            return _conversation(row) if row else None

    def channel(self, tenant: str, name: str) -> Conversation | None:
        """A channel by its label (``#ml-team``) or its Teams id."""
        with Session(self.engine) as s:
            row = s.exec(select(TeamsConversationRow).where(
                TeamsConversationRow.tenant == tenant, TeamsConversationRow.label == name)).first()
            if row is None:
                row = s.get(TeamsConversationRow, (tenant, name))
            return _conversation(row) if row else None

    def personal(self, tenant: str, member_id: str) -> Conversation | None:
        with Session(self.engine) as s:
            row = s.exec(select(TeamsConversationRow).where(
                TeamsConversationRow.tenant == tenant, TeamsConversationRow.member_id == member_id,
                TeamsConversationRow.kind == "personal").order_by(col(TeamsConversationRow.updated_at).desc()).limit(1)).first()
            return _conversation(row) if row else None

    def newest(self, tenant: str) -> Conversation | None:
        """The conversation the tenant was last heard from: its service URL and the bot's id there.

        ``LIMIT 1`` matters: without it the ORM builds every row of the tenant (a 1:1 chat per person) to
        return the first, and a fan-out asks this once per new chat.
        """
        with Session(self.engine) as s:
            row = s.exec(select(TeamsConversationRow).where(TeamsConversationRow.tenant == tenant)
                         .order_by(col(TeamsConversationRow.updated_at).desc()).limit(1)).first()
            return _conversation(row) if row else None

    # --- identities ---------------------------------------------------------------------
    def save_identity(self, identity: TeamsIdentity) -> None:
        values = {"tenant": identity.tenant, "member_id": identity.member_id, "user_id": identity.user_id,
                  "aad_object_id": identity.aad_object_id, "name": identity.name[:300]}
        with Session(self.engine) as s:
            stmt = self._insert(TeamsUserRow).values(**values)
            s.execute(stmt.on_conflict_do_update(
                index_elements=["tenant", "member_id"],
                set_={k: stmt.excluded[k] for k in values if k not in ("tenant", "member_id")}))
            s.commit()

    def save_identities(self, identities: list[TeamsIdentity]) -> None:
        """Many identities in one transaction (a team's roster)."""
        rows = [{"tenant": i.tenant, "member_id": i.member_id, "user_id": i.user_id,
                 "aad_object_id": i.aad_object_id, "name": i.name[:300]} for i in identities]
        with Session(self.engine) as s:
            for start in range(0, len(rows), 500):
                stmt = self._insert(TeamsUserRow).values(rows[start:start + 500])
                s.execute(stmt.on_conflict_do_update(
                    index_elements=["tenant", "member_id"],
                    set_={k: stmt.excluded[k] for k in ("user_id", "aad_object_id", "name")}))
            s.commit()

    def identities(self, tenant: str) -> dict[str, TeamsIdentity]:
        """Every Teams identity of the tenant, by member id."""
        with Session(self.engine) as s:
            rows = s.exec(select(TeamsUserRow).where(TeamsUserRow.tenant == tenant)).all()
            return {r.member_id: TeamsIdentity(r.tenant, r.member_id, r.user_id, r.aad_object_id, r.name)
                    for r in rows}

    def identity(self, tenant: str, member_id: str) -> TeamsIdentity | None:
        with Session(self.engine) as s:
            row = s.get(TeamsUserRow, (tenant, member_id))
            if row is None:
                return None
            return TeamsIdentity(row.tenant, row.member_id, row.user_id, row.aad_object_id, row.name)

    def member_of_user(self, tenant: str, user_id: str) -> str | None:
        """The member a Teams user id (``29:…``, what a mention in an activity carries) or an Entra object id
        (what a message action's payload carries) was last seen as."""
        with Session(self.engine) as s:
            return s.exec(select(TeamsUserRow.member_id).where(
                TeamsUserRow.tenant == tenant,
                or_(TeamsUserRow.user_id == user_id, TeamsUserRow.aad_object_id == user_id))).first()

    def forget(self, tenant: str, member_id: str) -> None:
        """``forget-me``: the person's Teams identity and their 1:1 chat reference go too."""
        with Session(self.engine) as s:
            row = s.get(TeamsUserRow, (tenant, member_id))
            if row is not None:
                s.delete(row)
            for conv in s.exec(select(TeamsConversationRow).where(
                    TeamsConversationRow.tenant == tenant, TeamsConversationRow.member_id == member_id)).all():
                s.delete(conv)
            s.commit()
