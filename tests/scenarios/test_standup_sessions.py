"""Scenario: three stand-up days of the demo team (six zones) through the console's script mode.

It replays what issue 10 reported about the DM answering session and checks the corrected
transcript: Kenji's ``thanks!``, ``ok``, ``bye`` after his cut-off and Alice's ``hello`` the
next morning are not answers and reach no channel; Ravi edits his answers in his DM and sees
them first; an answer for Wednesday given on Tuesday evening waits for Wednesday's thread.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tests.integration.test_console_cli import meridian

SCRIPT = """
# Monday 15 March 2027. Kenji (Sydney) is reminded at 09:30 AEDT (Sun 22:30Z) and stays silent.
:at 2027-03-15T04:30Z
:as ravi
:dm
Retrained churn v7
Compare v7 with the champion
none
# Ravi changes his plan in his DM: he sees what he wrote, keeps two answers, changes one
/standup
keep
Compare v7 with the champion, then ship it
keep
# 18:00 in Sydney, after Kenji's 17:00 cut-off
:at 2027-03-15T07:00Z
:as kenji
:dm
thanks!
ok
bye
# Tuesday 18:00 in Sydney: Kenji answers for Wednesday, while Tuesday's thread is still collecting
:at 2027-03-16T07:00Z
:as kenji
/standup
Wrote the drift report
Retrain the ranker
none
# Tuesday 08:00 in Los Angeles, before Alice's reminder and after Monday's cut-off
:at 2027-03-16T15:00Z
:as alice
:dm
hello
:at 2027-03-16T16:45Z
:as alice
:dm
Reviewed the feature store PR
Plan the sprint
none
:at 2027-03-18T01:00Z
:channel #ml-team
"""


@dataclass
class Entry:
    utc: str
    local: str
    where: str
    speaker: str
    text: str


HEAD = re.compile(r"^\[(?P<utc>[^·]+?) · (?P<local>[^\]]+)\] (?P<where>.+?) \| (?P<speaker>.+):$")


def entries(transcript: str) -> list[Entry]:
    """The transcript as (when, where, who, what) entries."""
    out: list[Entry] = []
    for line in transcript.splitlines():
        head = HEAD.match(line)
        if head:
            out.append(Entry(head["utc"], head["local"], head["where"], head["speaker"], ""))
        elif out and line.startswith("    "):
            out[-1].text += line.strip() + "\n"
    return out


def test_three_days_of_answering_sessions_across_six_zones() -> None:
    result = meridian("console", "--start", "2027-03-14T22:00Z", "--strict", stdin=SCRIPT)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    log = entries(result.stdout)
    channel = [e for e in log if e.where.startswith("#ml-team")]
    channel_text = "".join(e.text for e in channel)

    # 1. Kenji's "thanks!", "ok", "bye" after his cut-off are not answers: one reply in his DM, in his time.
    kenji_after = [e for e in log if e.where == "DM kenji" and e.utc == "2027-03-15 07:00Z"]
    assert [e.text.strip() for e in kenji_after if e.speaker == "Kenji"] == ["thanks!", "ok", "bye"]
    replies = [e for e in kenji_after if e.speaker == "Meridian"]
    assert len(replies) == 1
    assert replies[0].text.startswith("No stand-up is open in this chat right now, so I haven't taken that as an answer.")
    assert "Your next ml-daily stand-up opens Tue 16 Mar at 09:30 AEDT (your time)" in replies[0].text
    for word in ("thanks!", "ok\n", "bye"):
        assert f"\n{word}" not in channel_text
    monday = next(e.text for e in channel if "🧾 ml-daily summary — Mon 15 Mar 2027" in e.text)
    assert "Answered (1): Ravi" in monday and "Kenji" in monday.split("Not answered")[1]
    assert "🚧 Blockers" not in monday

    # 1. Alice's "hello" the next morning is not Monday's answer, and says when Tuesday's opens.
    alice_hello = [e for e in log if e.where == "DM alice" and e.utc == "2027-03-16 15:00Z"]
    assert [e.speaker for e in alice_hello] == ["Alice", "Meridian"]
    assert "Your next ml-daily stand-up opens Tue 16 Mar at 09:30 PDT (your time)" in alice_hello[1].text
    assert "hello" not in channel_text and "late" not in channel_text
    assert "Alice" in monday.split("Not answered")[1]

    # 3. Ravi's edit: his current answers are shown in the DM, each change confirmed there.
    ravi = [e.text for e in log if e.where == "DM ravi" and e.speaker == "Meridian" and e.utc == "2027-03-15 04:30Z"]
    edit = next(t for t in ravi if "✏️ Edit: ml-daily — Mon 15 Mar 2027" in t)
    assert "1/3 What did you get done since last time? Retrained churn v7" in edit
    assert "2/3 What will you do next? Compare v7 with the champion" in edit
    assert any("Kept 1/3." in t for t in ravi) and any("Changed 2/3." in t for t in ravi)
    assert ravi[-1].startswith("Changed answer 2 of 3. Your ml-daily answers for Mon 15 Mar 2027 are updated")
    edited = [e for e in channel if e.speaker.startswith("Meridian (edited") and "@Ravi" in e.text]
    assert len(edited) == 1 and "Compare v7 with the champion, then ship it" in edited[0].text
    assert len([e for e in channel if "@Ravi ·" in e.text and e.speaker == "Meridian"]) == 1

    # 4. Kenji's answer for Wednesday, given on Tuesday evening, waits for Wednesday's thread.
    saved = next(e for e in log if e.where == "DM kenji" and e.utc == "2027-03-16 07:00Z"
                 and "are saved" in e.text)
    assert "Wed 17 Mar 2027" in saved.text and "when it opens" in saved.text
    headers = [e for e in channel if e.text.startswith("📋 ml-daily — Wed 17 Mar 2027") and e.speaker == "Meridian"]
    assert [e.utc for e in headers] == ["2027-03-16 22:30Z"]  # Kenji's own Wednesday 09:30, the day's first
    tuesday_summary = next(e for e in channel if "🧾 ml-daily summary — Tue 16 Mar 2027" in e.text)
    wednesday_posts = [e for e in channel if "Wrote the drift report" in e.text]
    assert len(wednesday_posts) == 1
    assert wednesday_posts[0].utc == "2027-03-16 22:30Z" and wednesday_posts[0].where == "#ml-team ↳ thread"
    assert wednesday_posts[0].text.startswith("@Kenji · Tue 18:00 AEDT")
    assert channel.index(headers[0]) < channel.index(wednesday_posts[0]) < channel.index(tuesday_summary)
    assert "Answered (1): Alice" in tuesday_summary.text  # Kenji's early answer is Wednesday's, not Tuesday's
    wednesday = next(e.text for e in channel if "🧾 ml-daily summary — Wed 17 Mar 2027" in e.text)
    assert "Answered (1): Kenji" in wednesday
    assert not [e for e in log if e.where == "DM kenji" and "☀️ Stand-up: ml-daily — Wed 17 Mar" in e.text]
    assert result.stderr == ""
