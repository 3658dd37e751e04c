"""Issue 10, items 12 and 13 and the presentation list, as the demo team lives them in the console.

The script reproduces the reports word for word: Tomás uses forget-me after answering a
stand-up while he holds RACI roles; admins then edit the chart he was on; the small RACI
slips (`I` with no names, a removed activity's alias, `X` as a letter, `1 activities`)
and the missing "did you mean"s for people, sub-commands and zones.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest

from tests.integration.test_console_cli import meridian

SCRIPT = """
# Monday 15 March 2027, 12:00Z: Tomás (São Paulo) is reminded at 09:30 his time, 12:30Z
:as alice
/raci set data contracts R @tomas A @tomas C @noor --new
/raci set feature store R @ravi A @marta --new
/raci set feature store I
/raci set feature store R @ravi
/raci rename feature store to feature platform
/raci set feature platform aka fs
/raci remove feature platform
/raci fs
/raci list
/raci set churn model retraining X @ravi
/raci @rav
/standup reprot
:as kenji
/meridian timezone Europe/Lisbon
/meridian tz Europe/Lisbn
/meridian tz lisbon
:as noor
:dm
/meridian me
/meridian help
:advance 45m
:as tomas
:dm
Wrote the data contract checks
Review the schema PR
none
/meridian forget-me confirm
/meridian me
/standup
hello?
:as alice
:channel #ml-team
/raci churn model retraining
/raci set churn model retraining C @marta @kenji
/raci data contracts
/raci history data contracts
/raci history churn model retraining
/raci lint
:advance 1d
"""


@dataclass(frozen=True)
class Entry:
    head: str
    body: str


def entries(out: str) -> list[Entry]:
    """The transcript as (header line, indented body) pairs; the echoed script lines (``» who@where> …``) are
    what was typed, not what anyone read, so they are left out."""
    found: list[Entry] = []
    out = "\n".join(line for line in out.splitlines() if not line.startswith("» "))
    for chunk in re.split(r"\n(?=\[\d{4}-)", out.strip()):
        head, _, body = chunk.partition("\n")
        found.append(Entry(head, body))
    return found


@pytest.fixture(scope="module")
def run() -> tuple[list[Entry], str, str]:
    result = meridian("console", "--start", "2027-03-15T12:00Z", "--strict", stdin=SCRIPT)
    assert result.returncode == 0, result.stdout + result.stderr
    return entries(result.stdout), result.stdout, result.stderr


def reply(log: list[Entry], text: str) -> Entry:
    hits = [e for e in log if text in e.body]
    assert len(hits) == 1, f"{text!r} found {len(hits)} times"
    return hits[0]


# --- 12. forget-me completely ---------------------------------------------------------------------


def test_forget_me_says_exactly_what_was_removed(run: tuple[list[Entry], str, str]) -> None:
    log, _, _ = run
    done = reply(log, "Done: you are no longer a member of this team.")
    assert done.head.endswith("DM tomas | Meridian:")
    assert done.body.strip() == (
        "Done: you are no longer a member of this team. Removed 1 stand-up answer, 1 stand-up post taken down, "
        "3 RACI roles and your settings (zone, hours, out-of-office). Meridian keeps nothing else about you.")


def test_after_forget_me_the_person_is_told_they_are_not_a_member(run: tuple[list[Entry], str, str]) -> None:
    log, out, _ = run
    after = out[out.index("Done: you are no longer a member"):]
    assert "America/Sao_Paulo" not in after  # `/meridian me` no longer shows his zone
    assert "I've sent you" not in after  # `/standup` no longer pretends
    told = [e for e in log if "You are not a member of this team any more" in e.body]
    assert len(told) == 3 and all(e.head.endswith("DM tomas | Meridian:") for e in told)  # me, /standup, hello?


def test_his_stand_up_post_is_taken_down(run: tuple[list[Entry], str, str]) -> None:
    log, _, _ = run
    edited = reply(log, "(An answer taken down: its author left the team and asked to be forgotten.)")
    assert "#ml-team ↳ thread | Meridian (edited its message of" in edited.head
    summary = reply(log, "🧾 ml-daily summary — Mon 15 Mar 2027")
    assert "Tomás" not in summary.body and "Not answered (5): Alice, Kenji, Marta, Noor, Ravi" in summary.body


def test_raci_roles_go_to_the_accountable_or_an_admin_with_a_dm(run: tuple[list[Entry], str, str]) -> None:
    log, out, _ = run
    dm = reply(log, "🧹 2 activities need reassigning")
    assert dm.head.endswith("DM alice | Meridian:")
    assert "churn model retraining — Informed (a member left the team)" in dm.body
    assert ("data contracts — Responsible and Accountable (a member left the team); "
            "you hold Accountable and Responsible for now") in dm.body
    after = out[out.index("Done: you are no longer a member"):]
    assert "no longer a member" not in after.replace("no longer a member of this team", "")
    assert "people must be known" not in out
    saved = reply(log, "@Kenji — 🟢 in hours, 12:45 in Lisbon\n    I · Informed\n    —\n      (Saved.")
    assert "tomas" not in saved.body.lower()
    contracts = [e for e in log if e.body.startswith("    data contracts\n")][-1]
    assert "R · Responsible\n    Alice — 🌙 05:45" in contracts.body and "A · Accountable\n    Alice — 🌙" in contracts.body


def test_history_and_lint_no_longer_name_him(run: tuple[list[Entry], str, str]) -> None:
    log, _, _ = run
    history = reply(log, "History of data contracts")
    assert "Tomás" not in history.body and "tomas" not in history.body
    assert "R: a former member · A: a former member" in history.body
    assert "Tomás" not in reply(log, "History of churn model retraining").body
    assert "✅ Nothing to fix: 2 activities, each with one Accountable and a Responsible" in \
        reply(log, "Nothing to fix").body


def test_no_log_line_leaks_into_the_transcript(run: tuple[list[Entry], str, str]) -> None:
    _, out, err = run
    assert err == ""
    assert "WARNING" not in out and "meridian.delivery" not in out
    assert not re.search(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+", out, re.M)


# --- 13. small ones ------------------------------------------------------------------------------


def test_a_letter_with_no_names_is_refused_and_nothing_unchanged_is_saved(run: tuple[list[Entry], str, str]) -> None:
    log, _, _ = run
    assert "`I` has no one after it. Name the people (I @ravi), or write `I -` to leave no one Informed." in \
        reply(log, "`I` has no one after it").body
    assert "Nothing to change: “feature store” already reads that way, so no history entry was saved." in \
        reply(log, "Nothing to change").body


def test_a_removed_activitys_alias_suggests_nothing_unrelated(run: tuple[list[Entry], str, str]) -> None:
    log, _, _ = run
    fs = reply(log, "Nothing is called “fs”")
    assert fs.body.strip() == ("Nothing is called “fs”, and no activity has a name close to it. "
                               "/raci list shows them all.")


def test_did_you_mean_for_people_sub_commands_and_zones(run: tuple[list[Entry], str, str]) -> None:
    log, _, _ = run
    rav = reply(log, "`rav` is not a member")
    assert "Did you mean @ravi?" in rav.body and "Usage:" not in rav.body
    assert "Did you mean `/standup report`?\n    Usage: /standup report [YYYY-MM-DD]" in \
        reply(log, "`reprot`").body
    assert "Did you mean `/meridian tz`?" in reply(log, "`timezone`").body
    assert "`Europe/Lisbn` is not a known time zone. Did you mean Europe/Lisbon?" in reply(log, "Lisbn").body
    assert "Your time zone is now Europe/Lisbon." in reply(log, "Your time zone is now").body


def test_plurals_and_role_letters(run: tuple[list[Entry], str, str]) -> None:
    log, out, _ = run
    assert "(2 activities.)" in reply(log, "RACI activities").body
    assert "1 activities" not in out
    assert "`X` is not a role letter; use R, A, C or I." in reply(log, "`X`").body
    assert "Give at least one letter" not in out


# --- presentation ---------------------------------------------------------------------------------


def test_workdays_in_week_order_and_zone_labels_with_a_city(run: tuple[list[Entry], str, str]) -> None:
    log, _, _ = run
    me = reply(log, "Noor — Asia/Dubai")
    assert "now Mon 16:00 +04 Dubai" in me.body
    assert "workdays mon, tue, wed, thu, fri;" in me.body
    assert me.head == "[2027-03-15 12:00Z · Mon 16:00 +04 Dubai] DM noor | Meridian:"  # asked in a DM, answered there


def test_help_is_aligned_columns_under_a_header(run: tuple[list[Entry], str, str]) -> None:
    log, _, _ = run
    rows = reply(log, "/meridian — your own settings and privacy").body.splitlines()
    assert rows[1].split() == ["Command", "What", "it", "does"]
    column = rows[1].index("What")
    for row in rows[2:]:
        text = row.strip()
        if text.startswith("/meridian") and "|" not in text:
            assert row[column - 2:column] == "  " and row[column] != " ", row


def test_no_platform_message_ids_in_what_people_read(run: tuple[list[Entry], str, str]) -> None:
    _, out, _ = run
    assert not re.search(r"\bm\d+\b", out)


def test_every_family_says_did_you_mean_for_a_mistyped_sub_command() -> None:
    script = "/standup reprot\n/meridian timezone Europe/Lisbon\n/retro shedule\n/meridian hepl\n/raci lnt\n" \
             "/standup frobnicate\n"
    result = meridian("console", "--start", "2027-03-15T00:00Z", stdin=script)
    log = entries(result.stdout)
    assert [e.body.splitlines()[0].strip() for e in log] == [
        "Unknown sub-command `reprot` for /standup. Did you mean `/standup report`?",
        "Unknown sub-command `timezone` for /meridian. Did you mean `/meridian tz`?",
        "There is no retro called `shedule`. Did you mean `/retro schedule`?",
        "Unknown sub-command `hepl` for /meridian. Did you mean `/meridian help`?",
        "Nothing is called “lnt”, and no activity has a name close to it. /raci list shows them all. "
        "Did you mean `/raci lint`?",
        "Unknown sub-command `frobnicate` for /standup.",  # nothing close: no guess
    ]
    assert "Usage: /retro schedule [NAME]" in log[2].body

