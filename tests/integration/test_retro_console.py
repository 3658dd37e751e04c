"""A whole retro typed into ``meridian console``, as a person (or a script) would."""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

TEAM = """
workspace: acme
members:
  - {id: alice, name: Alice, tz: America/Los_Angeles, admin: true}
  - {id: marta, name: Marta, tz: Europe/Berlin}
  - {id: ravi, name: Ravi, tz: Asia/Kolkata}
retros:
  - {name: sprint-retro, channel: "#ml-team", every: 2w, duration: 60m, starts: 2027-01-04, members: all,
     candidates: ["14:00"], max_votes: 2}
"""

SCRIPT = """
:as marta
/retro schedule
:at 2027-01-02T15:00Z
:channel #ml-team
:thread
🟢 the new eval harness saved hours
improve: flaky CI on the training repo
+1
I think the data loader needs a rewrite soon
:press 💡 Ideas
:as alice
:dm
anon: improve: reviews wait too long for the Berlin side
:at 2027-01-02T16:00Z
:as ravi
:channel #ml-team
/retro vote 4
/retro vote 4
/retro vote 1
/retro vote 2
:as marta
:channel #ml-team
:thread
action: @ravi fix the flaky CI test by 2027-01-20
/retro close
:as alice
/retro close
/retro close confirm
:as marta
/retro actions
:at 2027-01-20T00:00Z
"""


@dataclass
class Line:
    stamp: str
    where: str
    speaker: str
    body: str


def parse_transcript(out: str) -> list[Line]:
    lines: list[Line] = []
    for raw in out.splitlines():
        head = re.match(r"^\[(?P<stamp>[^\]]+)\] (?P<where>.+?) \| (?P<speaker>[^:]+):$", raw)
        if head:
            lines.append(Line(head["stamp"], head["where"], head["speaker"], ""))
        elif raw.startswith("    ") and lines:
            lines[-1].body += raw[4:] + "\n"
    return lines


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Line], str]:
    team = tmp_path_factory.mktemp("retro") / "team.yaml"
    team.write_text(TEAM)
    done = subprocess.run([sys.executable, "-m", "bot", "console", "--team", str(team), "--start",
                           "2027-01-01T00:00Z", "--strict"], input=SCRIPT, capture_output=True, text=True, cwd=ROOT,
                          timeout=120)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return parse_transcript(done.stdout), done.stderr


def said(lines: list[Line], where: str, text: str) -> list[Line]:
    return [ln for ln in lines if ln.where == where and ln.speaker.startswith("Meridian") and text in ln.body]


def test_schedule_shows_each_slot_in_the_readers_time_with_the_burden_table(session: tuple[list[Line], str]) -> None:
    lines, _ = session
    schedule = next(ln for ln in lines if "next 6 slots" in ln.body)
    assert "Mon 4 Jan 15:00 CET" in schedule.body  # 14:00 UTC, in Marta's Berlin time
    assert re.search(r"Ravi: burden [\d.]+ · early 0 · late 6 · night 0", schedule.body)
    assert "[file: sprint-retro-plan.ics" in schedule.body


def test_thread_opens_48h_before_with_the_prompts(session: tuple[list[Line], str]) -> None:
    lines, _ = session
    parent = said(lines, "#ml-team", "🔁 sprint-retro — Mon 4 Jan 2027")[0]
    assert parent.stamp.startswith("2027-01-02 14:00Z")
    for prompt in ("🟢 Went well", "🔴 To improve", "💡 Ideas", "🙌 Kudos"):
        assert prompt in parent.body


