"""`/raci` in `meridian console`, driven by a script on stdin, with the team file's raci: section."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from bot.cli import main

TEAM = """\
workspace: acme-ml
members:
  - {id: alice, name: Alice, tz: America/Los_Angeles, admin: true}
  - {id: marta, name: Marta, tz: Europe/Berlin, hours: "08:00-16:00"}
  - {id: noor, name: Noor, tz: Asia/Dubai, accounts: {slack: U04NOOR, email: noor@acme.example}}
  - {id: ravi, name: Ravi, tz: Asia/Kolkata, hours: "10:00-18:00"}
  - {id: kenji, name: Kenji, tz: Australia/Sydney}
raci:
  - {activity: churn model retraining, aliases: [churn retrain], R: [ravi], A: alice, C: [noor, marta, kenji]}
"""

SCRIPT = """\
:as ravi
/raci churn model retrainig
/raci set churn model retraining I @ravi
:as alice
/raci set feature store R @marta A @marta C noor@acme.example
/raci who-to-ask churn retrain
/raci nothing like this at all
"""


def run_console(tmp_path: Path, team: str, script: str, monkeypatch: pytest.MonkeyPatch,
                capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    path = tmp_path / "team.yaml"
    path.write_text(team, encoding="utf-8")
    monkeypatch.setattr("sys.stdin", io.StringIO(script))
    code = main(["console", "--team", str(path), "--start", "2027-03-15T13:20Z"])
    out, err = capsys.readouterr()
    return code, out, err


def test_a_raci_session_in_the_console(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_console(tmp_path, TEAM, SCRIPT, monkeypatch, capsys)
    assert code == 0
    replies = out.split("| Meridian (only ")
    lookup, refused, saved, ask, unknown = replies[1:6]
    assert "Ravi — 🌙 18:50 in Kolkata" in lookup and "@Marta — 🟢 in hours, 14:20 in Berlin" in lookup
    assert "Closest match for “churn model retrainig”." in lookup
    assert "Only workspace admins and the Accountable of “churn model retraining” may change" in refused
    assert "Saved." in saved and "Noor — 🌙 17:20 in Dubai" in saved
    assert ask.splitlines()[2].strip() == "@Marta — 🟢 in hours, 14:20 in Berlin"
    assert "Nothing is called “nothing like this at all”, and no activity has a name close to it." in unknown
    assert "Traceback" not in out


def test_a_bad_raci_section_stops_the_console_with_file_and_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    bad = TEAM.replace("A: alice,", "A: [alice, ravi],")
    code, _, err = run_console(tmp_path, bad, "", monkeypatch, capsys)
    assert code == 2
    assert "team.yaml:9: raci: Rule “exactly one Accountable”" in err
