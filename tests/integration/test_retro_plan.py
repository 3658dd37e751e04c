"""One meeting, one time: every view of a retro's slots reads the one stored plan.

Through the entry points people use: ``meridian rotation plan``, ``meridian schedule preview``
and ``/retro schedule``, the reminders and the thread in ``meridian console``.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from tests.integration.test_console_cli import DEMO, meridian
from tests.integration.test_retro_console import Line, parse_transcript

MARCH_15 = "2027-03-15"


def console(team: Path, start: str, script: str) -> list[Line]:
    done = meridian("console", "--team", str(team), "--start", start, "--strict", stdin=script)
    assert done.returncode == 0, done.stderr
    return parse_transcript(done.stdout)


def rotation_slot(team: Path, day: str) -> str:
    done = meridian("rotation", "plan", "--team", str(team), "--retro", "sprint-retro", "--occurrences", "8", "--json")
    assert done.returncode == 0, done.stderr
    return next(o["start_utc"] for o in json.loads(done.stdout)["occurrences"] if o["start_utc"].startswith(day))


def preview(team: Path, start: str, days: int) -> list[dict[str, str]]:
    done = meridian("schedule", "preview", "--team", str(team), "--from", start, "--days", str(days), "--json")
    assert done.returncode == 0, done.stderr
    rows: list[dict[str, str]] = json.loads(done.stdout)
    return rows


def preview_slot(rows: list[dict[str, str]], day: str) -> str:
    """The meeting's start as the preview shows it: its close, less the 60-minute duration."""
    close = next(r["utc"] for r in rows if r["kind"] == "retro-close" and r["utc"].startswith(day))
    start = datetime.fromisoformat(close.replace("Z", "+00:00")) - timedelta(minutes=60)
    return start.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_rotation_plan_previews_and_the_console_give_the_same_slot_for_the_same_team() -> None:
    planned = rotation_slot(DEMO, MARCH_15)
    from_january = preview(DEMO, "2027-01-01", 120)
    from_march = preview(DEMO, MARCH_15, 2)
    assert preview_slot(from_january, MARCH_15) == planned
    assert preview_slot(from_march, MARCH_15) == planned
    start = datetime.fromisoformat(planned.replace("Z", "+00:00"))
    ist = start.astimezone(ZoneInfo("Asia/Kolkata")).strftime("%a %-d %b %H:%M")  # 21:00Z is the next day there
    lines = console(DEMO, "2027-03-10T00:00Z", f":as ravi\n/retro schedule\n:at {(start - timedelta(hours=1)):%Y-%m-%dT%H:%MZ}\n")
    schedule = next(line.body for line in lines if "next 6 slots" in line.body)
    assert f"{ist} IST" in schedule.splitlines()[1]
    thread = next(line.body for line in lines if line.body.startswith("🔁 sprint-retro — Mon 15 Mar 2027"))
    assert f"Meeting: Mon 15 Mar {start:%H:%M} UTC" in thread
    reminder = next(line.body for line in lines if line.where == "DM ravi"
                    and re.match(r"🔁 sprint-retro (in 24 hours|tomorrow at|on \w+ at)", line.body))
    assert f"{ist} IST" in reminder


def test_a_preview_covers_its_whole_window() -> None:
    closes = [r["utc"][:10] for r in preview(DEMO, "2027-01-01", 120) if r["kind"] == "retro-close"]
    fortnights = [(datetime(2027, 1, 4) + timedelta(weeks=2 * i)).date().isoformat() for i in range(9)]
    assert closes == fortnights  # 4 Jan … 26 Apr: every occurrence in the 120 days, not the first six


def test_a_slot_shown_once_does_not_move_when_time_passes() -> None:
    # read in San Francisco, where the 15 March meeting is on the 15th (in Bengaluru it is the 16th)
    lines = console(DEMO, "2027-02-26T00:00Z", ":as alice\n/retro schedule\n:at 2027-03-03T00:00Z\n/retro schedule\n"
                                                 ":at 2027-03-11T00:00Z\n/retro open\n/retro schedule\n")
    shown = [line.body.splitlines() for line in lines if "next 6 slots" in line.body]
    before = next(s for s in shown[0][1:7] if "15 Mar" in s)
    after = next(s for s in shown[1][1:7] if "15 Mar" in s)
    assert after.split("(")[0] == before.split("(")[0]  # same time, Wednesday and later
    opened = next(s for s in shown[2][1:7] if "15 Mar" in s)
    assert opened.split("(")[0] == before.split("(")[0] and "fixed" in opened
    assert not any("coming slots planned again" in line.body or "time changed" in line.body for line in lines)


