"""The RACI repository on SQLite and PostgreSQL (migrated databases): round trips, atomic writes, history."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.kernel.domain import Member
from bot.raci.model import Activity, Assignment, Change, HistoryEntry, RaciRefused, Role
from bot.raci.service import RaciService
from storage.kernel.repo import SqlStore
from storage.raci.repo import RaciRepo

WS = "acme-ml"
AT = datetime(2027, 3, 15, 9, 0, tzinfo=UTC)


@pytest.fixture
def repo(store: SqlStore) -> RaciRepo:
    return RaciRepo(store.engine)


def churn(name: str = "Churn model retraining", *, a: str = "alice") -> Activity:
    return Activity(WS, name, (Assignment("ravi", Role.R), Assignment(a, Role.A), Assignment("noor", Role.C)),
                    aliases=("churn retrain",), description="weekly retrain", channel="#ml-team")


def create(act: Activity, actor: str = "alice") -> Change:
    return Change(HistoryEntry(WS, act.name, AT, actor, "create", "—", act.name), act)


def test_an_activity_round_trips_with_its_order_and_aliases(repo: RaciRepo) -> None:
    repo.apply(WS, [create(churn())])
    assert repo.get_activity(WS, "churn MODEL retraining") == churn()
    assert repo.index_entries(WS) == [("Churn model retraining", ("churn retrain",))]
    assert [a.name for a in repo.activities_of(WS, "noor")] == ["Churn model retraining"]
    assert repo.activities_of(WS, "bea") == []
    assert repo.get_activity("other-workspace", "churn model retraining") is None


def test_a_failed_batch_writes_nothing(repo: RaciRepo) -> None:
    repo.apply(WS, [create(churn())])
    before = repo.revision(WS)
    with pytest.raises(RaciRefused):
        repo.apply(WS, [create(Activity(WS, "labels", (Assignment("bea", Role.A),))), create(churn())])
    assert repo.get_activity(WS, "labels") is None
    assert repo.revision(WS) == before


def test_rename_update_and_remove_keep_history_newest_first(repo: RaciRepo) -> None:
    repo.apply(WS, [create(churn())])
    renamed = churn("Churn retraining", a="bea")
    later = datetime(2027, 3, 16, 9, 0, tzinfo=UTC)
    repo.apply(WS, [Change(HistoryEntry(WS, renamed.name, later, "alice", "rename", "old", "new"), renamed,
                           replaces="Churn model retraining")])
    assert repo.get_activity(WS, "Churn model retraining") is None
    assert repo.get_activity(WS, "churn retraining") == renamed
    repo.apply(WS, [Change(HistoryEntry(WS, renamed.name, later, "bea", "remove", "x", "—"), None,
                           replaces=renamed.name)])
    assert repo.list_activities(WS) == []
    history = repo.history(WS, ["Churn retraining", "Churn model retraining"])
    assert [h.action for h in history] == ["remove", "rename", "create"]
    assert history[0].at == later and history[0].at.tzinfo is not None


def test_a_change_made_by_another_process_is_seen_by_the_next_lookup(store: SqlStore) -> None:
    for m in ("ravi", "alice", "noor", "bea"):
        store.upsert_member(Member(WS, m, m.title()))
    web, worker = RaciService(RaciRepo(store.engine), store), RaciService(RaciRepo(store.engine), store)
    worker.store.apply(WS, [create(churn())])
    assert web.find(WS, "churn retrain")[0] == churn()
    worker.write(Member(WS, "alice", "Alice", is_admin=True), churn(), churn(a="bea"), AT)
    found, _ = web.find(WS, "churn retrain")
    assert found is not None and found.accountable == "bea"
    worker.write(Member(WS, "alice", "Alice", is_admin=True), churn(a="bea"), None, AT)
    assert web.find(WS, "churn retrain")[0] is None


def test_forgetting_a_person_scrubs_them_from_history_by_whole_words(repo: RaciRepo) -> None:
    repo.apply(WS, [Change(HistoryEntry(WS, "labels", AT, "al", "create", "—", "labels — R: Al, Alice · A: Al"),
                           Activity(WS, "labels", (Assignment("al", Role.R), Assignment("alice", Role.A))))])
    repo.apply(WS, [create(churn())])
    assert repo.forget_in_history(WS, "al", ["Al"], "a former member") == 1
    entry = repo.history(WS, ["labels"])[0]
    assert entry.actor == "a former member"
    assert entry.after == "labels — R: a former member, Alice · A: a former member"
    assert repo.history(WS, ["churn model retraining"])[0].actor == "alice"
    assert repo.forget_in_history(WS, "al", ["Al"], "a former member") == 0
