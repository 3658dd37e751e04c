"""Work acknowledged to Slack survives a killed ``meridian serve``: it runs once after the restart.

A real process, killed with SIGKILL (no clean-up), then started again on the same database
and working folder. Two moments: while the database is locked (only the journal holds the
request), and while the work waits on Slack after the request was recorded (the database
holds it as owed work, taken over once the dead process's heartbeat stops).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import sqlite3
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from tests.emulators.slack import SlackEmulator
from tests.integration.test_serve_db_locked import SECRET, answers, locked, post, serving, wait_for
from tests.integration.test_serve_process import free_port


def owed(db: Path) -> list[str]:
    """Request ids the database holds as owed work (read beside the server, as an operator would)."""
    conn = sqlite3.connect(db, timeout=1)
    try:
        return [row[0] for row in conn.execute("SELECT event_id FROM slack_event WHERE body IS NOT NULL")]
    finally:
        conn.close()


class Killable:
    """``meridian serve`` on one database and folder, started, killed and started again."""

    def __init__(self, tmp_path: Path, emulator: SlackEmulator) -> None:
        self.db = tmp_path / "m.db"
        self.env = {"SLACK_SIGNING_SECRET": SECRET, "SLACK_BOT_TOKEN": "xoxb-T0001-killed",
                    "SLACK_API_URL": emulator.api_url, "MERIDIAN_HEARTBEAT_SECONDS": "1"}
        self.emulator = emulator

    def answered(self, name: str) -> list[dict[str, Any]]:
        return [c.params for c in self.emulator.calls("response_url") if c.params.get("name") == name]

    @staticmethod
    async def settle(check: Callable[[], bool], seconds: float = 60) -> None:
        await asyncio.to_thread(wait_for, check, seconds)

    async def command(self, port: int, text: str, name: str, trigger: str, user: str = "U0KILL") -> int:
        """``/standup TEXT`` from ``user``, signed as Slack signs it, answered through response URL ``name``."""
        body = urlencode({"team_id": "T0001", "team_domain": "killed", "channel_id": "C0KILL", "user_id": user,
                          "command": "/standup", "text": text, "response_url": self.emulator.response_url(name),
                          "trigger_id": trigger, "api_app_id": "A0001"})
        stamp = str(int(time.time()))
        sig = "v0=" + hmac.new(SECRET.encode(), f"v0:{stamp}:{body}".encode(), hashlib.sha256).hexdigest()
        headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Slack-Request-Timestamp": stamp,
                   "X-Slack-Signature": sig}
        return await asyncio.to_thread(post, f"http://127.0.0.1:{port}/slack/events", body.encode(), headers)


def kill(proc: subprocess.Popen[str]) -> None:
    proc.kill()
    proc.wait(timeout=10)


async def test_a_command_acknowledged_while_the_database_is_locked_runs_once_after_a_kill(tmp_path: Path) -> None:
    emulator = SlackEmulator()
    await emulator.start()
    emulator.add_user("U0KILL", "Kill", "Europe/Berlin")
    server = Killable(tmp_path, emulator)
    try:
        port = free_port()
        with serving(server.db, port, server.env) as proc:
            await server.settle(lambda: proc.poll() is None and answers(port))
            assert await server.command(port, "help", "warm", "1.warm") == 200
            await server.settle(lambda: len(server.answered("warm")) == 1)
            with locked(server.db):
                # acknowledged at once; the database cannot record it, so only the journal holds it
                assert await server.command(port, "help", "held", "2.held") == 200
                await asyncio.sleep(1)
                kill(proc)
        assert server.answered("held") == []
        port = free_port()
        with serving(server.db, port, server.env) as proc:
            await server.settle(lambda: len(server.answered("held")) >= 1)
            await asyncio.sleep(3)  # room for a double to show
            assert len(server.answered("held")) == 1
            assert "/standup" in json.dumps(server.answered("held")[0])
            assert owed(server.db) == []
            assert list((tmp_path / "slack-journal").glob("*.jsonl")) != []  # the live process's own, only
            assert len(list((tmp_path / "slack-journal").glob("*.jsonl"))) == 1
            # a replay of the same request after the restart is acknowledged and does nothing
            assert await server.command(port, "help", "held", "2.held") == 200
            await asyncio.sleep(2)
            assert len(server.answered("held")) == 1
    finally:
        await emulator.stop()


async def test_a_command_whose_work_was_cut_short_by_a_kill_is_taken_over_once(tmp_path: Path) -> None:
    emulator = SlackEmulator()
    await emulator.start()
    emulator.add_user("U0KILL", "Kill", "Europe/Berlin")
    emulator.add_user("U0SLOW", "Slow", "Asia/Tokyo")
    server = Killable(tmp_path, emulator)
    try:
        port = free_port()
        with serving(server.db, port, server.env) as proc:
            await server.settle(lambda: proc.poll() is None and answers(port))
            emulator.hang_for("users.info", 120)  # the new person's profile never comes: the work waits
            assert await server.command(port, "help", "cut", "3.cut", user="U0SLOW") == 200
            await server.settle(lambda: owed(server.db) == ["trigger:3.cut"])
            kill(proc)
        emulator.recover("users.info")
        assert server.answered("cut") == []
        port = free_port()
        with serving(server.db, port, server.env) as proc:
            # taken over once the dead process has been silent for three heartbeats
            await server.settle(lambda: len(server.answered("cut")) >= 1)
            await asyncio.sleep(3)
            assert len(server.answered("cut")) == 1
            await server.settle(lambda: owed(server.db) == [])
    finally:
        await emulator.stop()
