"""Issue 10, retro items 9–11, as reported: the demo team in ``meridian console`` (script mode), from the README's
start, with the corrected transcript asserted line by line.

Reported on ``main``: a non-admin closed the retro 11 days early and the meeting vanished; the close posted the
summary twice plus a third message; anyone could mark another person's action done; an empty round posted
``No items this time.`` twice; ``/retro action ravi quarantine flaky tests by next friday`` saved no due date.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
:at 2027-03-16T00:00Z
:at 2027-03-18T09:00Z
:as ravi
:channel #ml-team
/retro open
:as alice
:channel #ml-team
/retro open
:as marta
:channel #ml-team
:thread
🟢 the eval harness saved hours
improve: flaky CI on the training repo
:as noor
:channel #ml-team
/retro add --anon improve: reviews wait too long
:as ravi
:channel #ml-team
/retro vote 1
/retro
/retro unvote 1
/retro vote 2
:as marta
:channel #ml-team
/retro action ravi quarantine flaky tests by nxt friday
/retro action ravi quarantine flaky tests by next friday
:as kenji
:channel #ml-team
/retro done 1
/retro close
:as alice
/retro close
/retro close confirm
:at 2027-03-27T06:00Z
:as ravi
/retro actions
:at 2027-04-11T00:00Z
"""


@dataclass
class Line:
    stamp: str
    where: str
    speaker: str
    body: str


def meridian(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", *args], input=stdin, capture_output=True, text=True,
                          cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=300)


def parse(out: str) -> list[Line]:
    lines: list[Line] = []
    for raw in out.splitlines():
        head = re.match(r"^\[(?P<stamp>[^\]]+)\] (?P<where>.+?) \| (?P<speaker>[^:]+):$", raw)
        if head:
            lines.append(Line(head["stamp"], head["where"], head["speaker"], ""))
        elif raw.startswith("    ") and lines:
            lines[-1].body += raw[4:] + "\n"
    return lines


@pytest.fixture(scope="module")
def transcript() -> list[Line]:
    done = meridian("console", "--start", "2027-03-15T00:00Z", "--strict", stdin=SCRIPT)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "Traceback" not in done.stdout + done.stderr
    return parse(done.stdout)


def bot(lines: list[Line], text: str, where: str | None = None) -> list[Line]:
    return [ln for ln in lines if ln.speaker.startswith("Meridian") and text in ln.body
            and (where is None or ln.where == where)]


def private(lines: list[Line], who: str) -> list[str]:
    return [ln.body.strip() for ln in lines if ln.speaker == f"Meridian (only {who} sees this)"]


def test_only_an_admin_or_the_facilitator_opens_and_closes(transcript: list[Line]) -> None:
    assert private(transcript, "Ravi")[0] == "Only workspace admins or this round's facilitator (Alice) can open " \
                                             "sprint-retro."
    assert "Only workspace admins or this round's facilitator (Alice) can close sprint-retro." in \
        private(transcript, "Kenji")
    (thread,) = bot(transcript, "🔁 sprint-retro — Mon 29 Mar 2027", "#ml-team")
    # the thread opens at 02:00 in San Francisco: Alice is named, not pinged, and told why
    assert "Facilitator: Alice (off hours, 02:00 in Los Angeles)" in thread.body


def test_closing_11_days_early_asks_and_keeps_the_meeting_with_its_reminders(transcript: list[Line]) -> None:
    alice = private(transcript, "Alice")
    question = next(body for body in alice if body.startswith("⚠️ The sprint-retro meeting is Mon 29 Mar"))
    assert "the meeting stays on and everyone is still reminded" in question and "[Close now]" in question
    assert any(body.startswith("Closed sprint-retro: the summary is in #ml-team. The meeting (Mon 29 Mar")
               and body.endswith("stays on; reminders still go out.") for body in alice)
    # The demo team follows public holidays: Mon 29 Mar 2027 is Easter Monday for Kenji (AU-NSW) and Marta (DE-BE),
    # so they are away and get no reminders for it; everyone else is still reminded after the early close.
    for who in ("alice", "noor", "ravi", "tomas"):
        day_before = [ln for ln in bot(transcript, "🔁 sprint-retro", f"DM {who}")
                      if re.match(r"🔁 sprint-retro (in 24 hours|tomorrow at|on \w+ at)", ln.body)
                      if "sprint-retro-2027-03-29.ics" in ln.body]
        assert len(day_before) == 1 and "Items and votes were closed early" in day_before[0].body, who
        assert [ln for ln in bot(transcript, "🔁 sprint-retro in 15 minutes", f"DM {who}")
                if "sprint-retro-2027-03-29.ics" in ln.body], who
    for who in ("kenji", "marta"):
        assert not [ln for ln in bot(transcript, "🔁 sprint-retro", f"DM {who}")
                    if "sprint-retro-2027-03-29.ics" in ln.body], who


