"""A blocker from the answer that names it to the press that resolves it, replayed with ``meridian console``.

The demo team over four days and three zones (Sydney, Kolkata, Los Angeles): a blocker is carried
over as *day N* while its author has not resolved it (answering or not), the author is asked the next
working day whether it is still in the way, it is escalated once in the thread after
``escalate_after`` working days (the default, 2) to the Accountable of the activity it names, or to
the admins; **Resolved** in the author's DM edits every report that shows it, and an answer saying
nothing is in the way ends it. A second team checks the ``escalate_after`` key, an away Accountable's
delegate, quiet hours holding the follow-up, and a day out of office not ageing the blocker.
"""

from __future__ import annotations

from pathlib import Path

from tests.integration.test_console_cli import meridian

WEEK = """
# Monday 15 March 2027: Kenji (Sydney) and Ravi (Kolkata) name blockers
:advance 35m
:as kenji
:dm
Finished the eval harness
Write the drift report
Waiting on GPU quota for the eval runs
:at 2027-03-15T04:05Z
:as ravi
:dm
Retrained churn v7
Compare v7 with champion
churn retrain blocked: no access to the feature store
# Tuesday: Monday's report at Alice's cut-off (00:00Z), then Kenji's follow-up; Ravi names his again
:at 2027-03-16T00:05Z
:as kenji
:press Still blocked
:at 2027-03-16T04:05Z
:as ravi
:dm
Compared v7
Ship v7
still no feature store access for the churn retrain
# Wednesday
:at 2027-03-17T00:05Z
:as alice
/standup blockers
/standup blockers ml-daily extra
/standup blockers nosuch
:as kenji
:dm
Profiled the eval
Run the eval
still waiting on GPU quota
# Thursday: Wednesday's report escalates both (day 3); Kenji resolves his from the follow-up DM
:at 2027-03-18T00:05Z
:as kenji
:press Resolved
:press Resolved
:as alice
/standup stats
:at 2027-03-18T04:05Z
:as ravi
:dm
Got access
Retrain
no blockers
:as alice
/standup blockers
"""


def entries(out: str) -> list[str]:
    """The transcript cut into its posts and lines typed, each with its header line."""
    parts, current = [], []
    for line in out.splitlines():
        if (line.startswith("[") or line.startswith("»")) and current:
            parts.append("\n".join(current))
            current = []
        current.append(line)
    parts.append("\n".join(current))
    return parts


