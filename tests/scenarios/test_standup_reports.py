"""Issue 10, stand-up items 2, 5, 6 and 7, replayed in the console with the demo team and read as the team would.

Blockers are read, not keyword-matched (2); reports say when a day had no stand-up, who is
not yet due, and answer privately unless asked to post (5); skipped and away days are
excused alike (6); an admin's typo is refused as the team file refuses it, and a second
pause is not announced again (7).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.integration.test_console_cli import meridian

SCRIPT = """
# Monday 15 March 2027: everyone answers right after their 09:30 reminder
:advance 1m
:as kenji
:dm
Finished the eval harness
Write the drift report
waiting for nothing :)
:at 2027-03-15T04:00Z
:as ravi
:dm
Retrained churn v7
Compare v7 with champion
VPN fixed, no blockers
:as alice
:channel #ml-team
/standup report 2027-03-15
:at 2027-03-15T05:30Z
:as noor
:dm
Labelled the new batch
Label the rest
None, thanks
:at 2027-03-15T08:30Z
:as marta
:dm
Fixed the feature store
Review PRs
not blocked anymore
:at 2027-03-15T12:30Z
:as tomas
:dm
Wrote the retro notes
Plan the sprint
bye
:at 2027-03-15T16:30Z
:as alice
:dm
Reviewed the feature store PR
Plan the sprint
Noor's PR review
:press Blocker
# Tuesday morning in India, Ravi skips the rest of the week
:at 2027-03-16T02:00Z
:as ravi
/standup skip until 2027-03-18
:at 2027-03-16T12:00Z
:as alice
:channel #ml-team
/standup report 2026-01-01
/standup report 2027-03-20
/standup report 2027-03-15
/standup report 2027-03-15 public
/standup setup ml-daily days=mon-fry
/standup pause
/standup pause
/standup resume
/standup resume
:at 2027-03-19T12:00Z
/standup stats
"""

PRIVATE_TO_ALICE = re.compile(r"\[[^]]+\] #ml-team \| Meridian \(only Alice sees this\):\n((?:    .*\n?)+)")
PUBLIC = re.compile(r"\[[^]]+\] #ml-team \| Meridian:\n((?:    .*\n?)+)")
THREAD = re.compile(r"\[[^]]+\] #ml-team ↳ thread \| Meridian:\n((?:    .*\n?)+)")


def bodies(pattern: re.Pattern[str], out: str) -> list[str]:
    return [re.sub(r"^    ", "", m.group(1), flags=re.M).rstrip("\n") for m in pattern.finditer(out)]


@pytest.fixture(scope="module")
def transcript() -> str:
    result = meridian("console", "--start", "2027-03-15T00:00Z", "--strict", stdin=SCRIPT)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_no_blocker_answers_are_not_blockers_and_an_unclear_one_is_asked_once(transcript: str) -> None:
    answers = [b for b in bodies(THREAD, transcript) if b.startswith("@")]
    assert len(answers) == 6
    for said in ("waiting for nothing :)", "VPN fixed, no blockers", "None, thanks", "not blocked anymore", "bye"):
        post = next(a for a in answers if said in a)
        assert "Blocker" not in post.split(said)[1], f"{said!r} was shown as a blocker"
    assert transcript.count("is this a blocker?") == 1
    assert "Possible blocker (asked Alice to confirm): Noor's PR review" in transcript
    assert "Noted: “Noor's PR review” is a blocker (ml-daily, Mon 15 Mar 2027)." in transcript
    monday = next(b for b in bodies(THREAD, transcript) if b.startswith("🧾 ml-daily summary — Mon 15 Mar 2027"))
    assert monday.endswith("🚧 Blockers (1)\nAlice: Noor's PR review\n  [Resolved]")
    assert "(6/6 answered · 1 blocker)" in transcript


def test_reports_are_private_true_to_the_day_and_say_who_is_not_yet_due(transcript: str) -> None:
    private = bodies(PRIVATE_TO_ALICE, transcript)
    assert private[0] == ("🧾 ml-daily summary so far — Mon 15 Mar 2027\n"
                          "Answered (2): Kenji, Ravi\n"
                          "Not yet due (4): Alice, Marta, Noor, Tomás\n"
                          "  (No blockers reported.)")
    assert "There was no ml-daily stand-up on Thu 1 Jan 2026: its first day was Mon 15 Mar 2027." in private
    assert "There is no ml-daily report for Sat 20 Mar 2027: ml-daily runs on mon, tue, wed, thu, fri." in private
    monday = next(b for b in private if b.startswith("🧾 ml-daily summary — Mon 15 Mar 2027"))
    assert "Answered (6): Alice, Kenji, Marta, Noor, Ravi, Tomás" in monday
    assert "Skipped" not in monday, "Ravi's skip was given on Tuesday; it does not reach back to Monday"
    public = bodies(PUBLIC, transcript)
    assert [b for b in public if b.startswith("🧾 ml-daily")] == [monday], "only `public` posts a report in the channel"
    assert not any("1 Jan 2026" in b or "20 Mar 2027" in b for b in public)


def test_skipped_days_are_excused_in_headlines_and_stats(transcript: str) -> None:
    # Tue, Wed and Thu headlines: nobody answers, and Alice's Monday blocker, never resolved, is carried over
    assert transcript.count("(0/5 answered (Ravi skipped) · 1 blocker)") == 3
    stats = bodies(PRIVATE_TO_ALICE, transcript)[-1]
    assert stats.startswith("📊 ml-daily — last 28 days")
    assert "Ravi: 1/1 days answered (100%) · not counted: 3 skipped" in stats


def test_an_admin_typo_is_refused_like_the_team_file_and_a_second_pause_is_not_announced(transcript: str,
                                                                                        tmp_path: Path) -> None:
    private = bodies(PRIVATE_TO_ALICE, transcript)
    assert any(b.startswith("`days=mon-fry`: unknown day fry; use mon tue wed thu fri sat sun.") for b in private)
    assert "ml-daily is already paused; nothing changed (/standup resume ml-daily to change that)." in private
    assert "ml-daily is already running; nothing changed (/standup pause ml-daily to change that)." in private
    public = bodies(PUBLIC, transcript)
    assert public.count("ml-daily is paused: no reminders until /standup resume.") == 1
    assert public.count("ml-daily is resumed: reminders start again.") == 1
    assert not any(b.startswith("ml-daily in #ml-team:") for b in public), "a refused setup announces nothing"
    # the team file refuses the same typo with the same words
    team = tmp_path / "team.yaml"
    team.write_text("workspace: w\nmembers: [{id: a, tz: UTC}]\nstandups: [{name: d, channel: '#c', days: mon-fry}]\n")
    bad = meridian("schedule", "preview", "--team", str(team))
    assert bad.returncode == 2
    assert bad.stderr.strip() == f"meridian: {team}:3: unknown day fry; use mon tue wed thu fri sat sun"
