"""One contract for every ``Store``: the in-memory store, ``SqlStore`` on SQLite and on PostgreSQL.

The same checks run against each, so the memory store the fast tests use behaves as the
database does, and the database behaves as the kernel expects: people and their platform
accounts, stand-up runs, scheduled work (idempotent keys, leases, retries), the outbox's
compare-and-set, small state, retention, and ``transaction()`` leaving nothing behind when
its block fails — on SQL, across the kernel store and another repository on the same database.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta, timezone

import pytest
from sqlmodel import SQLModel

from bot.kernel.calendars import HolidayCalendar
from bot.kernel.domain import DateRange, Hours, Member, Standup, StatusAway, Workspace
from bot.kernel.ports import DueItem, OutboxEntry, StandupRun, Store
from bot.raci.model import Activity, Assignment, Change, HistoryEntry, Role
from storage.kernel.repo import SqlStore
from storage.raci.repo import RaciRepo
from tests.memory_store import MemoryStore

WS = "acme-ml"
T0 = datetime(2027, 3, 15, 9, 0, tzinfo=UTC)
LEASE = 300.0


def _truncate(store: SqlStore) -> None:
    with store.engine.begin() as conn:
        for table in reversed(SQLModel.metadata.sorted_tables):
            conn.execute(table.delete())


def _sql_store(request: pytest.FixtureRequest, database: str) -> Iterator[SqlStore]:
    url: str = request.getfixturevalue(f"{database}_url")
    store = SqlStore.from_url(url, create=False)
    _truncate(store)
    yield store
    store.engine.dispose()


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest) -> Iterator[Store]:
    if request.param == "memory":
        yield MemoryStore()
        return
    yield from _sql_store(request, request.param)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def sql_store(request: pytest.FixtureRequest) -> Iterator[SqlStore]:
    yield from _sql_store(request, request.param)


def alice(**changes: object) -> Member:
    member = Member(WS, "alice", "Alice Moreau", tz="Europe/Paris", hours=Hours(time(8, 30), time(16, 45)),
                    workdays=frozenset({"mon", "tue", "wed"}),
                    ooo=(DateRange(date(2027, 4, 1), date(2027, 4, 3)),),
                    accounts={"slack": "U01", "email": "alice@example.com"}, is_admin=True,
                    owner_of=("churn",), delegate="bea")
    return replace(member, **changes)  # type: ignore[arg-type]


def item(key: str, due_at: datetime, workspace: str = WS, kind: str = "standup.reminder") -> DueItem:
    return DueItem(key, kind, workspace, due_at, {"member": "alice", "n": [1, 2]})


def entry(key: str = "k1", kind: str = "dm", target: str = "alice") -> OutboxEntry:
    return OutboxEntry(key, WS, kind, target, '{"text": "hi"}', "pending", 0)


# --- workspaces and people ----------------------------------------------------------------
def test_workspaces_round_trip_and_update(store: Store) -> None:
    assert store.get_workspace(WS) is None
    store.upsert_workspace(Workspace(WS, "slack", "Acme ML", "Europe/Paris"))
    store.upsert_workspace(Workspace("other", "console"))
    store.upsert_workspace(Workspace(WS, "teams", "Acme", "UTC"))
    assert store.get_workspace(WS) == Workspace(WS, "teams", "Acme", "UTC")
    assert sorted(w.id for w in store.list_workspaces()) == [WS, "other"]


def test_members_round_trip_every_field_and_list_in_id_order(store: Store) -> None:
    store.upsert_members([alice(), Member(WS, "bea", "Bea"), Member("other", "carl", "Carl")])
    got = store.get_member(WS, "alice")
    assert got == alice() and got is not None and got.accounts == alice().accounts
    assert [m.id for m in store.list_members(WS)] == ["alice", "bea"]
    assert store.get_member(WS, "carl") is None
    store.upsert_members([])
    store.upsert_member(alice(name="Alice M.", tz="UTC"))
    assert store.get_member(WS, "alice") == alice(name="Alice M.", tz="UTC")


def test_a_members_delegate_is_kept_and_can_be_cleared(store: Store) -> None:
    store.upsert_members([alice(), Member(WS, "bea", "Bea")])
    assert [(m.id, m.delegate) for m in store.list_members(WS)] == [("alice", "bea"), ("bea", None)]
    store.upsert_member(alice(delegate=None))
    got = store.get_member(WS, "alice")
    assert got is not None and got.delegate is None


TEAM_CALENDAR = HolidayCalendar("IN", "KA", ((date(2027, 12, 24), "team day off"), (date(2027, 12, 31), "Company day")),
                                 frozenset({date(2027, 1, 26)}))


def test_holiday_calendars_round_trip_and_members_without_one_get_the_teams(store: Store) -> None:
    store.upsert_workspace(Workspace(WS, "slack", "Acme ML"))
    assert store.team_holidays(WS) is None
    store.set_team_holidays(WS, TEAM_CALENDAR)
    store.upsert_workspace(Workspace(WS, "teams", "Acme"))  # a platform rewriting the workspace keeps it
    assert store.team_holidays(WS) == TEAM_CALENDAR
    own = HolidayCalendar("AU", "NSW")
    store.upsert_members([alice(holidays=own), Member(WS, "bea", "Bea"), alice(id="carl", holidays=HolidayCalendar())])
    assert store.get_member(WS, "alice") == alice(holidays=own)
    bea = store.get_member(WS, "bea")
    assert bea is not None and bea.holidays == TEAM_CALENDAR and bea.is_away(date(2027, 12, 31))
    carl = store.get_member(WS, "carl")
    assert carl is not None and carl.holidays == HolidayCalendar() and not carl.is_away(date(2027, 12, 25))
    store.set_team_holidays(WS, None)
    assert store.team_holidays(WS) is None
    store.upsert_member(Member(WS, "dan", "Dan"))
    assert [m.holidays for m in store.list_members(WS) if m.id == "dan"] == [None]


def test_members_are_found_by_platform_account_inside_their_workspace(store: Store) -> None:
    store.upsert_members([alice(), Member("other", "alice", "Other Alice", accounts={"slack": "U01"})])
    found = store.find_member_by_account(WS, "slack", "U01")
    assert found is not None and found.name == "Alice Moreau"
    other = store.find_member_by_account("other", "slack", "U01")
    assert other is not None and other.name == "Other Alice"
    assert store.find_member_by_account(WS, "teams", "U01") is None
    assert store.find_member_by_account(WS, "slack", "U02") is None


def test_rewriting_a_member_replaces_their_accounts_and_an_account_can_move(store: Store) -> None:
    store.upsert_members([alice(), Member(WS, "bea", "Bea", accounts={"slack": "U02"})])
    store.upsert_member(alice(accounts={"slack": "U09"}))
    assert store.find_member_by_account(WS, "email", "alice@example.com") is None
    assert store.find_member_by_account(WS, "slack", "U01") is None
    assert getattr(store.find_member_by_account(WS, "slack", "U09"), "id", None) == "alice"
    store.upsert_member(Member(WS, "carl", "Carl", accounts={"slack": "U02"}))
    assert getattr(store.find_member_by_account(WS, "slack", "U02"), "id", None) == "carl"


def test_deleting_a_member_drops_their_accounts_and_their_member_state_only(store: Store) -> None:
    store.upsert_members([alice(), Member(WS, "bea", "Bea", accounts={"slack": "U02"})])
    store.kv_set(WS, "member:alice:tz_source", "manual")
    store.kv_set(WS, "member:bea:tz_source", "manual")
    store.kv_set("other", "member:alice:tz_source", "team")
    store.delete_member(WS, "alice")
    assert store.get_member(WS, "alice") is None
    assert store.find_member_by_account(WS, "slack", "U01") is None
    assert store.kv_get(WS, "member:alice:tz_source") is None
    assert store.kv_get(WS, "member:bea:tz_source") == "manual"
    assert store.kv_get("other", "member:alice:tz_source") == "team"
    assert [m.id for m in store.list_members(WS)] == ["bea"]


def test_merging_a_member_moves_their_days_and_settings_unless_the_survivor_has_their_own(store: Store) -> None:
    d1, d2 = date(2027, 3, 15), date(2027, 3, 16)
    store.upsert_members([Member(WS, "UBOB", "UBOB", accounts={"slack": "UBOB"}), Member(WS, "bob", "Bob")])
    store.save_run(StandupRun(WS, "daily", "UBOB", d1, "answered", ("done",)))
    store.save_run(StandupRun(WS, "daily", "UBOB", d2, "answered", ("old",)))
    store.save_run(StandupRun(WS, "daily", "bob", d2, "skipped"))
    store.kv_set(WS, "member:UBOB:tz_source", "manual")
    store.kv_set(WS, "member:UBOB:tz_reported:slack", "Europe/Berlin")
    store.kv_set(WS, "member:bob:tz_source", "team")
    store.merge_member(WS, "UBOB", "bob")
    assert [m.id for m in store.list_members(WS)] == ["bob"]
    assert store.find_member_by_account(WS, "slack", "UBOB") is None
    assert [(r.member, r.day, r.status) for r in store.runs_between(WS, "daily", d1, d2)] == [
        ("bob", d1, "answered"), ("bob", d2, "skipped")]
    assert store.kv_get(WS, "member:bob:tz_source") == "team"
    assert store.kv_get(WS, "member:bob:tz_reported:slack") == "Europe/Berlin"
    assert store.kv_get(WS, "member:UBOB:tz_source") is None


VACATION = StatusAway(":palm_tree:", "Vacation", date(2027, 4, 5), datetime(2027, 4, 9, 21, 59, tzinfo=UTC), "slack")
SICK = StatusAway("🤒", "", date(2027, 5, 3), None, "slack")


def test_a_chat_status_is_kept_apart_from_what_the_team_file_and_settings_write(store: Store) -> None:
    store.upsert_members([alice(status_ooo=False), Member(WS, "bea", "Bea")])
    assert store.get_member(WS, "alice") == alice(status_ooo=False)
    store.set_member_status(WS, "bea", (VACATION,))
    store.set_member_status(WS, "nobody", (VACATION,))  # a member gone meanwhile: nothing to do
    assert store.get_member(WS, "bea") == Member(WS, "bea", "Bea", status_away=(VACATION,))
    store.upsert_member(Member(WS, "bea", "Bea B.", tz="Asia/Tokyo"))  # an import or a setting keeps the status
    bea = store.get_member(WS, "bea")
    assert bea is not None and bea.status_away == (VACATION,) and bea.tz == "Asia/Tokyo"
    assert [m.status_away for m in store.list_members(WS)] == [(), (VACATION,)]
    store.set_member_status(WS, "bea", (VACATION, SICK))
    assert getattr(store.find_member_by_account(WS, "slack", "U01"), "status_away", 1) == ()
    assert getattr(store.get_member(WS, "bea"), "status_away", None) == (VACATION, SICK)
    store.set_member_status(WS, "bea", ())
    assert getattr(store.get_member(WS, "bea"), "status_away", 1) == ()


def test_merging_moves_the_earlier_members_chat_status_unless_the_survivor_has_one(store: Store) -> None:
    store.upsert_members([Member(WS, "UBOB", "UBOB", accounts={"slack": "UBOB"}), Member(WS, "bob", "Bob"),
                          Member(WS, "UCAT", "UCAT"), Member(WS, "cat", "Cat")])
    store.set_member_status(WS, "UBOB", (VACATION,))
    store.set_member_status(WS, "UCAT", (VACATION,))
    store.set_member_status(WS, "cat", (SICK,))
    store.merge_member(WS, "UBOB", "bob")
    store.merge_member(WS, "UCAT", "cat")
    assert getattr(store.get_member(WS, "bob"), "status_away", None) == (VACATION,)
    assert getattr(store.get_member(WS, "cat"), "status_away", None) == (SICK,)


# --- stand-ups and runs ---------------------------------------------------------------------
def test_standups_round_trip_and_list_in_workspace_and_name_order(store: Store) -> None:
    daily = Standup(WS, "daily", "#ml", time(9, 15), frozenset({"mon", "fri"}), ("alice", "bea"),
                    ("Done?", "Next?"), timedelta(minutes=90), time(17, 0), "Europe/Paris", False, True, 0)
    store.upsert_standup(daily)
    store.upsert_standup(Standup(WS, "async", "#all"))
    store.upsert_standup(Standup("a-first", "zeta", "#z"))
    assert store.get_standup(WS, "daily") == daily
    assert store.get_standup(WS, "async") == Standup(WS, "async", "#all")
    assert store.get_standup(WS, "async").escalate_after == 2  # type: ignore[union-attr]
    assert [(s.workspace, s.name) for s in store.list_standups()] == [("a-first", "zeta"), (WS, "async"),
                                                                      (WS, "daily")]
    assert [s.name for s in store.list_standups(WS)] == ["async", "daily"]
    store.upsert_standup(replace(daily, paused=True))
    assert store.get_standup(WS, "daily") == replace(daily, paused=True)
    assert store.get_standup(WS, "weekly") is None


def test_runs_are_saved_per_member_and_day_and_read_in_day_order(store: Store) -> None:
    d1, d2, d3 = date(2027, 3, 15), date(2027, 3, 16), date(2027, 3, 17)
    store.save_run(StandupRun(WS, "daily", "bea", d2))
    store.save_run(StandupRun(WS, "daily", "alice", d2))
    store.save_run(StandupRun(WS, "daily", "alice", d1, "reminded", reminded_at=T0))
    store.save_run(StandupRun(WS, "daily", "alice", d3))
    store.save_run(StandupRun(WS, "other", "alice", d2))
    answered = StandupRun(WS, "daily", "alice", d1, "answered", ("done", "next", ""), T0 + timedelta(hours=1), T0)
    store.save_run(answered)
    assert store.get_run(WS, "daily", "alice", d1) == answered
    assert store.get_run(WS, "daily", "carl", d1) is None
    assert [(r.member, r.day) for r in store.runs_for_day(WS, "daily", d2)] == [("alice", d2), ("bea", d2)]
    assert [(r.member, r.day) for r in store.runs_between(WS, "daily", d1, d2)] == [
        ("alice", d1), ("alice", d2), ("bea", d2)]
    assert [r.day for r in store.runs_between(WS, "daily", d1, d3, member="alice")] == [d1, d2, d3]
    assert store.runs_for_day(WS, "daily", d1, status="answered") == [answered]
    assert store.runs_for_day(WS, "daily", d2, status="answered") == []
    assert [(r.member, r.day) for r in store.runs_between(WS, "daily", d1, d3, status="pending")] == [
        ("alice", d2), ("bea", d2), ("alice", d3)]
    assert store.delete_runs_for_member(WS, "alice") == 4
    assert [r.member for r in store.runs_between(WS, "daily", d1, d3)] == ["bea"]


def test_marking_a_reminder_sets_a_run_reminded_but_never_undoes_an_answer_or_a_skip(store: Store) -> None:
    day = date(2027, 3, 15)
    answered = StandupRun(WS, "daily", "bea", day, "answered", ("done",), T0)
    store.save_run(answered)
    store.save_run(StandupRun(WS, "daily", "carl", day, "skipped"))
    store.save_run(StandupRun(WS, "daily", "dee", day, "reminded", reminded_at=T0))
    later = T0 + timedelta(hours=1)
    for who in ("alice", "bea", "carl", "dee"):
        store.mark_reminded(WS, "daily", who, day, later)
    assert store.get_run(WS, "daily", "alice", day) == StandupRun(WS, "daily", "alice", day, "reminded", reminded_at=later)
    assert store.get_run(WS, "daily", "bea", day) == answered
    assert getattr(store.get_run(WS, "daily", "carl", day), "status", None) == "skipped"
    assert store.get_run(WS, "daily", "dee", day) == StandupRun(WS, "daily", "dee", day, "reminded", reminded_at=later)
    assert store.get_run(WS, "daily", "alice", day + timedelta(days=1)) is None


def test_several_keys_are_read_and_written_at_once_per_workspace(store: Store) -> None:
    store.kv_set_many(WS, {"a": {"n": 1}, "b": "two", "c": [3]})
    store.kv_set_many(WS, {"b": "deux"})
    store.kv_set_many(WS, {})
    store.kv_set("other", "a", "elsewhere")
    assert store.kv_get_many(WS, ["a", "b", "c", "missing"]) == {"a": {"n": 1}, "b": "deux", "c": [3]}
    assert store.kv_get_many("other", ["a", "b"]) == {"a": "elsewhere"}
    assert store.kv_get_many(WS, []) == {}
    assert store.kv_get(WS, "b") == "deux"


def test_instants_come_back_as_aware_utc(store: Store) -> None:
    paris = timezone(timedelta(hours=2))
    store.save_run(StandupRun(WS, "daily", "alice", date(2027, 3, 15), "answered", ("x",),
                              datetime(2027, 3, 15, 11, 0, tzinfo=paris)))
    run = store.get_run(WS, "daily", "alice", date(2027, 3, 15))
    assert run is not None and run.answered_at == T0 and run.answered_at.tzinfo == UTC
    store.schedule([item("k", datetime(2027, 3, 15, 11, 0, tzinfo=paris))])
    assert store.next_due_at() == T0
    (claimed,) = store.claim_due(T0, "w1", 10, LEASE)
    assert claimed.due_at == T0 and claimed.due_at.tzinfo == UTC


# --- scheduled work -------------------------------------------------------------------------
def test_scheduling_is_idempotent_by_key(store: Store) -> None:
    assert store.schedule([]) == 0
    assert store.schedule([item("a", T0), item("b", T0)]) == 2
    assert store.schedule([item("a", T0 + timedelta(hours=1)), item("c", T0)]) == 1
    assert store.due_status("a") == "pending"
    assert store.due_status("nope") is None
    (first, *_rest) = store.claim_due(T0, "w1", 10, LEASE)
    assert first.key == "a" and first.due_at == T0, "a second schedule of a key leaves the first alone"


def test_claiming_takes_due_pending_work_in_due_order_up_to_the_limit(store: Store) -> None:
    store.schedule([item("late", T0 + timedelta(minutes=5)), item("b", T0), item("a", T0 - timedelta(minutes=1)),
                    item("future", T0 + timedelta(hours=1))])
    assert store.next_due_at() == T0 - timedelta(minutes=1)
    first = store.claim_due(T0 + timedelta(minutes=5), "w1", 2, LEASE)
    assert [(c.key, c.attempts, c.kind, c.workspace) for c in first] == [
        ("a", 1, "standup.reminder", WS), ("b", 1, "standup.reminder", WS)]
    assert first[0].payload == {"member": "alice", "n": [1, 2]}
    assert [c.key for c in store.claim_due(T0 + timedelta(minutes=5), "w2", 10, LEASE)] == ["late"]
    assert store.claim_due(T0 + timedelta(minutes=5), "w3", 10, LEASE) == []
    assert store.due_status("a") == "claimed"
    assert store.next_due_at() == T0 + timedelta(hours=1), "claimed work is not due any more"


def test_a_claim_holds_until_its_lease_runs_out_then_the_work_is_claimable_again(store: Store) -> None:
    store.schedule([item("a", T0)])
    (claimed,) = store.claim_due(T0, "w1", 10, LEASE)
    assert store.claim_due(T0 + timedelta(seconds=LEASE - 1), "w2", 10, LEASE) == []
    assert store.claim_due(T0 + timedelta(seconds=LEASE), "w2", 10, LEASE) == []
    (again,) = store.claim_due(T0 + timedelta(seconds=LEASE + 1), "w2", 10, LEASE)
    assert (again.id, again.key, again.attempts) == (claimed.id, "a", 2)


def test_the_claims_of_a_worker_whose_heartbeat_stopped_are_taken_over_before_the_lease_runs_out(
        store: Store) -> None:
    silent = timedelta(seconds=30)
    store.schedule([item("live", T0), item("dead", T0 + timedelta(seconds=1)), item("mute", T0 + timedelta(seconds=2))])
    store.beat("live-w", T0)
    store.beat("dead-w", T0)
    (live,) = store.claim_due(T0, "live-w", 1, LEASE, silent_since=T0 - silent)
    (dead,) = store.claim_due(T0 + timedelta(seconds=1), "dead-w", 1, LEASE, silent_since=T0 - silent)
    (mute,) = store.claim_due(T0 + timedelta(seconds=2), "never-beat-w", 1, LEASE, silent_since=T0 - silent)
    now = T0 + timedelta(seconds=31)
    store.beat("live-w", now - timedelta(seconds=20))
    store.beat("other", now)
    (taken,) = store.claim_due(now, "other", 10, LEASE, silent_since=now - silent)
    assert (taken.id, taken.key, taken.attempts) == (dead.id, "dead", 2), "only the silent worker's claim"
    assert store.due_status("live") == "claimed" and store.due_status("mute") == "claimed"
    assert store.claim_due(now, "other", 10, LEASE) == [], "without a silence bound only the lease counts"
    (late,) = store.claim_due(T0 + timedelta(seconds=LEASE + 1), "other", 10, LEASE)
    assert late.id == live.id, "the lease still bounds a live worker's claim"
    (mute_again,) = store.claim_due(T0 + timedelta(seconds=LEASE + 3), "other", 10, LEASE)
    assert mute_again.id == mute.id


def test_a_worker_hands_back_its_own_claims_except_those_it_is_running(store: Store) -> None:
    store.schedule([item("a", T0), item("b", T0 + timedelta(seconds=1)), item("c", T0 + timedelta(seconds=2))])
    now = T0 + timedelta(seconds=2)
    running, stranded = store.claim_due(now, "w1", 2, LEASE)
    store.claim_due(now, "w2", 10, LEASE)
    assert store.release_claims("w1", keep={running.id}) == 1
    assert [store.due_status(k) for k in ("a", "b", "c")] == ["claimed", "pending", "claimed"]
    (again,) = store.claim_due(now, "w2", 10, LEASE)
    assert (again.id, again.attempts) == (stranded.id, 2), "anyone may take it up at once, lease or not"
    store.finish(again.id, "done")
    assert store.release_claims("w1") == 1
    assert store.release_claims("w2") == 1, "only what is still claimed: c, not the finished b"
    assert [store.due_status(k) for k in ("a", "b", "c")] == ["pending", "done", "pending"]
    assert store.release_claims("nobody") == 0


def test_a_worker_hands_back_its_own_cut_short_sends_for_a_checked_retry(store: Store) -> None:
    stale = timedelta(minutes=5)
    for key, worker in (("mine", "a"), ("busy", "a"), ("theirs", "b"), ("done", "a")):
        store.outbox_add(entry(key), T0)
        assert store.outbox_begin_attempt(key, T0, T0 - stale, worker) is not None
    store.outbox_mark_sent("done", "C1", "m1", T0)
    now = T0 + timedelta(seconds=5)
    assert store.outbox_retryable(now, 10, stale) == [], "a live worker's attempts wait for their lease"
    assert store.outbox_release("a", now, keep={"busy"}) == 1
    released = store.outbox_get("mine")
    assert released is not None and (released.status, released.next_attempt_at, released.attempt_by) == (
        "failed", now, "a"), "failed, so the retry asks the platform whether it landed"
    assert [e.key for e in store.outbox_retryable(now, 10, stale)] == ["mine"]
    assert [getattr(store.outbox_get(k), "status", None) for k in ("busy", "theirs", "done")] == [
        "sending", "sending", "sent"]
    taken = store.outbox_begin_attempt("mine", now, now - stale, "b")
    assert taken is not None and taken.status == "failed"


def test_only_the_database_failing_counts_as_an_outage(store: Store) -> None:
    assert not store.outage(ValueError("a bug")), "a bug stays a bug"


def test_a_heartbeat_silent_for_a_day_is_forgotten(store: Store) -> None:
    store.schedule([item("a", T0)])
    store.beat("w1", T0)
    store.claim_due(T0, "w1", 10, LEASE)
    store.beat("w2", T0 + timedelta(days=1, seconds=1))
    now = T0 + timedelta(seconds=60)
    assert store.claim_due(now, "w2", 10, LEASE, silent_since=now - timedelta(seconds=30)) == [], (
        "a worker nobody heard of keeps its claim for its lease")


def test_finish_and_retry_later(store: Store) -> None:
    store.schedule([item("done", T0), item("retried", T0)])
    done, retried = store.claim_due(T0, "w1", 10, LEASE)
    store.finish(done.id, "done")
    store.retry_later(retried.id, T0 + timedelta(minutes=5), "boom")
    assert store.due_status("done") == "done"
    assert store.due_status("retried") == "pending"
    assert store.next_due_at() == T0 + timedelta(minutes=5)
    assert store.claim_due(T0 + timedelta(minutes=4), "w1", 10, LEASE) == []
    (again,) = store.claim_due(T0 + timedelta(minutes=5), "w1", 10, LEASE)
    assert (again.key, again.attempts, again.due_at) == ("retried", 2, T0 + timedelta(minutes=5))
    store.finish(again.id, "failed", "x" * 5000)
    assert store.due_status("retried") == "failed"
    assert store.claim_due(T0 + timedelta(days=1), "w1", 10, LEASE) == [], "finished work is never claimed again"


def test_cancel_pending_drops_only_pending_work_of_the_workspace_and_prefix_and_frees_the_keys(
        store: Store) -> None:
    store.schedule([item("standup:acme-ml:daily:reminder:alice:1", T0),
                    item("standup:acme-ml:daily:reminder:alice:2", T0 + timedelta(days=1)),
                    item("standup:acme-ml:daily:reminder:bea:1", T0 + timedelta(days=1)),
                    item("standup:acme-ml:daily:reminder:alice:3", T0 + timedelta(days=2), workspace="other")])
    assert [c.key for c in store.claim_due(T0, "w1", 10, LEASE)] == ["standup:acme-ml:daily:reminder:alice:1"]
    assert store.cancel_pending(WS, "standup:acme-ml:daily:reminder:alice:") == 1
    assert store.due_status("standup:acme-ml:daily:reminder:alice:1") == "claimed"
    assert store.due_status("standup:acme-ml:daily:reminder:alice:2") is None
    assert store.due_status("standup:acme-ml:daily:reminder:bea:1") == "pending"
    assert store.due_status("standup:acme-ml:daily:reminder:alice:3") == "pending"
    assert store.schedule([item("standup:acme-ml:daily:reminder:alice:2", T0 + timedelta(days=3))]) == 1


# --- outbox ---------------------------------------------------------------------------------
def test_outbox_add_stores_a_new_entry_once_and_returns_the_stored_one_after(store: Store) -> None:
    added = store.outbox_add(replace(entry(), thread_key="parent"), T0)
    assert (added.status, added.attempts, added.created_at, added.thread_key, added.attempt_at) == (
        "pending", 0, T0, "parent", None)
    assert store.outbox_get("k1") == added
    again = store.outbox_add(replace(entry(), payload="other", status="sent"), T0 + timedelta(hours=1))
    assert again == added
    assert store.outbox_get("nope") is None


def test_a_new_entry_may_be_stored_with_its_first_attempt_begun_and_an_old_one_is_left_as_it_is(
        store: Store) -> None:
    stale = timedelta(minutes=5)
    before, claimed = store.outbox_add_claimed(entry("new"), T0, "w1")
    assert claimed and (before.key, before.status, before.attempts, before.created_at, before.attempt_at) == (
        "new", "pending", 0, T0, None), "the entry as it was before its first attempt"
    stored = store.outbox_get("new")
    assert stored is not None and (stored.status, stored.attempt_at, stored.attempt_by) == ("sending", T0, "w1")
    assert store.outbox_begin_attempt("new", T0, T0 - stale, "w2") is None, "w1 holds it"
    assert store.outbox_renew_attempt("new", T0, T0 + timedelta(seconds=1)), "w1's hold is an ordinary attempt"
    again, claimed_again = store.outbox_add_claimed(replace(entry("new"), payload="other"), T0, "w2")
    assert not claimed_again and (again.status, again.attempt_by, again.payload) == ("sending", "w1", '{"text": "hi"}')
    store.outbox_mark_sent("new", "C1", "m1", T0)
    sent, claimed_sent = store.outbox_add_claimed(entry("new"), T0 + timedelta(hours=1), "w3")
    assert not claimed_sent and (sent.status, sent.message_id) == ("sent", "m1")


def test_outbox_begin_attempt_is_a_compare_and_set(store: Store) -> None:
    stale = timedelta(minutes=5)
    assert store.outbox_begin_attempt("nope", T0, T0 - stale) is None
    store.outbox_add(entry(), T0)
    before = store.outbox_begin_attempt("k1", T0, T0 - stale)
    assert before is not None and before.status == "pending"
    sending = store.outbox_get("k1")
    assert sending is not None and (sending.status, sending.attempt_at) == ("sending", T0)
    later = T0 + timedelta(minutes=1)
    assert store.outbox_begin_attempt("k1", later, later - stale) is None, "another sender holds it"
    takeover = T0 + timedelta(minutes=5)
    taken = store.outbox_begin_attempt("k1", takeover, takeover - stale)
    assert taken is not None and (taken.status, taken.attempt_at) == ("sending", T0), "its sender died"
    assert not store.outbox_renew_attempt("k1", T0, takeover), "the first sender lost its hold"
    renewed_at = takeover + timedelta(minutes=1)
    assert store.outbox_renew_attempt("k1", takeover, renewed_at)
    assert getattr(store.outbox_get("k1"), "attempt_at", None) == renewed_at
    store.outbox_mark_sent("k1", "C1", "m1", renewed_at)
    sent = store.outbox_get("k1")
    assert sent is not None and (sent.status, sent.channel, sent.message_id) == ("sent", "C1", "m1")
    assert store.outbox_begin_attempt("k1", T0 + timedelta(days=1), T0 + timedelta(days=1)) is None
    assert not store.outbox_renew_attempt("k1", renewed_at, renewed_at)


def test_an_attempt_by_a_worker_whose_heartbeat_stopped_may_be_taken_over_before_its_lease(store: Store) -> None:
    stale, silent = timedelta(minutes=5), timedelta(seconds=30)
    store.beat("a", T0)
    store.beat("b", T0)
    for key in ("by-a", "by-b"):
        store.outbox_add(entry(key), T0)
    assert store.outbox_begin_attempt("by-a", T0, T0 - stale, "a", T0 - silent) is not None
    assert store.outbox_begin_attempt("by-b", T0, T0 - stale, "b", T0 - silent) is not None
    assert getattr(store.outbox_get("by-a"), "attempt_by", None) == "a"
    now = T0 + timedelta(seconds=31)
    store.beat("b", now)
    assert [e.key for e in store.outbox_retryable(now, 10, stale, silent_since=now - silent)] == ["by-a"]
    assert store.outbox_retryable(now, 10, stale) == []
    assert store.outbox_begin_attempt("by-b", now, now - stale, "c", now - silent) is None, "b is alive"
    assert store.outbox_begin_attempt("by-a", now, now - stale, "c", None) is None, "no silence bound: the lease"
    taken = store.outbox_begin_attempt("by-a", now, now - stale, "c", now - silent)
    assert taken is not None and (taken.status, taken.attempt_by) == ("sending", "a")
    assert getattr(store.outbox_get("by-a"), "attempt_by", None) == "c"
    assert not store.outbox_renew_attempt("by-a", T0, now), "the silent worker lost its hold"


def test_failed_and_dead_entries_may_be_tried_again_and_a_sent_one_stays_sent(store: Store) -> None:
    stale = timedelta(minutes=5)
    store.outbox_add(entry("f"), T0)
    store.outbox_add(entry("d"), T0)
    for key in ("f", "d"):
        store.outbox_begin_attempt(key, T0, T0 - stale)
    store.outbox_mark_failed("f", "timeout", T0 + timedelta(minutes=1))
    store.outbox_mark_failed("d", "gone", None)
    failed, dead = store.outbox_get("f"), store.outbox_get("d")
    assert failed is not None and (failed.status, failed.attempts, failed.next_attempt_at) == (
        "failed", 1, T0 + timedelta(minutes=1))
    assert dead is not None and (dead.status, dead.attempts, dead.next_attempt_at) == ("dead", 1, None)
    for key in ("f", "d"):
        assert store.outbox_begin_attempt(key, T0, T0 - stale) is not None
    store.outbox_mark_sent("f", "C1", "m1", T0)
    store.outbox_mark_failed("f", "late failure", T0 + timedelta(minutes=1))
    assert getattr(store.outbox_get("f"), "status", None) == "sent"


def test_outbox_retryable_lists_failed_entries_due_again_and_entries_a_crash_left_behind(store: Store) -> None:
    stale = timedelta(minutes=5)
    for n, key in enumerate(("failed-due", "failed-later", "pending-old", "sending-old", "dead", "sent")):
        store.outbox_add(entry(key), T0 + timedelta(seconds=n))
    for key in ("failed-due", "failed-later", "sending-old", "dead", "sent"):
        store.outbox_begin_attempt(key, T0, T0 - stale)
    store.outbox_mark_failed("failed-due", "x", T0 + timedelta(minutes=1))
    store.outbox_mark_failed("failed-later", "x", T0 + timedelta(hours=1))
    store.outbox_mark_failed("dead", "x", None)
    store.outbox_mark_sent("sent", "C", "m", T0)
    store.outbox_add(entry("pending-new"), T0 + timedelta(minutes=4))
    now = T0 + timedelta(minutes=6)
    assert [e.key for e in store.outbox_retryable(now, 10, stale)] == ["failed-due", "pending-old", "sending-old"]
    assert [e.key for e in store.outbox_retryable(now, 2, stale)] == ["failed-due", "pending-old"]
    assert [e.key for e in store.outbox_retryable(T0 + timedelta(minutes=1), 10, stale)] == ["failed-due"]


# --- small state and retention -------------------------------------------------------------
def test_kv_holds_json_values_per_workspace(store: Store) -> None:
    assert store.kv_get(WS, "x") is None
    store.kv_set(WS, "x", {"a": [1, 2], "b": None, "c": "é"})
    store.kv_set("other", "x", 3)
    assert store.kv_get(WS, "x") == {"a": [1, 2], "b": None, "c": "é"}
    store.kv_set(WS, "x", "replaced")
    assert store.kv_get(WS, "x") == "replaced"
    store.kv_delete(WS, "x")
    store.kv_delete(WS, "never-set")
    assert store.kv_get(WS, "x") is None
    assert store.kv_get("other", "x") == 3


def test_a_value_read_back_is_a_copy(store: Store) -> None:
    value = {"a": [1]}
    store.kv_set(WS, "x", value)
    value["a"].append(2)
    read = store.kv_get(WS, "x")
    read["a"].append(3)
    assert store.kv_get(WS, "x") == {"a": [1]}


def test_purge_drops_old_answers_and_old_finished_bookkeeping_only(store: Store) -> None:
    old, recent = date(2026, 1, 1), date(2027, 3, 1)
    store.save_run(StandupRun(WS, "daily", "alice", old, "answered", ("x",)))
    store.save_run(StandupRun(WS, "daily", "alice", recent, "answered", ("y",)))
    long_ago = T0 - timedelta(days=60)
    store.schedule([item("old-done", long_ago), item("old-missed", long_ago), item("old-pending", long_ago),
                    item("old-claimed", long_ago), item("new-done", T0)])
    claimed = {c.key: c for c in store.claim_due(T0, "w1", 10, LEASE)}
    store.finish(claimed["old-done"].id, "done")
    store.finish(claimed["old-missed"].id, "missed")
    store.finish(claimed["new-done"].id, "done")
    store.retry_later(claimed["old-pending"].id, long_ago, "later")
    for key in ("old-sent", "old-dead", "old-failed", "new-sent"):
        store.outbox_add(entry(key), T0 if key.startswith("new") else long_ago)
        store.outbox_begin_attempt(key, long_ago, long_ago)
    store.outbox_mark_sent("old-sent", "C", "m", long_ago)
    store.outbox_mark_sent("new-sent", "C", "m", T0)
    store.outbox_mark_failed("old-dead", "x", None)
    store.outbox_mark_failed("old-failed", "x", T0)
    counts = store.purge(answers_before=date(2027, 1, 1), bookkeeping_before=T0 - timedelta(days=31))
    assert counts == {"answers": 1, "due_work": 2, "outbox": 2}
    assert store.get_run(WS, "daily", "alice", old) is None
    assert store.get_run(WS, "daily", "alice", recent) is not None
    assert {k: store.due_status(k) for k in ("old-done", "old-missed", "old-pending", "old-claimed", "new-done")} == {
        "old-done": None, "old-missed": None, "old-pending": "pending", "old-claimed": "claimed", "new-done": "done"}
    assert [k for k in ("old-sent", "old-dead", "old-failed", "new-sent") if store.outbox_get(k)] == [
        "old-failed", "new-sent"]


# --- one unit of work -----------------------------------------------------------------------
def _write_everything(store: Store) -> None:
    store.upsert_workspace(Workspace(WS, "slack"))
    store.upsert_members([alice(), Member(WS, "bea", "Bea")])
    store.delete_member(WS, "carl")
    store.upsert_standup(Standup(WS, "daily", "#ml"))
    store.save_run(StandupRun(WS, "daily", "alice", date(2027, 3, 15), "answered", ("x",)))
    store.schedule([item("new", T0)])
    store.cancel_pending(WS, "kept")
    store.outbox_add(entry("new"), T0)
    store.outbox_mark_sent("existing", "C", "m", T0)
    store.kv_set(WS, "new", 1)
    store.kv_delete(WS, "existing")


def _seed(store: Store) -> None:
    store.upsert_member(Member(WS, "carl", "Carl", accounts={"slack": "U03"}))
    store.schedule([item("kept", T0)])
    store.outbox_add(entry("existing"), T0)
    store.kv_set(WS, "existing", "still here")


def _assert_seed_only(store: Store) -> None:
    assert store.get_workspace(WS) is None
    assert [m.id for m in store.list_members(WS)] == ["carl"]
    assert getattr(store.find_member_by_account(WS, "slack", "U03"), "id", None) == "carl"
    assert store.find_member_by_account(WS, "slack", "U01") is None
    assert store.list_standups(WS) == []
    assert store.get_run(WS, "daily", "alice", date(2027, 3, 15)) is None
    assert store.due_status("new") is None
    assert store.due_status("kept") == "pending"
    assert store.outbox_get("new") is None
    assert getattr(store.outbox_get("existing"), "status", None) == "pending"
    assert store.kv_get(WS, "new") is None
    assert store.kv_get(WS, "existing") == "still here"


def test_a_transaction_that_raises_leaves_nothing_behind(store: Store) -> None:
    _seed(store)
    with pytest.raises(RuntimeError, match="half-way"), store.transaction():
        _write_everything(store)
        assert store.get_member(WS, "alice") is not None, "the block sees its own writes"
        raise RuntimeError("failed half-way")
    _assert_seed_only(store)


def test_a_nested_transaction_joins_the_outer_one(store: Store) -> None:
    _seed(store)
    with pytest.raises(RuntimeError), store.transaction():
        with store.transaction():
            _write_everything(store)
        assert store.get_workspace(WS) is not None
        raise RuntimeError("the outer block fails after the inner one finished")
    _assert_seed_only(store)


def test_a_transaction_that_finishes_keeps_every_write(store: Store) -> None:
    _seed(store)
    with store.transaction():
        _write_everything(store)
    assert store.get_workspace(WS) == Workspace(WS, "slack")
    assert [m.id for m in store.list_members(WS)] == ["alice", "bea"]
    assert store.due_status("new") == "pending" and store.due_status("kept") is None
    assert getattr(store.outbox_get("existing"), "status", None) == "sent"
    assert store.kv_get(WS, "existing") is None and store.kv_get(WS, "new") == 1


def _activity(name: str) -> Change:
    act = Activity(WS, name, (Assignment("alice", Role.A),))
    return Change(HistoryEntry(WS, name, T0, "alice", "create", "—", name), act)


def test_a_transaction_spans_the_other_repositories_on_the_same_database(sql_store: SqlStore) -> None:
    raci = RaciRepo(sql_store.engine)
    raci.apply(WS, [_activity("Labels")])
    with pytest.raises(RuntimeError), sql_store.transaction():
        sql_store.upsert_members([alice()])
        raci.apply(WS, [_activity("Churn retraining")])
        sql_store.kv_set(WS, "after", True)
        assert raci.get_activity(WS, "churn retraining") is not None, "the block sees its own writes"
        raise RuntimeError("the team file fails after RACI was written")
    assert sql_store.get_member(WS, "alice") is None
    assert raci.get_activity(WS, "churn retraining") is None
    assert sql_store.kv_get(WS, "after") is None
    assert [a.name for a in raci.list_activities(WS)] == ["Labels"]
    with sql_store.transaction():
        sql_store.upsert_members([alice()])
        raci.apply(WS, [_activity("Churn retraining")])
    assert sql_store.get_member(WS, "alice") is not None
    assert raci.get_activity(WS, "churn retraining") is not None
