"""Shared pieces of the Slack benchmarks: signing, a ``meridian serve`` child process, percentiles."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlencode

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
SECRET = "benchmark-signing-secret"
TOKEN = "xoxb-T0001-benchmark"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def signed(body: str, content_type: str = "application/x-www-form-urlencoded") -> dict[str, str]:
    ts = str(int(time.time()))
    sig = "v0=" + hmac.new(SECRET.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"Content-Type": content_type, "X-Slack-Request-Timestamp": ts, "X-Slack-Signature": sig}


def command_body(text: str, user: str, response_url: str, command: str = "/standup") -> str:
    return urlencode({"team_id": "T0001", "team_domain": "bench", "channel_id": "C0BENCH", "user_id": user,
                      "command": command, "text": text, "response_url": response_url,
                      "trigger_id": f"{uuid.uuid4().int % 10**12}.bench", "api_app_id": "A0001"})


def serve(port: int, api_url: str, db: Path, extra: list[str] | None = None,
          database_url: str | None = None) -> subprocess.Popen[bytes]:
    """``meridian serve`` exactly as an operator runs it, Slack enabled, pointed at the emulator.

    Its database is the SQLite file ``db`` (its folder is the working directory), or ``database_url``
    when given: a migrated PostgreSQL database, such as ``tests.pg_proxy.scratch_database()`` makes,
    reached directly or through ``tests.pg_proxy.proxied(url, rtt_ms=2)``'s ``url``."""
    env = {**os.environ, "SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": api_url,
           "DATABASE_URL": database_url or f"sqlite:///{db}", "MERIDIAN_LOG_LEVEL": "WARNING",
           "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "bot", "serve", "--port", str(port), "--host", "127.0.0.1",
                             *(extra or [])], env=env, cwd=str(db.parent))


async def wait_until_up(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            try:
                async with session.get(url) as resp:
                    if resp.status < 500:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError(f"{url} did not come up")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]
