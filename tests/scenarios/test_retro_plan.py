"""A retro cycle lived in the console: the plan is shown, an hours change re-plans it, and every
later view (the DMs, the thread, the reminders, the summary) keeps to the announced slot.

The demo team (six people, six zones) with a night cap of 2, from Wednesday 10 March 2027.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest

from tests.integration.test_console_cli import DEMO, meridian
from tests.integration.test_retro_console import Line, parse_transcript

SCRIPT = """
# Wednesday: Ravi looks at the coming retro
:as ravi
/retro schedule
# Kenji moves his working hours earlier, mistyping them first
:as kenji
/meridian hours 6am-2pm
/meridian hours 06:00-14:00
:advance 1m
:as ravi
/retro schedule
# Friday: nothing about the team changed, so nothing moves
:at 2027-03-12T12:00Z
/retro schedule
# the thread opens its lead time before the slot; Marta adds an item
:at 2027-03-13T20:00Z
:as marta
:channel #ml-team
:thread
well: the new eval harness
:at 2027-03-15T23:00Z
"""


@pytest.fixture(scope="module")
def transcript(tmp_path_factory: pytest.TempPathFactory) -> list[Line]:
    team = tmp_path_factory.mktemp("retro-plan") / "team.yaml"
    team.write_text(DEMO.read_text().replace("members: all}", "members: all, night_cap: 2}"))
    done = meridian("console", "--team", str(team), "--start", "2027-03-10T00:00Z", "--strict", stdin=SCRIPT)
    assert done.returncode == 0, done.stderr
    return parse_transcript(done.stdout)


def _schedules(lines: list[Line]) -> list[str]:
    """Ravi's slot for the 15 March (UTC) meeting in each `/retro schedule` reply, e.g. `Tue 16 Mar 00:30 IST`
    (the evening in Europe and the Americas is past midnight in Bengaluru)."""
    return [slot for line in lines if "next 6 slots" in line.body
            for slot in re.findall(r"(?:Mon 15|Tue 16) Mar \d\d:\d\d IST", line.body)[:1]]


def _stamp(line: Line) -> datetime:
    return datetime.strptime(line.stamp.split(" · ")[0], "%Y-%m-%d %H:%MZ")


def test_the_hours_change_is_announced_once_and_the_new_slot_holds_everywhere(transcript: list[Line]) -> None:
    before, after, friday = _schedules(transcript)
    assert after == friday  # planned once, it does not move as the days pass
    notices = [line for line in transcript if "coming slots planned again" in line.body]
    assert len(notices) == 1 and notices[0].where == "#ml-team"
    assert "Because Kenji's hours changed." in notices[0].body
    assert "Everyone stays within the night cap of 2 per block of 6 retros." in notices[0].body
    ravi = next(line.body for line in transcript if line.where == "DM ravi" and "retro time changed" in line.body)
    assert f"{before} → {after}" in ravi
    told = {line.where for line in transcript if "your retro time changed" in line.body}
    assert told == {"DM alice", "DM tomas", "DM marta", "DM noor", "DM ravi", "DM kenji"}


def test_the_mistyped_hours_change_nothing(transcript: list[Line]) -> None:
    refused = next(line for line in transcript if "Usage: /meridian hours HH:MM-HH:MM" in line.body)
    assert refused.where.startswith("#ml-team") and "only Kenji sees this" in refused.speaker


def test_the_thread_reminders_and_summary_keep_to_the_announced_slot(transcript: list[Line]) -> None:
    after = _schedules(transcript)[1]
    slot = datetime.strptime(f"2027 {after[:-4]}", "%Y %a %d %b %H:%M") - timedelta(hours=5, minutes=30)
    thread = next(line for line in transcript if line.body.startswith("🔁 sprint-retro — Mon 15 Mar 2027"))
    assert _stamp(thread) == slot - timedelta(hours=48)
    assert f"Meeting: Mon 15 Mar {slot:%H:%M} UTC" in thread.body
    reminders = [line for line in transcript if line.where == "DM ravi" and "sprint-retro-2027-03-15.ics" in line.body]
    # 24 hours before is Ravi's night: the day-ahead notice came in the last hour of his working day before the
    # meeting (Monday 17:00 IST), the 15 minutes at their time.
    monday = datetime(2027, 3, 15, 11, 30)
    assert [_stamp(line) for line in reminders] == [monday, slot - timedelta(minutes=15)]
    assert all(after in line.body for line in reminders)
    summary = [line for line in transcript if line.body.startswith("🧾 sprint-retro summary — Mon 15 Mar 2027")]
    assert summary and all(_stamp(line) == slot + timedelta(hours=1) for line in summary)
    assert "the new eval harness" in summary[0].body
