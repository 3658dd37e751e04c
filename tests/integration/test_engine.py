"""Due work is done exactly once: across a crash, two workers, retries and a database outage."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.kernel.ports import DueItem, RateLimited
from bot.kernel.team import apply_team
from bot.kernel.teamfile import parse_team
from storage.kernel.repo import SqlStore
from tests.pg_proxy import proxied

ROOT = Path(__file__).resolve().parents[2]
DUE = datetime(2027, 3, 15, 9, 30, tzinfo=UTC)


def big_team(n: int) -> str:
    lines = ["workspace: big", "members:"]
    lines += [f"  - {{id: m{i:04d}, name: M{i}, tz: UTC}}" for i in range(n)]
    lines += ["standups:", "  - {name: daily, channel: '#all', remind_at: '09:30', nudge_after: '0m'}"]
    return "\n".join(lines) + "\n"


def plan_big_team(harness_factory: Any, n: int) -> Any:
    h = harness_factory(DUE - timedelta(hours=1))
    apply_team(h.app, parse_team(big_team(n), "team.yaml", h.app.sections))
    h.app.engine.plan(force=True)
    return h


def run_worker(db: str, log: Path, now: datetime, *extra: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, str(ROOT / "tests/integration/worker_process.py"), db, str(log),
                           now.isoformat(), *extra], capture_output=True, text=True, env=env, timeout=300)


def dm_counts(log: Path) -> Counter[str]:
    return Counter(line.split()[1] for line in log.read_text().splitlines() if line.startswith("dm "))


def test_worker_killed_mid_fanout_and_restarted_sends_each_reminder_once(
        harness_factory: Any, db_url: str, tmp_path: Path) -> None:
    plan_big_team(harness_factory, 60)
    log = tmp_path / "platform.log"
    first = run_worker(db_url, log, DUE + timedelta(seconds=5), "--die-after", "25")
    assert first.returncode == -9, first.stderr  # killed, no cleanup
    # 25 messages: 24 reminders and the day's thread, which the first reminder opens
    assert len(platform_lines(log)) == 25 and sum(dm_counts(log).values()) == 24
    # restarted after the dead worker's lease ran out, still inside the catch-up window
    second = run_worker(db_url, log, DUE + timedelta(minutes=6))
    assert second.returncode == 0, second.stderr
    counts = dm_counts(log)
    assert len(counts) == 60 and set(counts.values()) == {1}
    assert len([line for line in platform_lines(log) if line[0] == "post"]) == 1


def reminders(h: Any) -> list[Any]:
    """The DMs sent (the day's thread, which the first reminder opens, is not a reminder)."""
    return [m for m in h.chat.messages if m.channel.startswith("@")]


def platform_lines(log: Path) -> list[list[str]]:
    return [line.split() for line in log.read_text().splitlines()]


def test_worker_killed_after_the_platform_took_a_reminder_confirms_it_instead_of_sending_twice(
        harness_factory: Any, db_url: str, tmp_path: Path) -> None:
    h = plan_big_team(harness_factory, 60)
    log = tmp_path / "platform.log"
    first = run_worker(db_url, log, DUE + timedelta(seconds=5), "--die-after-send", "25")
    assert first.returncode == -9, first.stderr  # killed between the platform's answer and the outbox's mark
    assert len(platform_lines(log)) == 25 and sum(dm_counts(log).values()) == 24  # and the day's thread
    _dm, _member, message_id, key, *_text = platform_lines(log)[-1]
    cut_short = h.store.outbox_get(key)
    assert cut_short is not None and cut_short.status == "sending"

    second = run_worker(db_url, log, DUE + timedelta(minutes=6))
    assert second.returncode == 0, second.stderr
    counts = dm_counts(log)
    assert len(counts) == 60 and set(counts.values()) == {1}
    confirmed = h.store.outbox_get(key)
    assert confirmed is not None and (confirmed.status, confirmed.message_id) == ("sent", message_id)
    assert {e.status for e in h.store.outbox_entries("big")} == {"sent"}


def test_a_platform_that_cannot_look_back_gets_the_cut_short_reminder_again_and_says_so_once(
        sqlite_harness: Any, sqlite_url: str, tmp_path: Path) -> None:
    plan_big_team(sqlite_harness, 10)
    log = tmp_path / "platform.log"
    first = run_worker(sqlite_url, log, DUE + timedelta(seconds=5), "--die-after-send", "4", "--no-confirm")
    assert first.returncode == -9, first.stderr
    second = run_worker(sqlite_url, log, DUE + timedelta(minutes=6), "--no-confirm")
    assert second.returncode == 0, second.stderr
    counts = dm_counts(log)
    assert len(counts) == 10 and sorted(counts.values()) == [1] * 9 + [2]  # at least once, never lost
    assert second.stderr.count("cannot look up what it already sent") == 1


def test_two_workers_on_one_postgres_send_1000_due_reminders_exactly_once(postgres_url: str, tmp_path: Path) -> None:
    store = SqlStore.from_url(postgres_url, create=False)
    from tests.conftest import Harness, _truncate

    _truncate(store)
    h = Harness(store, DUE - timedelta(hours=1))
    apply_team(h.app, parse_team(big_team(1000), "team.yaml", h.app.sections))
    h.app.engine.plan(force=True)
    log = tmp_path / "platform.log"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    start_at = time.time() + 3
    procs = [subprocess.Popen([sys.executable, str(ROOT / "tests/integration/worker_process.py"), postgres_url,
                               str(log), (DUE + timedelta(seconds=1)).isoformat(), "--start-at", str(start_at),
                               "--name", f"w{i}"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=env) for i in range(2)]
    outputs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    counts = dm_counts(log)
    assert len(counts) == 1000 and set(counts.values()) == {1}
    sent = [int(out.split("sent=")[1]) for out, _ in outputs]
    assert sum(sent) == 1001  # the reminders and the day's thread, opened once by whichever worker came first
    assert len([line for line in platform_lines(log) if line[0] == "post"]) == 1
    store.engine.dispose()


async def test_work_older_than_the_catch_up_window_is_recorded_as_missed(harness_factory: Any) -> None:
    h = plan_big_team(harness_factory, 3)
    h.clock.set(DUE + timedelta(hours=3))  # down for three hours
    await h.app.engine.run_due()
    statuses = {r.key: r.status for r in h.store.due_items("standup:big:daily:reminder")
                if r.key.endswith(":2027-03-15")}
    assert len(statuses) == 3 and set(statuses.values()) == {"missed"}
    assert [m for m in h.chat.messages if m.channel.startswith("@")] == []


async def test_work_inside_the_catch_up_window_is_done_once_late(harness_factory: Any) -> None:
    h = plan_big_team(harness_factory, 3)
    h.clock.set(DUE + timedelta(minutes=90))
    await h.app.engine.run_due()
    await h.app.engine.run_due()
    assert sorted(m.channel for m in reminders(h)) == ["@m0000", "@m0001", "@m0002"]
    assert [m.channel for m in h.chat.messages if not m.channel.startswith("@")] == ["#all"]


async def test_rate_limited_fanout_waits_and_loses_nothing(harness_factory: Any) -> None:
    h = plan_big_team(harness_factory, 20)
    real_dm = h.chat.dm
    calls = {"n": 0}

    async def limited_dm(member: Any, message: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] % 3 == 0:
            raise RateLimited(0.01)
        return await real_dm(member, message, **kwargs)

    h.chat.dm = limited_dm  # type: ignore[method-assign]
    h.clock.set(DUE)
    await h.app.engine.run_due()
    counts = Counter(m.channel for m in reminders(h))
    assert len(counts) == 20 and set(counts.values()) == {1}


async def test_failed_send_is_retried_with_backoff_and_sent_once(harness_factory: Any) -> None:
    h = plan_big_team(harness_factory, 2)
    real_dm = h.chat.dm
    failing = {"left": 2}

    async def flaky_dm(member: Any, message: Any, **kwargs: Any) -> Any:
        if failing["left"]:
            failing["left"] -= 1
            raise ConnectionError("platform down")
        return await real_dm(member, message, **kwargs)

    h.chat.dm = flaky_dm  # type: ignore[method-assign]
    await h.advance_to(DUE + timedelta(seconds=10))
    assert reminders(h) == []
    failed = [e for e in h.store.outbox_entries() if e.status == "failed"]
    assert len(failed) == 2 and all(e.next_attempt_at == DUE + timedelta(seconds=30) for e in failed)
    await h.advance_to(DUE + timedelta(minutes=1))
    assert sorted(m.channel for m in reminders(h)) == ["@m0000", "@m0001"]
    await h.advance_to(DUE + timedelta(hours=1))
    assert len(reminders(h)) == 2


def test_scheduling_the_same_key_twice_keeps_one_item(store: SqlStore) -> None:
    item = DueItem("k1", "standup.reminder", "w", DUE, {"a": 1})
    assert store.schedule([item]) == 1
    assert store.schedule([item, DueItem("k2", "x", "w", DUE, {})]) == 1
    assert [r.key for r in store.due_items("k")] == ["k1", "k2"]


def test_claimed_items_are_not_claimed_again_until_their_lease_ends(store: SqlStore) -> None:
    store.schedule([DueItem(f"k{i}", "x", "w", DUE, {}) for i in range(5)])
    a = store.claim_due(DUE, "a", 3, 60)
    b = store.claim_due(DUE, "b", 10, 60)
    assert len(a) == 3 and len(b) == 2 and not {x.key for x in a} & {x.key for x in b}
    assert store.claim_due(DUE + timedelta(seconds=30), "c", 10, 60) == []
    again = store.claim_due(DUE + timedelta(seconds=61), "c", 10, 60)
    assert len(again) == 5 and all(x.attempts == 2 for x in again)


async def test_database_briefly_unreachable_scheduler_logs_retries_and_catches_up(
        postgres_url: str, caplog: pytest.LogCaptureFixture) -> None:
    from tests.conftest import Harness, _truncate

    with proxied(postgres_url) as proxy:  # in a process of its own: the store's calls block this loop
        store = SqlStore.from_url(proxy.url, create=False)
        _truncate(store)
        h = Harness(store, DUE - timedelta(hours=1))
        apply_team(h.app, parse_team(big_team(5), "team.yaml", h.app.sections))
        h.app.engine.plan(force=True)

        proxy.down()
        h.clock.set(DUE + timedelta(minutes=1))
        assert await h.app.engine.tick() == 0
        assert "the database is unavailable" in caplog.text
        assert h.chat.messages == []

        proxy.up()
        h.clock.set(DUE + timedelta(minutes=20))
        assert await h.app.engine.tick() == 5
        assert sorted(m.channel for m in reminders(h)) == [f"@m{i:04d}" for i in range(5)]
        store.engine.dispose()
