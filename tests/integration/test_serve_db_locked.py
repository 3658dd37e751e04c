"""``meridian serve`` with its SQLite file locked by another process: health and metrics keep answering.

The lock is taken from this test process (``BEGIN EXCLUSIVE`` on the same file), as a
backup tool or a stuck ``sqlite3`` shell would hold it. The server's scheduler ticks
against the locked file meanwhile; the HTTP loop must still answer, and say why.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from tests.emulators.slack import SlackEmulator
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
def serving(db: Path, port: int, extra: dict[str, str] | None = None) -> Iterator[subprocess.Popen[str]]:
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "MICROSOFT", "Microsoft"))},
           "PYTHONPATH": str(ROOT), "DATABASE_URL": f"sqlite:///{db}", **(extra or {})}
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


SECRET = "locked-signing-secret"


def slack_command(text: str, response_url: str, trigger: str, secret: str = SECRET) -> tuple[bytes, dict[str, str]]:
    body = urlencode({"team_id": "T0001", "team_domain": "locked", "channel_id": "C0LOCK", "user_id": "U0LOCK",
                      "command": "/standup", "text": text, "response_url": response_url, "trigger_id": trigger,
                      "api_app_id": "A0001"})
    stamp = str(int(time.time()))
    sig = "v0=" + hmac.new(secret.encode(), f"v0:{stamp}:{body}".encode(), hashlib.sha256).hexdigest()
    return body.encode(), {"Content-Type": "application/x-www-form-urlencoded", "X-Slack-Request-Timestamp": stamp,
                           "X-Slack-Signature": sig}


def post(url: str, body: bytes, headers: dict[str, str]) -> int:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=body, headers=headers), timeout=10) as r:
            return int(r.status)
    except urllib.error.HTTPError as err:
        return err.code


async def test_slack_is_acknowledged_while_the_database_is_locked_and_each_command_runs_once_after(
        tmp_path: Path) -> None:
    emulator = SlackEmulator()
    await emulator.start()
    emulator.add_user("U0LOCK", "Lock", "Europe/Berlin")
    db, port = tmp_path / "m.db", free_port()
    slack_env = {"SLACK_SIGNING_SECRET": SECRET, "SLACK_BOT_TOKEN": "xoxb-T0001-locked",
                 "SLACK_API_URL": emulator.api_url}
    events = f"http://127.0.0.1:{port}/slack/events"

    def answered(name: str) -> list[dict[str, Any]]:
        return [c.params for c in emulator.calls("response_url") if c.params.get("name") == name]

    async def settle(check: Callable[[], bool]) -> None:
        await asyncio.to_thread(wait_for, check)

    try:
        with serving(db, port, slack_env) as proc:
            await settle(lambda: proc.poll() is None and answers(port))
            assert await asyncio.to_thread(post, events, *slack_command("help", emulator.response_url("warm"),
                                                                         "1.warm")) == 200
            await settle(lambda: len(answered("warm")) == 1)
            with locked(db):
                await settle(lambda: health(port)["database"] == "slow")
                body, headers = slack_command("help", emulator.response_url("held"), "2.held")
                # acknowledged although recording the trigger id (after the ack) waits on the lock; a replay too
                assert await asyncio.to_thread(post, events, body, headers) == 200
                assert await asyncio.to_thread(post, events, body, headers) == 200
                forged, bad = slack_command("help", emulator.response_url("forged"), "3.forged", secret="guess")
                assert await asyncio.to_thread(post, events, forged, bad) == 401
                assert answered("held") == []
            await settle(lambda: len(answered("held")) >= 1)
            await asyncio.sleep(2)  # room for a double to show
            assert len(answered("held")) == 1
            assert "/standup" in json.dumps(answered("held")[0])
            assert answered("forged") == []
    finally:
        await emulator.stop()
