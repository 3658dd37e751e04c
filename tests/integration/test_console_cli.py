"""The console as a newcomer meets it: ``meridian console`` reading a script, and the other CLI commands."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "examples" / "team.yaml"


def meridian(*args: str, stdin: str = "", env: dict[str, str] | None = None,
             cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", *args], input=stdin, capture_output=True, text=True,
                          cwd=cwd or ROOT, env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}, timeout=120)


STANDUP_DAY = """
# Monday 15 March 2027, starting just before Sydney's 09:30
:advance 30m
:as kenji
:dm
Finished the eval harness
Write the drift report
none
:advance 6h
:as ravi
:dm
Retrained churn v7
Compare v7 with champion
Blocked on GPU quota <!channel> & <@U123>
:at 2027-03-15T12:00Z
:as noor
/standup skip today
:at 2027-03-15T16:35Z
:as alice
:press Answer
Reviewed the feature store PR
Plan the sprint
none
:at 2027-03-16T00:05Z
:channel #ml-team
/standup report 2027-03-15
"""


def test_scripted_console_stand_up_day_from_reminders_to_summary() -> None:
    result = meridian("console", "--start", "2027-03-14T22:00Z", "--strict", stdin=STANDUP_DAY)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    # each person is reminded at 09:30 on their own clock, shown in UTC and in their zone
    assert "[2027-03-14 22:30Z · Mon 09:30 AEDT] DM kenji | Meridian:" in out
    assert "[2027-03-15 04:00Z · Mon 09:30 IST] DM ravi | Meridian:" in out
    assert "[2027-03-15 16:30Z · Mon 09:30 PDT] DM alice | Meridian:" in out
    # answers arrive in the day's thread; user text is shown literally and pings nobody
    assert "#ml-team ↳ thread | Meridian:\n    @Kenji" in out
    assert "Blocked on GPU quota <!channel> & <@U123>" in out
    # the summary at the last cut-off (Alice's 17:00 PDT = 00:00Z) lists everyone
    summary = out[out.index("🧾 ml-daily summary — Mon 15 Mar 2027"):]
    assert "Answered (3): Alice, Kenji, Ravi" in summary.splitlines()[1]
    assert "Skipped (1): Noor" in summary
    assert "Not answered (2): Marta, Tomás" in summary
    assert "🚧 Blockers (1)" in summary and "Ravi: Blocked on GPU quota" in summary
    assert result.stderr == ""


def test_console_mistakes_get_clear_answers_and_no_trace() -> None:
    script = "/standup frobnicate\n/meridian tz Mars/Olympus\n/meridian ooo 2027-01-02..2026-12-24\n" \
             ":as nobody\n:advance soon\n/nosuch\n/standup skip until tomorrowish\n"
    result = meridian("console", "--start", "2027-03-15T00:00Z", stdin=script)
    assert result.returncode == 0
    out = result.stdout
    assert "Unknown sub-command `frobnicate` for /standup." in out
    assert "`Mars/Olympus` is not a known time zone." in out
    assert "ends before it starts" in out
    assert "! no member `nobody`" in out
    assert "! `soon` is not a duration" in out
    assert "Unknown command /nosuch." in out
    assert "I can't read \"tomorrowish\" as a date — try \"tomorrow\"" in out
    assert "Traceback" not in out + result.stderr


def test_every_command_answers_help() -> None:
    result = meridian("console", "--start", "2027-03-15T00:00Z", stdin="/standup help\n/meridian help\n")
    assert "/standup skip [today|until YYYY-MM-DD]" in result.stdout
    assert "/meridian tz ZONE" in result.stdout


def test_strict_console_fails_on_a_bad_line() -> None:
    assert meridian("console", "--strict", "--start", "2027-03-15T00:00Z", stdin=":bogus\n").returncode == 1


def test_schedule_preview_json_lists_each_instant_in_utc_and_local_time() -> None:
    result = meridian("schedule", "preview", "--team", str(DEMO), "--from", "2027-03-15", "--days", "2", "--json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert rows == sorted(rows, key=lambda r: r["utc"])
    ravi = [r for r in rows if r["member"] == "ravi" and r["kind"] == "reminder"]
    assert ravi[0] == {"kind": "reminder", "name": "ml-daily", "member": "ravi", "utc": "2027-03-15T04:00:00Z",
                       "local": "2027-03-15T09:30:00+05:30"}
    summaries = [r for r in rows if r["kind"] == "summary"]
    assert summaries and all(r["member"] is None for r in summaries)
    assert {"reminder", "nudge", "summary"} <= {r["kind"] for r in rows}


def test_schedule_preview_crosses_new_yorks_spring_forward_at_0330_edt(tmp_path: Path) -> None:
    team = tmp_path / "ny.yaml"
    team.write_text("workspace: w\nmembers: [{id: ny, tz: America/New_York, workdays: [sun]}]\n"
                    "standups: [{name: night, channel: '#c', remind_at: '02:30', days: [sun], nudge_after: '0m'}]\n")
    rows = json.loads(meridian("schedule", "preview", "--team", str(team), "--from", "2027-03-13", "--days", "3",
                               "--json").stdout)
    reminders = [r for r in rows if r["kind"] == "reminder"]
    assert [(r["utc"], r["local"]) for r in reminders] == [("2027-03-14T07:30:00Z", "2027-03-14T03:30:00-04:00")]


def test_bad_team_file_is_one_clear_line_per_mistake(tmp_path: Path) -> None:
    team = tmp_path / "bad.yaml"
    team.write_text("workspace: w\nmembers:\n  - {id: a, tz: Mars/Olympus}\n")
    result = meridian("schedule", "preview", "--team", str(team))
    assert result.returncode == 2
    assert result.stderr.strip() == (f"meridian: {team}:3: Mars/Olympus is not a known time zone. "
                                     "Use a name like Europe/Berlin or Asia/Kolkata.")


def test_import_then_export_round_trips_the_team(tmp_path: Path) -> None:
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'm.db'}"}
    imported = meridian("import", str(DEMO), env=env, cwd=tmp_path)
    assert imported.returncode == 0, imported.stderr
    assert "imported acme-ml: 6 members, 1 stand-ups" in imported.stdout
    exported = meridian("export", env=env, cwd=tmp_path)
    import yaml

    data = yaml.safe_load(exported.stdout)
    assert [m["id"] for m in data["members"]] == ["alice", "kenji", "marta", "noor", "ravi", "tomas"]
    assert data["standups"][0]["remind_at"] == "09:30"


def test_bad_setting_stops_start_up_with_one_line(tmp_path: Path) -> None:
    result = meridian("db", "upgrade", env={"DATABASE_URL": "mysql://x"}, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "meridian: DATABASE_URL must start with sqlite:/// or postgresql:// (got another scheme)"]


def test_schedule_preview_includes_retro_and_digest_instants(tmp_path: Path) -> None:
    team = tmp_path / "team.yaml"
    team.write_text(
        "workspace: w\n"
        "members: [{id: ana, tz: Europe/Lisbon}, {id: raj, tz: Asia/Kolkata}]\n"
        "retros: [{name: retro, channel: '#c', every: 2w, duration: 60m, starts: '2027-03-16', members: all}]\n"
        "sources: {tracking: [{kind: mlflow, uri: 'http://127.0.0.1:5000', experiments: [x], metric: auc}]}\n"
        "digests: [{kind: experiments, channel: '#c', at: '08:00 Europe/London', days: [tue]}]\n")
    result = meridian("schedule", "preview", "--team", str(team), "--from", "2027-03-14", "--days", "3", "--json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    kinds = {r["kind"] for r in rows}
    assert {"retro-open", "retro-reminder", "retro-close", "digest"} <= kinds
    digest = next(r for r in rows if r["kind"] == "digest")
    assert (digest["name"], digest["utc"], digest["local"]) == ("experiments", "2027-03-16T08:00:00Z",
                                                                "2027-03-16T08:00:00+00:00")
    raj = [r for r in rows if r["kind"] == "retro-reminder" and r["member"] == "raj"]
    assert raj and all(r["local"].endswith("+05:30") for r in raj)
