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

import contextlib
import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.import_team import team_file  # noqa: E402

BASELINES = [
    ("baseline, issue 11", 26.0, 2400.0, "then MemoryError"),
    ("baseline, this machine", 92.4, 1949.0, "then MemoryError under a 2.6 GB address-space cap; "
                                             "uncapped it was still expanding after 200 s"),
]
"""The same import before the bound: seconds and peak MB. Not re-run here (it takes minutes and gigabytes)."""


def bomb(levels: int = 9, fan: int = 9) -> str:
    lines = ["workspace: w", "members: [{id: a, tz: UTC}]", "bomb:",
             f"  l0: &l0 [{', '.join(['lol'] * fan)}]"]
    for level in range(1, levels):
        lines.append(f"  l{level}: &l{level} [{', '.join([f'*l{level - 1}'] * fan)}]")
    return "\n".join(lines) + "\n"


def run(path: Path, db: Path) -> tuple[float, float, int, str]:
    """Seconds, peak MB, exit status and the last line printed by one ``meridian import``."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": f"sqlite:///{db}"}
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "bot", "import", str(path)], cwd=path.parent, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    err = proc.stdout.read()
    _pid, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    last = (err.strip().splitlines() or [""])[-1]
    return seconds, usage.ru_maxrss / 1024, proc.returncode, last


def in_process(path: Path) -> tuple[float, float]:
    """Seconds and peak traced MB of the loader refusing ``path``, without the process around it."""
    from bot.kernel.teamfile import TeamFileError, load_team

    tracemalloc.start()
    start = time.perf_counter()
    with contextlib.suppress(TeamFileError):
        load_team(path, [])
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return seconds, peak


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="meridian-bomb-"))
    (tmp / "bomb.yaml").write_text(bomb())
    (tmp / "team.yaml").write_text(team_file(1000))
    print(f"YAML alias bomb, 9 levels x 9 aliases ({(tmp / 'bomb.yaml').stat().st_size} bytes, 9**9 nodes "
          "expanded), one `meridian import` process each")
    seconds, mb, code, last = run(tmp / "bomb.yaml", tmp / "bomb.db")
    for label, base_s, base_mb, note in BASELINES:
        print(f"  {label:<24}{base_s:7.2f} s  {base_mb:8.0f} MB peak  ({note})")
    print(f"  {'now':<24}{seconds:7.2f} s  {mb:8.0f} MB peak  exit {code}: {last}")
    seconds, mb = in_process(tmp / "bomb.yaml")
    print(f"  {'now, the loader alone':<24}{seconds:7.3f} s  {mb:8.1f} MB allocated at peak (tracemalloc)")
    seconds, mb, code, last = run(tmp / "team.yaml", tmp / "team.db")
    print(f"  {'1,000-member team':<24}{seconds:7.2f} s  {mb:8.0f} MB peak  exit {code}: {last}")


if __name__ == "__main__":
    main()
