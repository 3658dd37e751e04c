"""``meridian worker`` as an operator starts it: APScheduler drives the engine and due work goes out."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_worker_sends_a_reminder_that_fell_due_a_minute_ago(tmp_path: Path) -> None:
    due = datetime.now(UTC) - timedelta(minutes=1)
    team = tmp_path / "team.yaml"
    team.write_text("workspace: w\nmembers: [{id: ana, name: Ana, tz: UTC, workdays: [mon, tue, wed, thu, fri, sat, sun]}]\n"
                    f"standups: [{{name: daily, channel: '#c', remind_at: '{due:%H:%M}', "
                    "days: [mon, tue, wed, thu, fri, sat, sun], nudge_after: '0m'}]\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": f"sqlite:///{tmp_path / 'm.db'}"}
    imported = subprocess.run([sys.executable, "-m", "bot", "import", str(team)], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=60)
    assert imported.returncode == 0, imported.stderr
    out = tmp_path / "worker.out"
    with out.open("w") as sink:
        proc = subprocess.Popen([sys.executable, "-m", "bot", "worker", "--interval", "0.5"], cwd=tmp_path, env=env,
                                stdout=sink, stderr=subprocess.STDOUT, text=True)
        try:
            deadline = time.time() + 60
            while "Stand-up: daily" not in out.read_text() and time.time() < deadline and proc.poll() is None:
                time.sleep(0.3)
            time.sleep(1.5)  # a few more ticks: nothing is sent twice
        finally:
            proc.terminate()
            proc.wait(timeout=20)
    text = out.read_text()
    assert text.count("Stand-up: daily") == 1, text
    assert "DM ana | Meridian" in text
