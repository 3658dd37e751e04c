"""Calling one retro meeting off, through ``meridian console`` as an admin would: ``/retro skip DATE``, the
button on the note that most of the team is away, ``/retro unskip``, and the wrong things people type."""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, date, datetime
from pathlib import Path

from adapters.console.session import ConsoleSession
from bot.retros.context import RetroContext
from bot.retros.plan import ledger
from storage.kernel.repo import SqlStore
from tests.conftest import Harness, _truncate
from tests.integration.test_console_cli import DEMO
from tests.integration.test_retro_console import Line
from tests.integration.test_retro_plan import console
from tests.integration.test_retros import repo

MARCH_15 = date(2027, 3, 15)


def said(lines: list[Line], where: str, text: str) -> list[Line]:
    return [ln for ln in lines if ln.where == where and ln.speaker.startswith("Meridian") and text in ln.body]


def reminders_for(lines: list[Line], day: date) -> list[Line]:
    """The retro's DMs for the meeting on ``day`` (the day-ahead notice and the 15 minutes, each carrying that
    meeting's calendar file, whatever date it is where the person lives) and its thread."""
    ics = f"sprint-retro-{day.isoformat()}.ics"
    return [ln for ln in lines if ln.speaker.startswith("Meridian") and (
        (ln.where.startswith("DM ") and ics in ln.body)
        or ln.body.startswith(f"🔁 sprint-retro — {day:%a} {day.day} {day:%b %Y}"))]


def test_an_admin_skips_a_meeting_the_channel_is_told_and_nobody_is_reminded_or_threaded() -> None:
    lines = console(DEMO, "2027-03-01T16:00Z", ":as alice\n/retro skip 15 mar\n/retro schedule\n"
                                               ":at 2027-03-16T12:00Z\n/retro\n")
    told = said(lines, "#ml-team", "🔁 The sprint-retro meeting on Mon 15 Mar")
    assert len(told) == 1 and "is skipped (Alice called it off)" in told[0].body
    assert "The next one: Mon 29 Mar" in told[0].body
    assert "Skipped the sprint-retro meeting on Mon 15 Mar 14:00 PDT" in said(lines, "#ml-team", "Skipped")[0].body
    schedule = next(ln.body for ln in lines if "next 6 slots" in ln.body)
    assert "Mon 15 Mar 14:00 PDT  (skipped · `/retro unskip 2027-03-15` holds it after all)" in schedule
    assert reminders_for(lines, MARCH_15) == []
    assert reminders_for(lines, date(2027, 3, 1))  # the meeting before it went ahead as usual
    status = [ln.body for ln in lines if "is not open. Next:" in ln.body]
    assert status and "Mon 29 Mar" in status[-1]


def test_unskip_brings_the_meeting_back_with_its_reminders_at_the_same_slot() -> None:
    lines = console(DEMO, "2027-03-01T16:00Z", ":as alice\n/retro schedule\n/retro skip 2027-03-15\n"
                                               "/retro unskip 2027-03-15\n:at 2027-03-16T00:00Z\n")
    before = next(ln.body for ln in lines if "next 6 slots" in ln.body)
    assert "Mon 15 Mar 14:00 PDT  (planned" in before
    assert len(said(lines, "#ml-team", "is on again (Alice), at the slot it had")) == 1
    fifteen = [ln for ln in reminders_for(lines, MARCH_15) if "in 15 minutes" in ln.body]
    assert {ln.where for ln in fifteen} == {f"DM {m}" for m in ("alice", "tomas", "marta", "noor", "ravi", "kenji")}
    assert all(ln.stamp.startswith("2027-03-15 20:45Z") for ln in fifteen)


