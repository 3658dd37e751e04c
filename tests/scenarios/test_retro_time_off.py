"""Issue 13, the retro part, lived in ``meridian console`` (script mode) with the demo team's six zones.

Noor marks the 18 January retro off with ``/meridian ooo`` (after three mistakes a person makes), four of the six
mark 1 February off, and time runs on. What each person reads, and when, is asserted from the transcript.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.integration.test_console_cli import DEMO
from tests.scenarios.transcript import Said, meridian, parse

# The demo team's people and retro, without the stand-ups and digests (they have their own scenarios).
# The scenario isolates time off marked with `/meridian ooo`, so the team follows no public-holiday calendars
# (with them, Mon 18 Jan 2027 is Martin Luther King Jr. Day for Alice; holidays have their own scenarios).
_PEOPLE = re.sub(r"holidays: [\w-]+, ", "", re.sub(r", holidays: [\w-]+}", "}", DEMO.read_text().split("standups:")[0]))
TEAM = _PEOPLE + "retros:" + DEMO.read_text().split("retros:")[1].split("# Demo")[0]
assert "holidays:" not in TEAM

# Each range covers every local date a slot on that UTC date can fall on in the person's zone.
SCRIPT = """
:as noor
/meridian ooo 2027-01-20..2027-01-18
/meridian ooo nxt week
/retro skip 2027-01-18
/meridian ooo 2027-01-18..2027-01-19
/meridian ooo 2027-02-01..2027-02-02
:as ravi
/meridian ooo 2027-02-01..2027-02-02
:as kenji
/meridian ooo 2027-02-01..2027-02-02
:as tomas
/meridian ooo 2027-01-31..2027-02-01
:as alice
/retro schedule
:as noor
/retro
:at 2027-01-19T00:00Z
:at 2027-01-27T00:00Z
"""

HOURS = {"alice": (9, 17), "tomas": (9, 17), "marta": (8, 16), "noor": (9, 17), "ravi": (10, 18), "kenji": (9, 17)}
ZONES = {"alice": "America/Los_Angeles", "tomas": "America/Sao_Paulo", "marta": "Europe/Berlin",
         "noor": "Asia/Dubai", "ravi": "Asia/Kolkata", "kenji": "Australia/Sydney"}


@pytest.fixture(scope="module")
def transcript(tmp_path_factory: pytest.TempPathFactory) -> list[Said]:
    team = tmp_path_factory.mktemp("time-off") / "team.yaml"
    team.write_text(TEAM)
    done = meridian("console", "--team", str(team), "--start", "2027-01-10T00:00Z", "--strict", stdin=SCRIPT)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "Traceback" not in done.stdout + done.stderr
    return parse(done.stdout)


def retro_dms(said: list[Said], who: str, day: str) -> list[Said]:
    """The reminders a person got for the occurrence of that UTC date (each carries its calendar file)."""
    return [s for s in said if s.where == f"DM {who}" and f"sprint-retro-{day}.ics" in s.body]


def test_three_mistakes_get_one_line_each_and_change_nothing(transcript: list[Said]) -> None:
    mine = [s.body.splitlines()[0] for s in transcript if s.speaker == "Meridian (only Noor sees this)"]
    assert mine[0].startswith('"2027-01-20..2027-01-18" ends before it starts')
    assert mine[1] == 'I can\'t read "nxt week" as a date — try "next week" or 2027-01-11.'
    assert mine[2] == "Only workspace admins or this round's facilitator (Kenji) can skip a meeting of sprint-retro."
    assert mine[3] == "Out of office 2027-01-18..2027-01-19 (Mon 18 Jan to Tue 19 Jan): no reminders on those days."


def test_noor_away_for_the_18_january_retro_gets_no_reminder_for_it_and_the_others_do(
        transcript: list[Said]) -> None:
    assert retro_dms(transcript, "noor", "2027-01-18") == []
    for who in ("alice", "tomas", "marta", "ravi", "kenji"):
        got = retro_dms(transcript, who, "2027-01-18")
        soon = [s for s in got if s.body.startswith("🔁 sprint-retro in 15 minutes")]
        assert len(got) == 2 and len(soon) == 1, who  # the day-ahead notice and the 15-minute reminder


def test_the_day_ahead_notice_reaches_each_person_in_their_working_hours_on_a_workday(
        transcript: list[Said]) -> None:
    for who, (first, last) in HOURS.items():
        for s in retro_dms(transcript, who, "2027-01-18"):
            if s.body.startswith("🔁 sprint-retro in 15 minutes"):
                continue
            assert s.day not in ("Sat", "Sun") and first <= s.hour < last, (who, s.day, s.local)


def test_the_schedule_names_who_is_away_for_each_slot(transcript: list[Said]) -> None:
    schedule = next(s.body for s in transcript if "next 6 slots" in s.body).splitlines()
    assert "away: kenji, noor, ravi, tomas" in next(line for line in schedule if "Mon 1 Feb" in line)
    assert "away: noor" in next(line for line in schedule if "Mon 18 Jan" in line)


def test_noor_is_told_she_is_away_for_the_next_retro(transcript: list[Said]) -> None:
    status = next(s.body for s in transcript if s.speaker == "Meridian (only Noor sees this)"
                  and "is not open. Next:" in s.body)
    assert "You are away that day: no reminders for it, and no burden." in status


def test_the_admin_hears_7_days_before_that_4_of_6_are_away_with_a_suggestion(transcript: list[Said]) -> None:
    notes = [s for s in transcript if "members are away" in s.body]
    assert [s.where for s in notes] == ["DM alice"]  # the only admin, once
    (note,) = notes
    assert "⚠️ sprint-retro: 4 of 6 members are away" in note.body
    # Each with the kernel's reason for the slot's local day: Noor and Ravi are back after it, the others'
    # time off ends that day.
    assert ("Away: Kenji (out of office), Noor (out of office until Tue 2 Feb), "
            "Ravi (out of office until Tue 2 Feb), Tomás (out of office).") in note.body
    assert "Suggestion: skip this one, or hold it on" in note.body and "of 6 can come" in note.body
    # sent 7 days before the meeting it names (in Alice's time)
    named = note.body.split("meeting on ")[1].split(" PST")[0]  # e.g. "Mon 1 Feb 09:00"
    meeting = datetime.strptime(f"2027 {named}", "%Y %a %d %b %H:%M").replace(tzinfo=ZoneInfo(ZONES["alice"]))
    assert datetime.strptime(note.utc, "%Y-%m-%d %H:%M").replace(tzinfo=UTC) == meeting - timedelta(days=7)