def test_everyone_is_reminded_in_their_own_time_with_a_calendar_file(session: tuple[list[Line], str]) -> None:
    lines, _ = session
    # 24 hours before is Ravi's Sunday evening: the day-ahead notice comes in his last working hour, on Friday.
    ravi = said(lines, "DM ravi", "sprint-retro on Monday at 19:30")
    assert [r.stamp for r in ravi] == ["2027-01-01 10:30Z · Fri 16:00 IST", "2027-01-15 10:30Z · Fri 16:00 IST"]
    assert "Mon 18 Jan 19:30 IST" in ravi[1].body and "sprint-retro-2027-01-18.ics" in ravi[1].body
    assert not said(lines, "DM ravi", "sprint-retro in 24 hours")
    # The first round was closed early; its meeting stayed on, so its reminders went out too.
    soon = said(lines, "DM ravi", "sprint-retro in 15 minutes")
    assert "Items and votes were closed early" in soon[0].body
    alice = said(lines, "DM alice", "sprint-retro in 15 minutes")
    assert len(alice) == 2 and "Mon 18 Jan 06:00 PST" in alice[1].body


def test_chatter_is_left_alone_and_longer_replies_are_asked_about(session: tuple[list[Line], str]) -> None:
    lines, _ = session
    asked = said(lines, "DM marta", "Add this to sprint-retro as an item?")
    assert len(asked) == 1 and "data loader" in asked[0].body  # "+1" got no question
    # the button was pressed in Marta's DM, so its answer is there too
    assert said(lines, "DM marta", "Added as #3 💡 Ideas")


def test_anonymous_item_is_posted_without_its_author(session: tuple[list[Line], str]) -> None:
    lines, stderr = session
    posted = [ln for ln in lines if "reviews wait too long" in ln.body and ln.where != "DM alice"]
    assert posted, "the anonymous item was posted in the thread"
    thread_post = next(ln for ln in posted if ln.where == "#ml-team ↳ thread")
    assert thread_post.speaker == "Meridian" and thread_post.body.startswith("#4 🔴")
    for ln in posted:
        assert "Alice" not in ln.body and "alice" not in ln.body
    assert "alice" not in stderr.lower()


def test_votes_count_once_per_item_and_stop_at_the_limit(session: tuple[list[Line], str]) -> None:
    lines, _ = session
    replies = [ln.body.strip() for ln in lines if ln.speaker == "Meridian (only Ravi sees this)"]
    assert replies == ["Your vote for #4 counts (1 left).",
                       "You already voted for #4: one vote per person per item.",
                       "Your vote for #1 counts (0 left).",
                       "You have used all 2 of your votes in this retro."]


def test_close_posts_a_ranked_summary_with_the_action_items(session: tuple[list[Line], str]) -> None:
    lines, _ = session
    in_thread = said(lines, "#ml-team ↳ thread", "🧾 sprint-retro summary — Mon 4 Jan 2027")
    in_channel = said(lines, "#ml-team", "🧾 sprint-retro summary — Mon 4 Jan 2027")
    assert len(in_thread) == 0 and len(in_channel) == 1  # the summary is posted once
    body = in_channel[0].body
    improve = body.split("🔴 To improve")[1].split("💡")[0]
    assert improve.index("reviews wait too long") < improve.index("flaky CI")  # ranked by votes: 1 before 0
    assert "#1 @Ravi: fix the flaky CI test — due Wed 20 Jan 2027" in body
    assert "+1" not in body
    assert said(lines, "#ml-team", "#1 @Ravi: fix the flaky CI test")  # /retro actions


def test_owner_is_reminded_the_day_before_the_due_date_in_their_morning(session: tuple[list[Line], str]) -> None:
    lines, _ = session
    reminder = said(lines, "DM ravi", "Action item due tomorrow")
    assert len(reminder) == 1
    assert reminder[0].stamp == "2027-01-19 03:30Z · Tue 09:00 IST"


def test_the_next_retro_opens_with_the_open_action_items(session: tuple[list[Line], str]) -> None:
    lines, _ = session
    second = said(lines, "#ml-team", "🔁 sprint-retro — Mon 18 Jan 2027")[0]
    assert "Open action items from earlier retros (1)" in second.body and "fix the flaky CI test" in second.body
