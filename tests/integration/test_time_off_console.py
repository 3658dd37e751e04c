"""Public holidays and out of office through the console and the ``meridian`` command: the demo team on New
Year's Day, ``/meridian ooo`` with natural ranges and mistakes, ``/meridian me``, a nudge that is not sent once
someone marks the day off, the day's report naming why people were away, ``schedule preview`` and export."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import yaml

from tests.scenarios.transcript import ROOT, after_echo, meridian, parse


def test_the_demo_team_is_not_reminded_on_new_years_day_where_it_is_a_holiday() -> None:
    done = meridian("console", "--start", "2026-12-31T10:00Z", "--strict", stdin=":advance 40h\n")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr
    reminded = sorted(s.where for s in parse(done.stdout)
                      if s.where.startswith("DM ") and "Stand-up: ml-daily — Fri 1 Jan 2027" in s.body)
    assert reminded == ["DM ravi"]  # India keeps 1 January as a workday; the other five are off or away


def test_ooo_reads_natural_ranges_joins_overlaps_and_refuses_mistakes_in_one_line() -> None:
    script = (":as kenji\n"
              "/meridian ooo 2027-04-01..04-05\n"
              "/meridian ooo 2027-04-03..2027-04-09\n"
              "/meridian ooo until friday\n"
              "/meridian ooo remove 2027-04-08\n"
              "/meridian ooo 2027-04-09..2027-04-01\n"       # ends before it starts
              "/meridian ooo 2027-04-01..2028-04-05\n"       # a mistyped year
              "/meridian ooo nxt wek\n"                       # a typo
              "/meridian ooo remove 2027-09-01\n"
              "/meridian me\n")
    done = meridian("console", "--start", "2027-03-21T22:00Z", stdin=script)
    out = done.stdout
    assert "Out of office 2027-04-01..2027-04-05 (Thu 1 Apr to Mon 5 Apr): no reminders on those days." in out
    assert ("It overlaps or touches 2027-04-01..2027-04-05 (Thu 1 Apr to Mon 5 Apr) you had, so they are joined: "
            "out of office 2027-04-01..2027-04-09 (Thu 1 Apr to Fri 9 Apr).") in out
    assert "Out of office 2027-03-22..2027-03-26 (Mon 22 Mar to Fri 26 Mar)" in out  # Kenji's Monday already
    assert ("Taken back: 2027-04-08 (Thu 8 Apr). Out of office now: 2027-03-22..2027-03-26 (Mon 22 Mar to "
            "Fri 26 Mar); 2027-04-01..2027-04-07 (Thu 1 Apr to Wed 7 Apr); 2027-04-09 (Fri 9 Apr).") in out
    assert '"2027-04-09..2027-04-01" ends before it starts (2027-04-01 is before 2027-04-09)' in out
    assert ('"2027-04-01..2028-04-05" is 371 days long (2027-04-01..2028-04-05); out of office is at most a year '
            "(366 days) — check the years.") in out
    assert 'I can\'t read "nxt wek" as a date — try "next week" or 2027-03-29.' in out
    assert "You are not out of office on any day of 2027-09-01 (Wed 1 Sep)" in out
    me = after_echo(out, "/meridian me")
    assert "Public holidays: Australia, New South Wales (AU-NSW); next: Fri 26 Mar (Good Friday) · Sat 27 Mar (Easter Saturday)" in me
    assert "Today you are away (out of office until Fri 26 Mar): no stand-up reminders." in me
    assert "Traceback" not in out + done.stderr


def test_marking_the_day_off_after_the_reminder_stops_the_nudge() -> None:
    script = (":advance 90m\n"          # Ravi's 09:30 (04:00Z) reminder goes out
              ":as ravi\n/meridian ooo today\n"
              ":advance 4h\n")          # past his nudge (06:00Z) and Noor's (07:30Z)
    done = meridian("console", "--start", "2027-03-15T03:00Z", "--strict", stdin=script)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr
    said = parse(done.stdout)
    assert [s.utc for s in said if s.where == "DM ravi" and "Stand-up: ml-daily" in s.body] == ["2027-03-15 04:00"]
    assert not [s for s in said if s.where == "DM ravi" and "Still open" in s.body]
    assert [s.utc for s in said if s.where == "DM noor" and "Still open" in s.body] == ["2027-03-15 07:30"]


def test_the_days_report_says_why_each_person_was_away_and_stats_leave_the_day_out() -> None:
    done = meridian("console", "--start", "2027-01-24T20:00Z", "--strict",
                    stdin=":advance 54h\n/standup report 2027-01-26\n/standup stats\n")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr
    report = after_echo(done.stdout, "/standup report 2027-01-26")
    assert "Away (2): Kenji (holiday: Australia Day), Ravi (holiday: Republic Day)" in report
    assert "0/4 answered (Kenji, Ravi away)" in done.stdout
    stats = after_echo(done.stdout, "/standup stats")
    assert "Kenji: 0/1 days answered (0%) · not counted: 1 away" in stats  # Monday missed, Australia Day not
    assert "Ravi: 0/1 days answered (0%) · not counted: 1 away" in stats
    assert "Marta: 0/2 days answered (0%)" in stats


def test_schedule_preview_marks_holidays_and_out_of_office_days_with_the_reason() -> None:
    result = meridian("schedule", "preview", "--team", str(ROOT / "examples" / "team.yaml"), "--from", "2026-12-31",
                      "--days", "2", "--json")
    assert result.returncode == 0, result.stderr
    away = {(r["member"], r["local"][:10]): r["name"] for r in json.loads(result.stdout) if r["kind"] == "away"}
    assert away == {("noor", "2026-12-31"): "out of office until Sat 2 Jan 2027",
                    ("noor", "2027-01-01"): "out of office until Sat 2 Jan",
                    ("kenji", "2027-01-01"): "holiday: New Year's Day",
                    ("marta", "2027-01-01"): "holiday: New Year's Day",
                    ("tomas", "2027-01-01"): "holiday: Universal Fraternization Day",
                    ("alice", "2027-01-01"): "holiday: New Year's Day"}
    text = meridian("schedule", "preview", "--team", str(ROOT / "examples" / "team.yaml"), "--from", "2026-12-31",
                    "--days", "2").stdout
    assert re.search(r"2027-01-01T17:00:00Z +away +holiday: New Year.s Day +alice +2027-01-01T09:00:00-08:00", text)


TEAM = """workspace: w
holidays: {country: GB, subdivision: ENG, extra: [2027-12-24, {date: 2027-12-31, name: Company day}],
           removals: [2027-08-30]}
