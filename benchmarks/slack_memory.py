"""Resident memory of an idle ``meridian serve`` with Slack enabled (target ≤ 150 MB).

Starts ``python -m bot serve`` as an operator would (Slack token and signing secret
set, the Web API pointed at the local emulator, SQLite), lets it answer a few signed
commands so every Slack code path is loaded, waits until it is idle, then reads
``VmRSS`` from ``/proc``. The baseline printed beside it is the same command with
Slack switched off.

    python benchmarks/slack_memory.py
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._slack_common import command_body, free_port, serve, signed, wait_until_up
from tests.emulators.slack import SlackEmulator

TARGET_MB = 150.0


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


async def measure(slack: bool, emulator: SlackEmulator) -> float:
    port = free_port()
    tmp = Path(tempfile.mkdtemp(prefix="meridian-mem-"))
    if slack:
        proc = serve(port, emulator.api_url, tmp / "mem.db")
    else:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SLACK_")}
        env.update({"DATABASE_URL": f"sqlite:///{tmp / 'mem.db'}", "MERIDIAN_LOG_LEVEL": "WARNING",
                    "PYTHONPATH": str(Path(__file__).resolve().parent.parent)})
        proc = subprocess.Popen([sys.executable, "-m", "bot", "serve", "--port", str(port), "--host", "127.0.0.1"],
                                env=env, cwd=str(tmp))
    try:
        await wait_until_up(f"http://127.0.0.1:{port}/healthz")
        if slack:
            async with aiohttp.ClientSession() as session:
                for text in ("help", "setup daily channel=C0MEM at=09:30", "", "report"):
                    body = command_body(text, "U0MEM", emulator.response_url("mem"))
                    async with session.post(f"http://127.0.0.1:{port}/slack/events", data=body,
                                            headers=signed(body)) as resp:
                        assert resp.status == 200, resp.status
        await asyncio.sleep(5)
        return rss_mb(proc.pid)
    finally:
        proc.terminate()
        proc.wait(10)


async def main() -> int:
    emulator = SlackEmulator()
    await emulator.start()
    emulator.add_user("U0MEM", "Mem", "Europe/Berlin", is_admin=True)
    try:
        without = await measure(False, emulator)
        with_slack = await measure(True, emulator)
    finally:
        await emulator.stop()
    print("resident memory of an idle `meridian serve` (scheduler on, SQLite)")
    print(f"without Slack: {without:.1f} MB (baseline)")
    print(f"with Slack:    {with_slack:.1f} MB (target ≤ {TARGET_MB:.0f} MB): "
          f"{'met' if with_slack <= TARGET_MB else 'NOT met'}; Slack adds {with_slack - without:.1f} MB")
    return 0 if with_slack <= TARGET_MB else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