def test_a_blocker_is_carried_followed_up_escalated_and_resolved_across_days_and_zones() -> None:
    result = meridian("console", "--start", "2027-03-14T22:00Z", "--strict", stdin=WEEK)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    out = result.stdout
    posts = entries(out)
    assert "Traceback" not in out + result.stderr

    # the answer in the thread and the author's DM both offer Resolved
    kenji_monday = next(p for p in posts if "#ml-team ↳ thread" in p and "@Kenji" in p and "eval harness" in p)
    assert "(🚧 Blocker: Waiting on GPU quota for the eval runs)\n      [Resolved]" in kenji_monday
    thanks = next(p for p in posts if "DM kenji" in p and "Thanks, Kenji!" in p)
    assert "press Resolved when it clears" in thanks and "[Resolved]" in thanks

    # Monday's report at Alice's 17:00 PDT cut-off: each blocker with its Resolved button
    monday = next(p for p in posts if "🧾 ml-daily summary — Mon 15 Mar 2027" in p)
    assert "Kenji: Waiting on GPU quota for the eval runs\n      [Resolved]" in monday
    assert "Ravi: churn retrain blocked: no access to the feature store — churn model retraining is owned by Alice" \
        in monday

    # the follow-up: the next working day, on each person's clock; not for Ravi, who answered before it was due
    follow_ups = [p for p in posts if "Is this still in the way?" in p]
    assert follow_ups[0].startswith("[2027-03-16 00:00Z · Tue 11:00 AEDT] DM kenji")
    assert "Your ml-daily blocker since Mon 15 Mar 2027 (day 2)" in follow_ups[0]
    assert "[Resolved] [Still blocked]" in follow_ups[0]
    assert "Noted: still in the way (day 2). It stays in the ml-daily report; press Resolved when it clears." in out
    assert not any("DM ravi" in p and "Tue" in p.splitlines()[0] for p in follow_ups)
    assert any(p.startswith("[2027-03-17 04:30Z · Wed 10:00 IST] DM ravi") for p in follow_ups), \
        "Ravi had not answered on Wednesday: asked at the start of his working hours"

    # day N: named again, or carried over by someone who did not answer
    assert "(🚧 Blocker (day 2): still no feature store access for the churn retrain" in out
    tuesday = next(p for p in posts if "🧾 ml-daily summary — Tue 16 Mar 2027" in p)
    assert "Kenji (carried over, day 2): Waiting on GPU quota for the eval runs" in tuesday
    assert "Ravi (day 2): still no feature store access" in tuesday

    # /standup blockers: age, owner, Accountable and where; bad arguments get one line
    listing = next(p for p in posts if "🚧 ml-daily — open blockers (2)" in p)
    assert listing.index("Kenji · day 3") < listing.index("Ravi · day 3")
    assert "churn model retraining is owned by Alice" in listing
    assert "(See the thread of Mon 15 Mar 2027 in #ml-team.)" in listing
    assert "Name at most one stand-up: `/standup blockers [NAME]`." in out
    assert "There is no stand-up called `nosuch`." in out

    # escalated once, in Wednesday's thread, routed: Alice is off hours at 17:00 PDT, so named, not pinged
    escalations = [p for p in posts if "🚨" in p]
    assert len(escalations) == 2
    assert all(p.startswith("[2027-03-18 00:00Z · Thu 00:00 GMT] #ml-team ↳ thread") for p in escalations)
    assert "🚨 Ravi's blocker is still open on day 3 (since Mon 15 Mar 2027)" in escalations[1]
    assert "Over to Accountable for churn model retraining: Alice (off hours, 17:00 in Los Angeles)" in escalations[1]
    assert "Over to admins: Alice (off hours, 17:00 in Los Angeles)" in escalations[0]
    assert "@Alice" not in "".join(escalations)

    # Resolved from the DM: every post that showed it is edited for all; a second press changes nothing
    resolved_at = out.index("» kenji@DM> :press Resolved")
    pressed = out[resolved_at:out.index("» kenji@DM> :press Resolved", resolved_at + 1)]
    edits = [p for p in entries(pressed) if "(edited its message" in p]
    assert sum("🧾" in p and "✅ Kenji" in p for p in edits) == 3, "Monday's, Tuesday's and Wednesday's reports"
    assert sum("✅ Blocker resolved:" in p for p in edits) == 2, "Kenji's Monday and Wednesday answers"
    assert any("✅ Kenji's blocker (since Mon 15 Mar 2027, escalated Wed 17 Mar 2027) is resolved" in p
               for p in edits)
    assert any("(2/6 answered · 2 blockers (1 resolved))" in p for p in edits)
    assert "Resolved: your blocker “still waiting on GPU quota” (since Mon 15 Mar 2027). " \
           "The ml-daily report says so for everyone." in out
    assert "Already resolved by Kenji (Thu 18 Mar 11:05 your time); nothing changed." in out

    # /standup stats counts the same items: Kenji's is resolved, Ravi's is on his fourth day
    stats = next(p for p in posts if "📊 ml-daily — last 28 days" in p)
    assert "Open blockers (1)" in stats and "Ravi (day 4): still no feature store access" in stats
    assert "Kenji (day" not in stats

    # Ravi's answer says nothing is in the way: it ends his, and the reports say so
    assert "resolved by their next answer" in out[out.index("» ravi@DM> no blockers"):]
    assert "🚧 ml-daily — open blockers (0)\n      (No open blockers.)" in out[out.rindex("/standup blockers"):]


TEAM = """
workspace: acme
members:
  - {id: alice, name: Alice, tz: America/New_York, admin: true}
  - {id: noor, name: Noor, tz: Asia/Dubai, ooo: ["2027-03-16"], delegate: alice}
  - {id: marta, name: Marta, tz: Europe/Berlin, hours: "09:00-17:00", quiet: "22:00-09:30"}
  - {id: kenji, name: Kenji, tz: Australia/Sydney, ooo: ["2027-03-16"]}
standups:
  - {name: daily, channel: "#team", remind_at: "09:30", members: [marta, kenji], escalate_after: 1}
raci:
  - {activity: feature store, A: noor, R: [marta]}
"""

SHORT_WEEK = """
# Monday 15 March 2027: Kenji (Sydney, away on Tuesday) and Marta (Berlin) name blockers
:at 2027-03-14T22:35Z
:as kenji
:dm
Ran the eval
Write it up
waiting on legal sign-off
:at 2027-03-15T08:35Z
:as marta
:dm
Wrote the loader
Test it
waiting on the feature store credentials
# Tuesday: Marta's follow-up falls due at 09:00 Berlin, inside her quiet hours until 09:30; at Tuesday's
# report hers is escalated (day 2) to Noor's delegate, as Noor is away
:at 2027-03-17T09:00Z
:as alice
/standup blockers
# Marta leaves and asks to be forgotten: the escalation quoting her blocker is taken down too
:as marta
/meridian forget-me confirm
"""


