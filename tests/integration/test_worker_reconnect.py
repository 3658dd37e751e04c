"""A ``meridian worker`` whose database connection drops while it holds a fan-out hands its claims back.

Worker A reaches PostgreSQL through a proxy (``tests.pg_proxy``); worker B directly. A
claims the day's reminders and starts sending them while Slack (the emulator) holds every
``chat.postMessage``. Then A's connections are cut and refused for two seconds, and Slack
carries out what it held meanwhile: the messages land, but A cannot record it. A stays
alive and beating, so neither its five-minute lease nor a silent heartbeat would free its
claims. Once the database answers again A hands back what it could not finish (the items
it claimed, and the sends it recorded as ``sending``); A or B then runs them again, asks
Slack whether each message already landed, and records it instead of sending it twice.
Everything is done within seconds, each person has exactly one reminder.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from storage.kernel.repo import SqlStore
from storage.migrate import upgrade
from tests.conftest import _postgres_database
from tests.integration.test_worker_heartbeat import SlackInAThread, until, worker_id
from tests.pg_proxy import PgProxy

ROOT = Path(__file__).resolve().parents[2]
PEOPLE = [f"U0C{n:03d}" for n in range(6)]
LEASE = timedelta(minutes=5)

pytestmark = pytest.mark.postgres


@pytest.fixture
def database() -> Iterator[str]:
    for url in _postgres_database():
        upgrade(url)
        yield url


def test_a_worker_that_lost_its_database_mid_fan_out_hands_its_claims_back_and_each_reminder_goes_once(
    tmp_path: Path, database: str
) -> None:
    due = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=1)
    team = tmp_path / "team.yaml"
    members = ", ".join(
        f"{{id: {p.lower()}, name: P{p[-3:]}, tz: UTC, accounts: {{slack: {p}}}, "
        "workdays: [mon, tue, wed, thu, fri, sat, sun]}"
        for p in PEOPLE
    )
    team.write_text(
        f"workspace: T0001\nmembers: [{members}]\n"
        f"standups: [{{name: daily, channel: 'C0TEAM', remind_at: '{due:%H:%M}', "
        "days: [mon, tue, wed, thu, fri, sat, sun], nudge_after: '3h'}]\n"
    )
    with SlackInAThread() as slack:
        proxy = PgProxy.before(database)
        slack.run(proxy.start())  # the proxy shares the emulator's loop
        for p in PEOPLE:
            slack.do(lambda p=p: slack.emulator.add_user(p, f"P{p}", "UTC"))  # type: ignore[misc]
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "MICROSOFT", "Microsoft"))},
            "PYTHONPATH": str(ROOT),
            "SLACK_API_URL": slack.url,
            "SLACK_BOT_TOKEN": "xoxb-T0001-test",
            "SLACK_SIGNING_SECRET": "s3cret",
        }
        imported = subprocess.run(
            [sys.executable, "-m", "bot", "import", str(team)],
            cwd=tmp_path,
            env={**env, "DATABASE_URL": database},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert imported.returncode == 0, imported.stderr
        store = SqlStore.from_url(database, create=False)

        def reminders() -> list[Any]:
            return [i for i in store.due_items("standup:") if ":reminder:" in i.key and i.due_at <= due]

        def held() -> int:
            return slack.do(lambda: len(slack.emulator.calls("chat.postMessage#held")))

        slack.do(lambda: slack.emulator.hang_for("chat.postMessage", 3600))
        start = [sys.executable, "-m", "bot", "worker", "--interval", "0.5"]
        logs = [(tmp_path / f"{name}.out").open("w") for name in ("a", "b")]
        a = subprocess.Popen(
            start,
            cwd=tmp_path,
            env={**env, "DATABASE_URL": proxy.url},
            stdout=logs[0],
            stderr=subprocess.STDOUT,
        )
        workers = [a]
        try:
            until(
                lambda: (
                    len(reminders()) == len(PEOPLE)
                    and all(i.status == "claimed" for i in reminders())
                    and held() >= len(PEOPLE)
                ),
                "worker A claims every reminder and Slack holds each send",
            )
            assert {i.claimed_by for i in reminders()} == {worker_id(a)}
            b = subprocess.Popen(
                start,
                cwd=tmp_path,
                env={**env, "DATABASE_URL": database},
                stdout=logs[1],
                stderr=subprocess.STDOUT,
            )
            workers.append(b)

            cut = slack.run(_go_down(proxy))
            assert cut > 0, "A's connections were cut"
            slack.do(lambda: slack.emulator.recover("chat.postMessage"))  # the held messages land now
            time.sleep(2.0)
            slack.run(proxy.start())
            back = time.monotonic()
            until(
                lambda: all(i.status == "done" for i in reminders()), "the reminders are finished", timeout=60
            )
            took = time.monotonic() - back
            time.sleep(2.0)  # room for a double to show
        finally:
            for proc in workers:
                proc.terminate()
                proc.wait(timeout=20)
            for log in logs:
                log.close()
            slack.run(proxy.stop())
        assert took < LEASE.total_seconds() / 10, f"finished {took:.0f} s after the database came back"
        dms = [e for e in store.outbox_entries("T0001") if e.kind == "dm"]
        assert len(dms) == len(PEOPLE) and {e.status for e in dms} == {"sent"}
        assert a.poll() is not None and "handed back" in (tmp_path / "a.out").read_text()
        messages = slack.do(lambda: dict(slack.emulator.messages))
        store.engine.dispose()
    delivered = Counter(
        channel
        for channel, posted in messages.items()
        if channel.startswith("D")
        for m in posted
        if "Stand-up: daily" in json.dumps(m)
    )
    assert delivered == Counter({"D" + p[1:]: 1 for p in PEOPLE}), "every reminder once, none twice"


async def _go_down(proxy: PgProxy) -> int:
    return proxy.go_down()