NIGHT_CAPPED = DEMO.read_text().replace("starts: \"2027-01-04\", members: all}",
                                        "starts: \"2027-01-04\", members: all, night_cap: 2}")


def test_a_change_of_hours_is_announced_to_the_channel_and_to_each_person_whose_time_changed(tmp_path: Path) -> None:
    team = tmp_path / "team.yaml"
    team.write_text(NIGHT_CAPPED)
    assert "night_cap: 2" in NIGHT_CAPPED
    lines = console(team, "2027-03-10T00:00Z", ":as ravi\n/retro schedule\n:as kenji\n/meridian hours 06:00-14:00\n"
                                               ":advance 1m\n:as ravi\n/retro schedule\n:advance 6d\n")
    notice = [line for line in lines if "coming slots planned again" in line.body]
    assert len(notice) == 1 and notice[0].where == "#ml-team"
    assert "Because Kenji's hours changed." in notice[0].body
    assert "Everyone stays within the night cap of 2 per block of 6 retros." in notice[0].body
    moved = [s for s in notice[0].body.splitlines() if " → " in s]
    assert moved
    # each person is told in their DM at the start of their working hours (quiet hours hold the news; Noor,
    # on the Eid al-Fitr holidays in Dubai and then her weekend, hears on Monday)
    dms = {line.where for line in lines if "your retro time changed" in line.body}
    assert dms == {f"DM {m}" for m in ("alice", "tomas", "marta", "noor", "ravi", "kenji")}
    kenji = next(line.body for line in lines if line.where == "DM kenji" and "your retro time changed" in line.body)
    assert "because your hours changed" in kenji
    after = [line.body for line in lines if "next 6 slots" in line.body][1]
    nights: dict[str, int] = {}
    for slot in after.splitlines()[2:7]:  # 29 Mar … 24 May: one block of six, its sixth beyond the view
        for who in re.findall(r"night for ([^)·]*)", slot)[0].strip().split(", ") if "night for" in slot else []:
            nights[who] = nights.get(who, 0) + 1
    assert nights and max(nights.values()) <= 2


def test_a_zone_change_that_moves_no_slot_is_a_dm_to_that_person_only(tmp_path: Path) -> None:
    team = tmp_path / "team.yaml"
    team.write_text(DEMO.read_text().replace("members: all}", "members: all, candidates: [\"14:00\"]}"))
    lines = console(team, "2027-03-10T00:00Z", ":as ravi\n/retro schedule\n/meridian tz Asia/Dubai\n:advance 2d\n")
    told = [line for line in lines if "retro time changed" in line.body or "coming slots planned again" in line.body]
    assert [line.where for line in told] == ["DM ravi"]
    assert "Mon 15 Mar 19:30 IST → Mon 15 Mar 18:00 +04" in told[0].body


def test_the_thread_opens_its_lead_time_before_the_meeting(tmp_path: Path) -> None:
    team = tmp_path / "team.yaml"
    team.write_text(DEMO.read_text().replace("members: all}", "members: all, candidates: [\"14:00\"], "
                                                              "thread_lead: 24h}"))
    lines = console(team, "2027-03-12T00:00Z", ":at 2027-03-15T16:00Z\n")
    thread = next(line for line in lines if line.body.startswith("🔁 sprint-retro — Mon 15 Mar 2027"))
    assert thread.stamp.startswith("2027-03-14 14:00Z")


def test_a_thread_whose_lead_time_passed_before_the_bot_started_opens_at_once() -> None:
    lines = console(DEMO, "2027-03-15T00:00Z", ":advance 1h\n")
    thread = next(line for line in lines if line.body.startswith("🔁 sprint-retro — Mon 15 Mar 2027"))
    assert thread.stamp.startswith("2027-03-15 00:00Z")  # not at the meeting's end


def test_the_team_file_refuses_a_lead_time_given_twice_or_empty(tmp_path: Path) -> None:
    team = tmp_path / "team.yaml"
    team.write_text(DEMO.read_text().replace("members: all}", "members: all, thread_lead: 0m, open_before: 48h}"))
    done = meridian("rotation", "plan", "--team", str(team), "--retro", "sprint-retro")
    assert done.returncode == 2
    assert "give thread_lead or its older spelling open_before, not both" in done.stderr
    assert "thread_lead must be between 1m and 4w, like 48h or 2d" in done.stderr


def test_schedule_preview_prints_aligned_columns_under_a_header() -> None:
    done = meridian("schedule", "preview", "--team", str(DEMO), "--from", MARCH_15, "--days", "1")
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["UTC", "WHAT", "NAME", "WHO", "LOCAL", "TIME"]
    local = lines[0].index("LOCAL TIME")
    assert all(line[local - 2:local] == "  " and line[local] != " " for line in lines[1:])
