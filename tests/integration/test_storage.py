"""Storage on both databases: migrations from empty, aware UTC instants, idempotent outbox, workspaces apart."""

from __future__ import annotations

from datetime import UTC, date, datetime

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

import storage.tables  # noqa: F401
from bot.kernel.domain import Member, Workspace
from bot.kernel.ports import OutboxEntry, StandupRun
from storage.kernel.repo import SqlStore

NOW = datetime(2027, 3, 15, 9, 30, tzinfo=UTC)


def test_migrations_from_empty_match_the_models(store: SqlStore) -> None:
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    assert diff == []


def test_instants_round_trip_as_aware_utc(store: SqlStore) -> None:
    store.save_run(StandupRun("w", "d", "m", date(2027, 3, 15), "answered", ("a",), NOW, NOW))
    run = store.get_run("w", "d", "m", date(2027, 3, 15))
    assert run is not None and run.answered_at == NOW and run.answered_at.tzinfo is not None


def test_outbox_add_is_idempotent_by_key(store: SqlStore) -> None:
    entry = OutboxEntry("k", "w", "dm", "alice", "{}", "pending", 0)
    store.outbox_add(entry, NOW)
    store.outbox_mark_sent("k", "@alice", "m1", NOW)
    again = store.outbox_add(OutboxEntry("k", "w", "dm", "bob", "{}", "pending", 0), NOW)
    assert (again.status, again.target, again.message_id) == ("sent", "alice", "m1")


def test_members_and_accounts_stay_inside_their_workspace(store: SqlStore) -> None:
    store.upsert_workspace(Workspace("T1", "slack"))
    store.upsert_workspace(Workspace("T2", "slack"))
    store.upsert_member(Member("T1", "alice", "Alice", accounts={"slack": "U1"}))
    store.upsert_member(Member("T2", "bob", "Bob", accounts={"slack": "U1"}))
    assert store.find_member_by_account("T1", "slack", "U1").id == "alice"  # type: ignore[union-attr]
    assert store.find_member_by_account("T2", "slack", "U1").id == "bob"  # type: ignore[union-attr]
    assert [m.id for m in store.list_members("T1")] == ["alice"]
    assert store.get_member("T2", "alice") is None


def test_kv_holds_json_values(store: SqlStore) -> None:
    store.kv_set("w", "member:a:conversation", {"answers": ["x"], "index": 1})
    assert store.kv_get("w", "member:a:conversation") == {"answers": ["x"], "index": 1}
    store.kv_delete("w", "member:a:conversation")
    assert store.kv_get("w", "member:a:conversation") is None
