"""Shared fixtures: a real database (SQLite and PostgreSQL), the core wired to the console chat, a simulated clock.

PostgreSQL tests use a database of their own, created for the test session and dropped
after it. When ``MERIDIAN_REQUIRE_POSTGRES=1`` (CI sets it) an unreachable server is a
failure, not a skip.
"""

from __future__ import annotations

import io
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlmodel import SQLModel

from adapters.console.chat import ConsoleChat
from bot.bootstrap import build_core
from bot.kernel.app import Meridian
from bot.kernel.clock import SimulatedClock
from bot.kernel.team import apply_team
from bot.kernel.teamfile import parse_team
from storage.kernel.repo import SqlStore
from storage.migrate import upgrade

POSTGRES_ADMIN_URL = os.environ.get("MERIDIAN_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REQUIRE_POSTGRES = os.environ.get("MERIDIAN_REQUIRE_POSTGRES") == "1"


def _postgres_database() -> Iterator[str]:
    name = f"meridian_test_{uuid.uuid4().hex[:10]}"
    try:
        admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as err:
        if REQUIRE_POSTGRES:
            pytest.fail(f"PostgreSQL is required but unreachable at {POSTGRES_ADMIN_URL}: {err}")
        pytest.skip(f"PostgreSQL unreachable: {type(err).__name__}")
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A migrated, empty PostgreSQL database for this test session."""
    for url in _postgres_database():
        upgrade(url)
        yield url


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'meridian.db'}"
    upgrade(url)
    return url


def _truncate(store: SqlStore) -> None:
    with store.engine.begin() as conn:
        for table in reversed(SQLModel.metadata.sorted_tables):
            conn.execute(table.delete())


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest) -> str:
    """Each storage test runs on both databases."""
    url: str = request.getfixturevalue(f"{request.param}_url")
    return url


@pytest.fixture
def store(db_url: str) -> Iterator[SqlStore]:
    s = SqlStore.from_url(db_url, create=False)
    _truncate(s)
    yield s
    s.engine.dispose()


@pytest.fixture
def sqlite_store(sqlite_url: str) -> Iterator[SqlStore]:
    s = SqlStore.from_url(sqlite_url, create=False)
    _truncate(s)
    yield s
    s.engine.dispose()


DEMO = Path(__file__).resolve().parent.parent / "examples" / "team.yaml"


class Harness:
    """The real core on a real store, with the console chat recording everything and a simulated clock."""

    def __init__(self, store: SqlStore, start: datetime) -> None:
        self.clock = SimulatedClock(start)
        self.out = io.StringIO()
        self.chat = ConsoleChat(self.clock, out=self.out)
        self.app: Meridian = build_core(store, self.clock, {"console": self.chat}, worker="test")
        self.store = store

    def load(self, team_yaml: str) -> Any:
        tf = parse_team(team_yaml, "team.yaml", self.app.sections)
        apply_team(self.app, tf)
        return tf

    async def advance_to(self, instant: datetime) -> None:
        await self.app.engine.advance_to(instant, self.clock)

    def dms(self, member: str) -> list[Any]:
        return [m for m in self.chat.messages if m.channel == f"@{member}" and m.speaker == "Meridian"]


@pytest.fixture
def harness_factory(store: SqlStore) -> Any:
    def make(start: datetime = datetime(2027, 3, 15, tzinfo=UTC)) -> Harness:
        return Harness(store, start)

    return make


@pytest.fixture
def sqlite_harness(sqlite_store: SqlStore) -> Any:
    def make(start: datetime = datetime(2027, 3, 15, tzinfo=UTC)) -> Harness:
        return Harness(sqlite_store, start)

    return make
