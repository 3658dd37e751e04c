"""Reading a console transcript the way a person does: who said what, where, at what local time.

Shared by the scenario tests. A transcript line is ``[UTC · local] where | speaker:`` followed by the
message body indented four spaces; script lines echoed behind their prompt start with ``» ``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

_HEAD = re.compile(r"^\[(?P<utc>\d{4}-\d\d-\d\d \d\d:\d\d)Z · (?P<day>\w{3}) (?P<local>\d\d:\d\d) (?P<zone>[^\]]+)\] "
                   r"(?P<where>.+?) \| (?P<speaker>.+):$")


def meridian(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """The ``meridian`` command as a process (as ``tests/integration/test_console_cli.py`` runs it)."""
    return subprocess.run([sys.executable, "-m", "bot", *args], input=stdin, capture_output=True, text=True,
                          cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=600)


@dataclass
class Said:
    utc: str
    """``2027-03-22 04:00``"""
    day: str
    """The local weekday, ``Mon``."""
    local: str
    """The local time, ``09:30``."""
    zone: str
    where: str
    """``DM ravi``, ``#ml-team`` or ``#ml-team ↳ thread``."""
    speaker: str
    body: str = ""

    @property
    def hour(self) -> int:
        return int(self.local[:2])


def parse(out: str) -> list[Said]:
    said: list[Said] = []
    for raw in out.splitlines():
        head = _HEAD.match(raw)
        if head:
            said.append(Said(head["utc"], head["day"], head["local"], head["zone"], head["where"], head["speaker"]))
        elif raw.startswith("    ") and said:
            said[-1].body += raw[4:] + "\n"
        elif said and not raw.startswith("    "):
            said.append(Said("", "", "", "", "", ""))  # anything else ends the previous message's body
    return [s for s in said if s.where]


def after_echo(out: str, typed: str) -> str:
    """The transcript from the echo of the first script line equal to ``typed`` on."""
    for i, line in enumerate(out.splitlines(keepends=True)):
        if line.startswith("» ") and line.split("> ", 1)[-1].strip() == typed:
            return "".join(out.splitlines(keepends=True)[i:])
    raise AssertionError(f"`{typed}` was never typed")