members:
  - {id: ravi, tz: Asia/Kolkata, holidays: IN-KA}
  - {id: sam, tz: Europe/London}
  - {id: ana, tz: Europe/Lisbon, holidays: none}
  - {id: kim, tz: Europe/London, holidays: {subdivision: SCT, removals: [2027-11-30]}}
"""


def test_holidays_round_trip_through_import_and_export(tmp_path: Path) -> None:
    team = tmp_path / "team.yaml"
    team.write_text(TEAM)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": f"sqlite:///{tmp_path / 'm.db'}"}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "bot", *args], capture_output=True, text=True, cwd=tmp_path,
                              env=env, timeout=300)

    assert run("import", str(team)).returncode == 0
    exported = yaml.safe_load(run("export").stdout)
    assert exported["holidays"] == {"country": "GB", "subdivision": "ENG",
                                    "extra": ["2027-12-24", {"date": "2027-12-31", "name": "Company day"}],
                                    "removals": ["2027-08-30"]}
    own = {m["id"]: m.get("holidays") for m in exported["members"]}
    assert own == {"ravi": {"country": "IN", "subdivision": "KA"}, "sam": None, "ana": {"country": "none"},
                   "kim": {"country": "GB", "subdivision": "SCT", "removals": ["2027-11-30"]}}
    again = tmp_path / "again.yaml"
    again.write_text(yaml.safe_dump(exported))
    assert run("import", str(again)).returncode == 0
    assert yaml.safe_load(run("export").stdout) == exported