def test_the_close_posts_the_summary_once(transcript: list[Line]) -> None:
    summaries = bot(transcript, "🧾 sprint-retro summary — Mon 29 Mar 2027")
    assert [ln.where for ln in summaries] == ["#ml-team"]
    assert not [ln for ln in transcript if ln.speaker == "Meridian" and ln.where == "#ml-team"
                and ln.body.startswith("Closed sprint-retro")]  # the confirmation went to Alice alone


def test_an_empty_round_is_one_line_in_its_thread(transcript: list[Line]) -> None:
    empty = bot(transcript, "closed with no items")
    assert [(ln.where, ln.body.strip()) for ln in empty] == \
        [("#ml-team ↳ thread", "🧾 sprint-retro closed with no items and no action items.")]
    assert not bot(transcript, "No items this time")
    assert not bot(transcript, "🧾 sprint-retro summary — Mon 15 Mar 2027")


def test_only_the_owner_the_recorder_or_an_admin_closes_an_action(transcript: list[Line]) -> None:
    assert private(transcript, "Kenji")[0] == \
        "Action item #1 is Ravi's: only its owner, whoever recorded it or an admin can mark it done."
    listed = next(body for body in private(transcript, "Ravi") if body.startswith("📌 Open action items"))
    assert "quarantine flaky tests" in listed


def test_next_friday_is_a_due_date_and_a_typo_is_named(transcript: list[Line]) -> None:
    marta = private(transcript, "Marta")
    assert marta[0].startswith('I can\'t read "nxt friday" as a date — try "next friday" or 2027-03-26.')
    assert marta[1] == "Saved action item #1 for Ravi, due Fri 26 Mar 2027."
    assert bot(transcript, "📌 Action #1 @Ravi: quarantine flaky tests — due Fri 26 Mar 2027", "#ml-team ↳ thread")


def test_votes_are_private_until_the_close_and_can_be_taken_back(transcript: list[Line]) -> None:
    ravi = private(transcript, "Ravi")
    status = next(body for body in ravi if body.startswith("🔁 sprint-retro — open until"))
    assert "#1 🟢 the eval harness saved hours  ✓ your vote" in status and "👍" not in status
    assert "Took back your vote for #1 (3 left)." in ravi and "Your vote for #2 counts (2 left)." in ravi
    (summary,) = bot(transcript, "🧾 sprint-retro summary — Mon 29 Mar 2027")
    assert "0 👍  the eval harness saved hours" in summary.body and "1 👍  flaky CI on the training repo" in summary.body


def test_the_anonymous_item_goes_out_with_the_batch_at_the_close(transcript: list[Line]) -> None:
    (noor,) = [body for body in private(transcript, "Noor") if body.startswith("Taken anonymously")]
    assert "Your name is not stored with it." in noor
    (item,) = bot(transcript, "🔴 reviews wait too long", "#ml-team ↳ thread")
    (closed,) = bot(transcript, "🧾 sprint-retro summary — Mon 29 Mar 2027")
    assert item.stamp == closed.stamp and "Noor" not in item.body


def test_an_overdue_action_is_flagged_in_retro_actions_and_the_next_thread(transcript: list[Line]) -> None:
    listed = next(body for body in private(transcript, "Ravi") if body.startswith("📌 Open action items"))
    assert listed.startswith("📌 Open action items (1, 1 overdue)")
    assert "quarantine flaky tests — ⚠️ overdue since Fri 26 Mar 2027" in listed
    (nxt,) = bot(transcript, "🔁 sprint-retro — Mon 12 Apr 2027", "#ml-team")
    assert "Open action items from earlier retros (1, 1 overdue)" in nxt.body
    assert "Facilitator: Kenji (" in nxt.body  # the rotation's next member, named on his Saturday evening
