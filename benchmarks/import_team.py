"""Importing a 1,000-member team file into the embedded SQLite store: target <= 1 s.

Times the whole of ``meridian import``'s work in-process (parse and validate the YAML
with line numbers, write members, accounts and stand-ups, re-plan), median of 5 runs,
beside the baseline of PyYAML's own ``safe_load`` of the same file (parsing alone).

    python benchmarks/import_team.py
"""

from __future__ import annotations

import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import yaml

from adapters.console.chat import ConsoleChat
from bot.bootstrap import build_core, open_store
from bot.kernel.clock import SimulatedClock
from bot.kernel.team import apply_team
from bot.kernel.teamfile import load_team

ZONES = ["America/Los_Angeles", "America/New_York", "Europe/London", "Europe/Berlin", "Asia/Kolkata",
         "Asia/Singapore", "Australia/Sydney", "America/Sao_Paulo", "Asia/Dubai", "Pacific/Auckland"]


def team_file(n: int) -> str:
    lines = ["workspace: big-ml", "members:"]
    for i in range(n):
        lines.append(f"  - {{id: m{i:04d}, name: Member {i}, tz: {ZONES[i % len(ZONES)]}, hours: '09:00-17:00', "
                     f"accounts: {{slack: U{i:06d}, email: m{i}@example.com}}}}")
    lines.append("standups:")
    for s in range(10):
        lines.append(f"  - {{name: daily-{s}, channel: '#team-{s}', remind_at: '09:30', "
                     f"members: [{', '.join(f'm{i:04d}' for i in range(s * 100, s * 100 + 100))}]}}")
    return "\n".join(lines) + "\n"


def main() -> None:
    path = Path(tempfile.mkdtemp()) / "team.yaml"
    path.write_text(team_file(1000))
    imports, parses = [], []
    for _ in range(5):
        db = Path(tempfile.mkdtemp()) / "m.db"
        store = open_store(f"sqlite:///{db}")
        clock = SimulatedClock(datetime(2027, 3, 15, tzinfo=UTC))
        app = build_core(store, clock, {"console": ConsoleChat(clock, out=open("/dev/null", "w"))})  # noqa: SIM115
        start = time.perf_counter()
        apply_team(app, load_team(path, app.sections))
        app.engine.plan()
        imports.append(time.perf_counter() - start)
        start = time.perf_counter()
        yaml.safe_load(path.read_text())
        parses.append(time.perf_counter() - start)
    print("import of a 1,000-member team file (validate + store + plan 48 h), 5 runs; target <= 1.00 s")
    print(f"  meridian import      median {statistics.median(imports):.3f} s  (min {min(imports):.3f}, "
          f"max {max(imports):.3f})")
    print(f"  baseline yaml.safe_load median {statistics.median(parses):.3f} s")


if __name__ == "__main__":
    main()