def test_the_wrong_things_people_type_get_one_clear_line() -> None:
    lines = console(DEMO, "2027-03-01T16:00Z", ":as alice\n/retro skip\n/retro skip someday\n/retro skip 2027-03-16\n"
                                               "/retro skip 15 mar\n/retro skip 15 mar\n/retro unskip 29 mar\n"
                                               ":as ravi\n/retro skip 2027-03-29\n"
                                               ":as alice\n:at 2027-03-15T21:10Z\n/retro skip 2027-03-29\n"
                                               "/retro unskip 2027-03-15\n")
    replies = [ln.body for ln in lines if ln.speaker.startswith("Meridian (only")]
    assert "Say which meeting to skip: `/retro skip DATE`" in replies[0]
    assert 'I can\'t read "someday" as a date' in replies[1]
    assert "sprint-retro has no meeting on Tue 16 Mar 2027. Coming: Mon 1 Mar 13:00 PST, Mon 15 Mar 14:00 PDT" \
        in replies[2]
    assert "already skipped" in replies[4]
    assert "is not skipped" in replies[5]
    assert "Only workspace admins or this round's facilitator" in replies[6]
    assert "Traceback" not in "".join(ln.body for ln in lines)
    # the 29 March meeting is still ahead, so it can be skipped; the 15th has begun and stays skipped
    assert "Skipped the sprint-retro meeting on Mon 29 Mar" in replies[7]
    assert "The sprint-retro meeting on Mon 15 Mar 14:00 PDT is over" in replies[8]


MOSTLY_AWAY = (DEMO.read_text()
               .replace("holidays: BR-SP}", 'holidays: BR-SP, ooo: ["2027-03-15..2027-03-16"]}')
               .replace("holidays: DE-BE}", 'holidays: DE-BE, ooo: ["2027-03-15..2027-03-16"]}')
               .replace("holidays: IN-KA}", 'holidays: IN-KA, ooo: ["2027-03-15..2027-03-16"]}')
               .replace("holidays: AU-NSW}", 'holidays: AU-NSW, ooo: ["2027-03-15..2027-03-16"]}'))


def test_the_note_that_most_are_away_carries_a_skip_button_that_works(tmp_path: Path) -> None:
    team = tmp_path / "team.yaml"
    team.write_text(MOSTLY_AWAY)
    assert MOSTLY_AWAY.count("2027-03-15..2027-03-16") == 4
    lines = console(team, "2027-03-05T00:00Z", ":at 2027-03-09T00:00Z\n:as alice\n:press Skip this one\n"
                                               ":at 2027-03-16T00:00Z\n")
    note = said(lines, "DM alice", "4 of 6 members are away")
    assert len(note) == 1 and "[Skip this one]" in note[0].body and "/retro skip 2027-03-15" in note[0].body
    assert len(said(lines, "#ml-team", "is skipped (Alice called it off)")) == 1
    assert reminders_for(lines, MARCH_15) == []


def test_nobody_carries_burden_for_a_skipped_meeting_even_one_already_published(sqlite_url: str) -> None:
    store = SqlStore.from_url(sqlite_url, create=False)
    _truncate(store)
    try:
        h = Harness(store, datetime(2027, 3, 1, 16, tzinfo=UTC))
        h.load(DEMO.read_text())

        async def live() -> None:
            session = ConsoleSession(h.app, h.chat, h.clock, "acme-ml", out=io.StringIO())
            # two days ahead the meeting is published (its thread's opening is within the scheduler's window),
            # and its cost written to the burden history; the thread opens 48 hours before the meeting
            assert await session.run_line(":at 2027-03-13T20:00Z") is not False
            occ = repo(h).get_occurrence("acme-ml", "sprint-retro", MARCH_15)
            assert occ is not None and occ.published and occ.status == "planned"
            assert await session.run_line(":as alice") is not False
            assert await session.run_line("/retro skip 2027-03-15") is not False
            await h.advance_to(datetime(2027, 3, 17, tzinfo=UTC))

        asyncio.run(live())
        occ = repo(h).get_occurrence("acme-ml", "sprint-retro", MARCH_15)
        assert occ is not None and occ.published and occ.status == "skipped"
        written = [e for e in repo(h).burden_history("acme-ml", "sprint-retro") if e.day == MARCH_15]
        assert written and any(e.penalty > 0 for e in written)  # charged when published …
        counted = [e for e in ledger(RetroContext(h.app, repo(h)), repo(h).get_retro("acme-ml", "sprint-retro"))
                   if e.day == MARCH_15]
        assert counted and all(e.penalty == 0 and not (e.early or e.late or e.night) for e in counted)  # … not now
        dms = [m for m in h.chat.messages if m.channel.startswith("@") and "retro-2027-03-15" in (m.key or "")]
        assert [m.key for m in dms if "remind15m" in (m.key or "")] == []
    finally:
        store.engine.dispose()
