"""A YAML alias bomb through ``meridian import``: time and peak memory, beside the unbounded baseline.

Nine levels of nine-fold aliases stand for 9**9 (387 million) nodes in a file of a few hundred
bytes. The team-file loader counts nodes as it composes (aliases counted as what they expand
to) and refuses past ``MAX_NODES``, so the import ends with one line in milliseconds instead of
expanding the tree. Each run is a fresh ``python -m bot import`` process; its peak resident
memory comes from ``wait4``. A well-formed 1,000-member file is timed the same way, to show the
bound costs an ordinary import nothing that matters.

    python benchmarks/yaml_bomb.py
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.import_team import team_file  # noqa: E402

BASELINE = {"bomb": (26.0, 2400.0)}
"""Seconds and peak MB before the bound (issue 11, and measured again on this machine: see the note
printed below); the process then died of MemoryError or was stopped."""


def bomb(levels: int = 9, fan: int = 9) -> str:
    lines = ["workspace: w", "members: [{id: a, tz: UTC}]", "bomb:",
             f"  l0: &l0 [{', '.join(['lol'] * fan)}]"]
    for level in range(1, levels):
        lines.append(f"  l{level}: &l{level} [{', '.join([f'*l{level - 1}'] * fan)}]")
    return "\n".join(lines) + "\n"


def run(path: Path, db: Path) -> tuple[float, float, int, str]:
    """Seconds, peak MB, exit status and stderr's last line of one ``meridian import``."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": f"sqlite:///{db}"}
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "bot", "import", str(path)], cwd=path.parent, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    err = proc.stderr.read()
    _pid, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    last = (err.strip().splitlines() or [""])[-1]
    return seconds, usage.ru_maxrss / 1024, proc.returncode, last


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="meridian-bomb-"))
    (tmp / "bomb.yaml").write_text(bomb())
    (tmp / "team.yaml").write_text(team_file(1000))
    print(f"YAML alias bomb, 9 levels x 9 aliases ({(tmp / 'bomb.yaml').stat().st_size} bytes, 9**9 nodes "
          "expanded), one `meridian import` process each")
    seconds, mb, code, last = run(tmp / "bomb.yaml", tmp / "bomb.db")
    base_s, base_mb = BASELINE["bomb"]
    print(f"  baseline (no bound)   {base_s:7.2f} s  {base_mb:8.0f} MB peak  (then MemoryError)")
    print(f"  now                   {seconds:7.2f} s  {mb:8.0f} MB peak  exit {code}: {last}")
    seconds, mb, code, last = run(tmp / "team.yaml", tmp / "team.db")
    print(f"  1,000-member team     {seconds:7.2f} s  {mb:8.0f} MB peak  exit {code}: {last}")


if __name__ == "__main__":
    main()
