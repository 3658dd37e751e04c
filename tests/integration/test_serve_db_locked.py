"""``meridian serve`` with its SQLite file locked by another process: health and metrics keep answering.

The lock is taken from this test process (``BEGIN EXCLUSIVE`` on the same file), as a
backup tool or a stuck ``sqlite3`` shell would hold it. The server's scheduler ticks
against the locked file meanwhile; the HTTP loop must still answer, and say why.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.integration.test_serve_process import ROOT, free_port


def get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=5) as r:  # urllib raises for 503: the lock must not read as down
        return r.status, r.read().decode()


def wait_for(what: Callable[[], bool], seconds: float = 60) -> None:
    deadline = time.time() + seconds
    while not what():
        if time.time() > deadline:
            raise AssertionError("the server never got there")
        time.sleep(0.3)


@contextmanager
def serving(db: Path, port: int) -> Iterator[subprocess.Popen[str]]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": f"sqlite:///{db}"}
    proc = subprocess.Popen([sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", str(port)],
                            cwd=db.parent, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True)
    try:
        yield proc
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@contextmanager
def locked(db: Path) -> Iterator[None]:
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("BEGIN EXCLUSIVE")
    try:
        yield
    finally:
        conn.execute("ROLLBACK")
        conn.close()


def health(port: int) -> dict[str, str]:
    status, text = get(f"http://127.0.0.1:{port}/healthz")
    assert status == 200
    answer: dict[str, str] = json.loads(text)
    return answer


def metric(port: int, name: str) -> float:
    _status, text = get(f"http://127.0.0.1:{port}/metrics")
    for line in text.splitlines():
        if line.startswith(f"{name} "):
            return float(line.split()[1])
    raise AssertionError(f"{name} is not in /metrics")


def answers(port: int) -> bool:
    try:
        return health(port)["database"] == "ok"
    except OSError:
        return False


def test_a_locked_database_is_reported_slow_by_health_and_metrics_and_recovers(tmp_path: Path) -> None:
    db, port = tmp_path / "m.db", free_port()
    with serving(db, port) as proc:
        wait_for(lambda: proc.poll() is None and answers(port))
        assert metric(port, "meridian_db_up") == 1
        slow_before = metric(port, "meridian_db_slow_total")
        with locked(db):
            wait_for(lambda: health(port)["database"] == "slow")
            # held past a scheduler tick (every 10 s), which now waits on the lock on the core loop
            for _ in range(12):
                assert health(port) == {"status": "ok", "database": "slow"}
                time.sleep(1)
            assert metric(port, "meridian_db_up") == 0
            assert metric(port, "meridian_db_slow_total") > slow_before
            assert metric(port, "meridian_db_probe_seconds") > 0
        wait_for(lambda: health(port)["database"] == "ok")
        assert metric(port, "meridian_db_up") == 1
        assert proc.poll() is None
