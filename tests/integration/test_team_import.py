"""``meridian import`` validates the whole team file, every capability's section, before it writes anything."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def demo_team_without_sources() -> str:
    """The demo team file without its ``sources:``/``digests:`` (built-in demo data), so a test can add its own."""
    kept: list[str] = []
    skipping = False
    for line in (ROOT / "examples" / "team.yaml").read_text().splitlines(keepends=True):
        if not line.startswith((" ", "#")):
            skipping = line.startswith(("sources:", "digests:"))
        if not skipping:
            kept.append(line)
    while kept and kept[-1].startswith("#"):  # the comment that introduced the dropped sections
        kept.pop()
    return "".join(kept)


DEMO = demo_team_without_sources()
GOOD = DEMO + """\
sources:
  tracking: [{kind: mlflow, uri: "http://127.0.0.1:5000", experiments: ["churn-*"], metric: val_auc, goal: max}]
digests:
  - {kind: experiments, channel: "#ml-team", at: "08:00 Europe/London", days: [mon, tue, wed, thu, fri]}
"""


def meridian(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "Microsoft", "MERIDIAN_TEAMS"))}
    env.update({"PYTHONPATH": str(ROOT), "DATABASE_URL": f"sqlite:///{tmp / 'meridian.db'}"})
    return subprocess.run([sys.executable, "-m", "bot", *args], capture_output=True, text=True, cwd=tmp, env=env,
                          timeout=120)


def changed_everywhere(text: str) -> str:
    """The good file with a change in every section the core writes first: if any of it lands, export shows it."""
    return (text.replace("{id: ravi, name: Ravi, tz: Asia/Kolkata,", "{id: ravi, name: Ravi, tz: Asia/Tokyo, admin: true,")
            .replace('remind_at: "09:30"', 'remind_at: "10:15"')
            .replace("R: [ravi], A: alice", "R: [ravi], A: ravi")
            .replace("every: 2w", "every: 1w"))


@pytest.mark.parametrize("bad", [
    'sources:\n  tracking: [{kind: mlflow, uri: "ftp://nowhere", experiments: ["churn-*"], metric: val_auc}]\n',
    "sources:\n  tracking: [{kind: mflow, uri: \"http://127.0.0.1:5000\"}]\n",
    "digests:\n  - {kind: experiments, channel: \"#ml-team\", at: \"25:00 Europe/London\"}\n",
])
def test_a_bad_section_after_a_good_import_changes_nothing(tmp_path: Path, bad: str) -> None:
    (tmp_path / "good.yaml").write_text(GOOD)
    assert meridian(tmp_path, "import", "good.yaml").returncode == 0
    before = meridian(tmp_path, "export")
    assert before.returncode == 0 and "ravi" in before.stdout

    base = changed_everywhere(DEMO)
    section = base.count("\n") + 1  # the bad section's key; its entry is on the next line
    (tmp_path / "bad.yaml").write_text(base + bad)
    result = meridian(tmp_path, "import", "bad.yaml")

    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith((f"meridian: bad.yaml:{section}:", f"meridian: bad.yaml:{section + 1}:")), lines[0]
    assert "Traceback" not in result.stderr
    after = meridian(tmp_path, "export")
    assert after.stdout == before.stdout


def test_a_digests_section_without_sources_is_refused(tmp_path: Path) -> None:
    text = DEMO + (
        'digests:\n  - {kind: experiments, channel: "#ml-team", at: "08:00 Europe/London"}\n')
    (tmp_path / "team.yaml").write_text(text)
    result = meridian(tmp_path, "import", "team.yaml")
    assert result.returncode == 2
    section = DEMO.count("\n") + 1  # the digests key; its entry is on the next line
    assert result.stderr.startswith((f"meridian: team.yaml:{section}:", f"meridian: team.yaml:{section + 1}:")), \
        result.stderr
    assert "sources" in result.stderr
    assert meridian(tmp_path, "export").returncode == 2, "nothing was imported"
