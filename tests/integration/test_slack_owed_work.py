"""Owed Slack work in the database (SQLite and PostgreSQL), and the journal that holds a request before it.

The whole flow, with a real process killed, is in ``test_slack_durable.py``; here are the
rules it rests on: who may take owed work over, that only one of two takers gets it, and
what a dead process's journal hands the next one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from adapters.slack.journal import Held, Journal
from storage.kernel.repo import SqlStore
from storage.slack.repo import MAX_ATTEMPTS, SlackRepo

NOW = datetime(2027, 3, 15, 12, 0, tzinfo=UTC)
SILENT_SINCE = NOW - timedelta(seconds=30)
STALE_BEFORE = (NOW - timedelta(minutes=5)).timestamp()


def owe(repo: SlackRepo, key: str, by: str, received: datetime = NOW) -> None:
    assert repo.claim_event(key, "T0001", received.timestamp(), json.dumps({"trigger_id": key}), by)


def test_work_of_a_live_worker_is_left_alone_and_of_a_silent_one_taken_over_once(store: SqlStore) -> None:
    repo = SlackRepo(store.engine)
    store.beat("alive", NOW)
    store.beat("dead", NOW - timedelta(minutes=5))
    owe(repo, "trigger:alive", "alive")
    owe(repo, "trigger:dead", "dead")
    owe(repo, "trigger:never-heard-lately", "never-heard")  # a process without a heartbeat: the lease holds
    owe(repo, "trigger:never-heard-long-ago", "never-heard", received=NOW - timedelta(minutes=6))
    store.beat("rescuer", NOW)
    taken = repo.take_owed("rescuer", SILENT_SINCE, STALE_BEFORE)
    assert sorted(t.event_id for t in taken) == ["trigger:dead", "trigger:never-heard-long-ago"]
    assert all(t.attempts == 2 for t in taken)
    # the rescuer is alive: a second taker finds nothing left
    assert repo.take_owed("second", SILENT_SINCE, STALE_BEFORE) == []


def test_finished_work_is_no_longer_owed_and_its_id_still_stops_a_replay(store: SqlStore) -> None:
    repo = SlackRepo(store.engine)
    owe(repo, "trigger:done", "gone")
    repo.finish_event("trigger:done")
    assert repo.take_owed("rescuer", SILENT_SINCE, STALE_BEFORE) == []
    assert not repo.claim_event("trigger:done", "T0001", NOW.timestamp(), "{}", "rescuer")


def test_a_restarted_process_under_the_same_id_takes_back_its_own_work_but_not_what_runs(store: SqlStore) -> None:
    repo = SlackRepo(store.engine)
    store.beat("host:1", NOW)
    owe(repo, "trigger:before", "host:1")
    owe(repo, "trigger:running", "host:1")
    assert repo.take_owed("host:1", SILENT_SINCE, STALE_BEFORE) == []
    owe(repo, "trigger:long-ago", "host:2", received=NOW - timedelta(minutes=6))
    assert repo.take_owed("host:2", SILENT_SINCE, STALE_BEFORE) == []  # its own, never heard or not
    taken = repo.take_owed("host:1", SILENT_SINCE, STALE_BEFORE, mine_too=True,
                           running=frozenset({"trigger:running"}))
    assert sorted(t.event_id for t in taken) == ["trigger:before", "trigger:long-ago"]  # the other: host:2's lease


def test_work_that_killed_its_process_too_often_is_given_up(store: SqlStore) -> None:
    repo = SlackRepo(store.engine)
    owe(repo, "trigger:poison", "w0")
    for attempt in range(MAX_ATTEMPTS):  # each taker dies: silent for five minutes
        store.beat(f"w{attempt}", NOW - timedelta(minutes=5))
    for attempt in range(1, MAX_ATTEMPTS):
        assert [t.event_id for t in repo.take_owed(f"w{attempt}", SILENT_SINCE, STALE_BEFORE)] == ["trigger:poison"]
    assert repo.take_owed("last", SILENT_SINCE, STALE_BEFORE) == []
    assert repo.take_owed("after", SILENT_SINCE, STALE_BEFORE) == []


def test_a_dead_process_journal_is_handed_to_the_next_and_a_live_one_is_not(tmp_path: Path) -> None:
    folder = tmp_path / "journal"
    mine = Journal(folder)
    script = ("import sys, os, signal; from pathlib import Path; from adapters.slack.journal import Held, Journal;"
              "j = Journal(Path(sys.argv[1])); j.hold(Held('trigger:1.dead', 'T0001', {'text': 'é'}, 1.5));"
              "os.kill(os.getpid(), signal.SIGKILL)")
    root = Path(__file__).resolve().parents[2]
    subprocess.run([sys.executable, "-c", script, str(folder)], env={**os.environ, "PYTHONPATH": str(root)})
    mine.hold(Held("trigger:2.alive", "T0001", {}, 2.0))
    other = Journal(folder)  # a live neighbour's file is never adopted
    orphans = list(other.orphans())
    assert len(orphans) == 1
    path, entries = orphans[0]
    assert entries == [Held("trigger:1.dead", "T0001", {"text": "é"}, 1.5)]
    Journal.forget(path)
    assert list(other.orphans()) == []
    # released, this process's own file is emptied; closed with nothing held, it is gone
    mine.release("trigger:2.alive")
    assert mine.path.stat().st_size == 0
    mine.close()
    other.close()
    assert list(folder.glob("*.jsonl")) == []