def test_escalate_after_a_delegate_quiet_hours_and_a_day_away(tmp_path: Path) -> None:
    team = tmp_path / "team.yaml"
    team.write_text(TEAM)
    result = meridian("console", "--team", str(team), "--start", "2027-03-14T22:00Z", "--strict", stdin=SHORT_WEEK)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    out = result.stdout
    posts = entries(out)
    follow_ups = [p for p in posts if "Is this still in the way?" in p]

    # held by quiet hours: due at 09:00 Berlin, sent when her night ends at 09:30
    assert follow_ups[0].startswith("[2027-03-16 08:30Z · Tue 09:30 CET] DM marta")

    # escalate_after: 1 — at Tuesday's report, the blocker's second day, to the Accountable's delegate:
    # Noor is away, so named without a ping, and Alice, in her working hours, is pinged in her stead
    escalations = [p for p in posts if "🚨" in p]
    assert len(escalations) == 1
    assert escalations[0].startswith("[2027-03-16 16:00Z · Tue 16:00 UTC] #team ↳ thread")
    assert "🚨 Marta's blocker is still open on day 2 (since Mon 15 Mar 2027)" in escalations[0]
    assert ("Over to Accountable for feature store: Noor (away — out of office), "
            "@Alice (standing in for Noor, away today)") in escalations[0]

    # Kenji's day out of office does not age his blocker: carried over on Tuesday still on day 1, asked
    # again on Wednesday (his next working day), on day 2 then, and not yet escalated
    tuesday = next(p for p in posts if "🧾 daily summary — Tue 16 Mar 2027" in p)
    assert "Kenji (carried over): waiting on legal sign-off" in tuesday
    assert follow_ups[1].startswith("[2027-03-16 22:00Z · Wed 09:00 AEDT] DM kenji")
    assert "(day 2)" in follow_ups[1]
    listing = next(p for p in posts if "open blockers (2)" in p)
    assert "Marta · day 3 (since Mon 15 Mar 2027)" in listing and "escalated Tue 16 Mar 2027" in listing
    assert "Kenji · day 2 (since Mon 15 Mar 2027): waiting on legal sign-off" in listing

    forgotten = out[out.index("/meridian forget-me confirm"):]
    assert "(A blocker's escalation taken down: its author left the team and asked to be forgotten.)" in forgotten
    assert "waiting on the feature store credentials" not in forgotten


def test_escalate_after_is_read_kept_and_refused_like_every_team_file_key(tmp_path: Path) -> None:
    team = tmp_path / "team.yaml"
    team.write_text(TEAM)
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'm.db'}"}  # through the migrations, 0024 included
    assert meridian("import", str(team), env=env, cwd=tmp_path).returncode == 0
    exported = meridian("export", env=env, cwd=tmp_path)
    assert exported.returncode == 0, exported.stderr
    assert "escalate_after: 1" in exported.stdout

    for wrong, shown in (('"2"', '"2"'), ("true", "True"), ("-1", "-1"), ("61", "61")):
        team.write_text(TEAM.replace("escalate_after: 1", f"escalate_after: {wrong}"))
        result = meridian("schedule", "preview", "--team", str(team))
        assert result.returncode == 2
        assert result.stderr.strip().endswith(f"escalate_after must be a whole number of working days from 0 "
                                              f"(never) to 60, not {shown}"), result.stderr

    team.write_text(TEAM)
    script = ("/standup setup daily escalate=never\n/standup setup daily escalate=soon\n"
              "/standup setup daily escalate=3\n")
    out = meridian("console", "--team", str(team), "--start", "2027-03-15T12:00Z",
                   stdin=":as alice\n" + script).stdout
    assert "`escalate=soon`: escalate_after must be a whole number of working days from 0 (never) to 60, " \
           "not \"soon\"." in out
    assert out.count("daily in #team: 09:30 each person's time") == 2


EDITED = """
:at 2027-03-15T04:05Z
:as ravi
:dm
Retrained churn v7
Compare v7 with champion
Blocked on GPU quota
/standup
keep
keep
no blockers after all
/standup blockers
"""


def test_an_answer_edited_to_no_blocker_takes_the_blocker_back() -> None:
    result = meridian("console", "--start", "2027-03-14T22:00Z", "--strict", stdin=EDITED)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    out = result.stdout
    edited = entries(out[out.index("» ravi@DM> no blockers after all"):])
    post = next(p for p in edited if "(edited its message" in p and "Compare v7 with champion" in p)
    assert "Blocker" not in post and "[Resolved]" not in post
    assert "open blockers (0)" in out[out.rindex("/standup blockers"):]
