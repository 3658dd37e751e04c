"""Shared set-up for RACI tests: real stores on SQLite or PostgreSQL, a team, a fixed clock."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.pool import StaticPool

from bot.domain import Member, Workspace
from storage.raci_repo import RaciRepo, create_raci_tables

POSTGRES_URL = os.environ.get("MERIDIAN_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def sqlite_engine() -> Engine:
    engine = create_engine("sqlite://", connect_args={"check_same_thread": False}, poolclass=StaticPool)
    create_raci_tables(engine)
    return engine


@contextmanager
def postgres_engine() -> Iterator[Engine]:
    """An engine whose tables live in a schema of their own, dropped afterwards."""
    schema = f"raci_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = create_engine(POSTGRES_URL, connect_args={"options": f"-csearch_path={schema}"})
    try:
        create_raci_tables(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def postgres_available() -> bool:
    try:
        with create_engine(POSTGRES_URL).connect() as conn:
            conn.execute(text("select 1"))
        return True
    except Exception:
        return False


WS = "acme-ml"

TEAM = [
    Member(WS, "alice", "Alice", tz="America/Los_Angeles", is_admin=True,
           accounts={"slack": "U01ALICE", "email": "alice@acme.example"}),
    Member(WS, "ravi", "Ravi", tz="Asia/Kolkata"),
    Member(WS, "noor", "Noor", tz="Asia/Dubai", accounts={"slack": "U04NOOR", "email": "noor@acme.example"}),
    Member(WS, "bea", "Bea", tz="Europe/Berlin"),
    Member(WS, "sam", "Sam", tz="Australia/Sydney"),
]


class People:
    """The slice of the core store RACI reads members from, held in memory."""

    def __init__(self, members: list[Member]) -> None:
        self.members = {(m.workspace, m.id): m for m in members}

    def get_member(self, workspace: str, member_id: str) -> Member | None:
        return self.members.get((workspace, member_id))

    def list_members(self, workspace: str) -> list[Member]:
        return [m for (ws, _), m in self.members.items() if ws == workspace]

    def find_member_by_account(self, workspace: str, platform: str, account_id: str) -> Member | None:
        return next((m for m in self.list_members(workspace) if m.account(platform) == account_id), None)

    def get_workspace(self, workspace: str) -> Workspace | None:
        return Workspace(workspace)

    def upsert_member(self, member: Member) -> None:
        self.members[(member.workspace, member.id)] = member


@dataclass
class FixedClock:
    at: datetime = datetime(2027, 3, 15, 13, 20, tzinfo=UTC)

    def now(self) -> datetime:
        return self.at


def member(member_id: str, **changes: object) -> Member:
    found = next(m for m in TEAM if m.id == member_id)
    return replace(found, **changes)  # type: ignore[arg-type]


def repo_on(engine: Engine) -> RaciRepo:
    return RaciRepo(engine)
