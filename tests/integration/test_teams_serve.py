"""``meridian serve`` with ``MERIDIAN_TEAMS_EMULATOR=1``, as an operator starts it, answering Teams on /api/messages."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import aiohttp

from tests.emulators.teams import ConnectorEmulator, TeamsClient
from tests.integration.test_serve_process import free_port

ROOT = Path(__file__).resolve().parents[2]


async def test_serve_answers_a_teams_message_through_the_connector(tmp_path: Path) -> None:
    connector = ConnectorEmulator()
    await connector.start()
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": f"sqlite:///{tmp_path / 'm.db'}",
           "MERIDIAN_TEAMS_EMULATOR": "1", "MERIDIAN_TEAMS_EMULATOR_URL": connector.url, "MicrosoftAppId": ""}
    log = (tmp_path / "serve.log").open("w")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", str(port), "--no-scheduler",
        cwd=tmp_path, env=env, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as http:
            for _ in range(200):
                try:
                    async with http.get(f"{base}/healthz") as r:
                        if r.status == 200:
                            break
                except aiohttp.ClientConnectionError:
                    assert proc.returncode is None, (tmp_path / "serve.log").read_text()
                    await asyncio.sleep(0.2)
            user = connector.add_user("29:ravi", "Ravi", "aad-ravi", tenant="t1")
            activity = TeamsClient(connector.url, "t1").personal(user, "meridian help", zone="Asia/Kolkata")
            async with http.post(f"{base}/api/messages", json=activity) as r:
                assert r.status == 201
        replies = connector.delivered("reply", "a:personal-29:ravi")
        assert len(replies) == 1 and "/meridian tz ZONE" in replies[0].shown
    finally:
        proc.terminate()
        await proc.wait()
        log.close()
        await connector.close()
