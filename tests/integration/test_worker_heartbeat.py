"""Two ``meridian worker`` processes on one PostgreSQL database; the one holding the fan-out is killed.

One worker claims the reminders and starts sending them while Slack (the emulator) holds
every ``chat.postMessage`` unanswered. The other leaves those claims alone while the holder's
heartbeat goes on. Then the holder is killed (SIGKILL: no cleanup) and Slack recovers: the
other worker takes the reminders over once the holder's heartbeat is stale, long before its
five-minute lease would have run out, and every person gets exactly one reminder.

Heartbeats come every half second here (``MERIDIAN_HEARTBEAT_SECONDS``), so a worker is
presumed dead after a second and a half instead of thirty seconds.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Coroutine, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest

from storage.kernel.repo import SqlStore
from storage.migrate import upgrade
from tests.conftest import _postgres_database
from tests.emulators.slack import SlackEmulator

ROOT = Path(__file__).resolve().parents[2]
PEOPLE = [f"U0P{n:03d}" for n in range(6)]
T = TypeVar("T")

pytestmark = pytest.mark.postgres


class SlackInAThread:
    """The Slack emulator on its own event loop, so that worker processes can call it while the test waits."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.emulator = SlackEmulator(ts_clock=time.time)
        self.url = ""

    def __enter__(self) -> SlackInAThread:
        self.thread.start()
        self.url = self.run(self.emulator.start())
        return self

    def __exit__(self, *exc: object) -> None:
        self.do(self.emulator.outages.clear)  # let held calls finish, or stopping waits for them
        self.run(self.emulator.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)

    def run(self, work: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(work, self.loop).result(timeout=30)

    def do(self, action: Callable[[], T]) -> T:
        async def on_loop() -> T:
            return action()
        return self.run(on_loop())


@pytest.fixture
def database() -> Iterator[str]:
    for url in _postgres_database():
        upgrade(url)
        yield url


def until(condition: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    deadline = time.time() + timeout
    while not condition():
        if time.time() > deadline:
            raise AssertionError(f"never happened: {what}")
        time.sleep(0.2)


def worker_id(proc: subprocess.Popen[str]) -> str:
    return f"{socket.gethostname()}:{proc.pid}"


def test_a_killed_workers_reminders_are_delivered_once_by_the_other_without_waiting_out_the_lease(
        tmp_path: Path, database: str) -> None:
    due = datetime.now(UTC) - timedelta(minutes=1)
    team = tmp_path / "team.yaml"
    members = ", ".join(f"{{id: {p.lower()}, name: P{p[-3:]}, tz: UTC, accounts: {{slack: {p}}}, "
                        "workdays: [mon, tue, wed, thu, fri, sat, sun]}" for p in PEOPLE)
    team.write_text(f"workspace: T0001\nmembers: [{members}]\n"
                    f"standups: [{{name: daily, channel: 'C0TEAM', remind_at: '{due:%H:%M}', "
                    "days: [mon, tue, wed, thu, fri, sat, sun], nudge_after: '3h'}]\n")
    with SlackInAThread() as slack:
        for p in PEOPLE:
            slack.do(lambda p=p: slack.emulator.add_user(p, f"P{p}", "UTC"))  # type: ignore[misc]
        env = {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": database, "SLACK_API_URL": slack.url,
               "SLACK_BOT_TOKEN": "xoxb-T0001-test", "SLACK_SIGNING_SECRET": "s3cret",
               "MERIDIAN_HEARTBEAT_SECONDS": "0.5"}
        imported = subprocess.run([sys.executable, "-m", "bot", "import", str(team)], cwd=tmp_path, env=env,
                                  capture_output=True, text=True, timeout=60)
        assert imported.returncode == 0, imported.stderr
        store = SqlStore.from_url(database, create=False)

        def reminders() -> list[Any]:
            return [i for i in store.due_items("standup:") if ":reminder:" in i.key and i.due_at <= due]

        def held() -> int:
            return slack.do(lambda: len(slack.emulator.calls("chat.postMessage#held")))

        slack.do(lambda: slack.emulator.hang_for("chat.postMessage", 3600))
        logs = [(tmp_path / f"{name}.out").open("w") for name in ("1", "2")]
        start = [sys.executable, "-m", "bot", "worker", "--interval", "0.5"]
        workers = [subprocess.Popen(start, cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT, text=True)
                   for log in logs]
        try:
            # Whichever worker claims the reminders first holds them all; Slack holds its sends.
            until(lambda: len(reminders()) == len(PEOPLE) and all(i.status == "claimed" for i in reminders())
                  and held() >= 1, "a worker claims the reminders and starts sending")
            holders = {i.claimed_by for i in reminders()}
            (holder,) = (w for w in workers if {worker_id(w)} == holders)
            (survivor,) = (w for w in workers if w is not holder)
            time.sleep(2.0)  # several of the other worker's passes, longer than a silence would need to count
            assert {(i.status, i.claimed_by) for i in reminders()} == {("claimed", worker_id(holder))}, (
                "a live worker's claims are never taken over")

            holder.send_signal(signal.SIGKILL)
            holder.wait(timeout=10)
            slack.do(lambda: slack.emulator.recover("chat.postMessage"))
            until(lambda: all(i.status == "done" for i in reminders()), "the other worker finishes the reminders",
                  timeout=90)  # well inside the killed worker's five-minute lease
        finally:
            for proc in workers:
                if proc.poll() is None:
                    proc.terminate()
                    proc.wait(timeout=20)
            for log in logs:
                log.close()
        assert {i.claimed_by for i in reminders()} == {worker_id(survivor)}, "the survivor ran every reminder"
        dms = [e for e in store.outbox_entries("T0001") if e.kind == "dm"]
        assert len(dms) == len(PEOPLE)
        assert {(e.status, e.attempt_by) for e in dms} == {("sent", worker_id(survivor))}
        messages = slack.do(lambda: dict(slack.emulator.messages))
        store.engine.dispose()
    delivered = Counter(channel for channel, posted in messages.items() if channel.startswith("D") for m in posted
                        if "Stand-up: daily" in json.dumps(m))
    assert delivered == Counter({"D" + p[1:]: 1 for p in PEOPLE}), "every reminder once, none twice"


@pytest.mark.parametrize("value", ["often", "0", "-5", "1e9", "nan"])
def test_a_heartbeat_that_is_not_a_sensible_number_of_seconds_stops_the_worker_with_one_line(
        tmp_path: Path, value: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": f"sqlite:///{tmp_path / 'm.db'}",
           "MERIDIAN_HEARTBEAT_SECONDS": value}
    run = subprocess.run([sys.executable, "-m", "bot", "worker"], cwd=tmp_path, env=env, capture_output=True,
                         text=True, timeout=60)
    assert run.returncode == 2
    assert run.stderr.strip().splitlines() == [
        f"meridian: MERIDIAN_HEARTBEAT_SECONDS must be a number of seconds from 0.1 to 600, not {value!r}"], run.stderr
