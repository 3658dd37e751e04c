"""Out of office from the Slack status (issue 13 item 2): ``user_change`` events as Slack sends them.

A vacation or sick status and its expiry keep a person's stand-up reminders away while it lasts; a status
without an expiry counts until it is cleared (and the person is told once); other statuses change nothing;
``/meridian status-ooo off`` keeps the reminders whatever the status says; a status set while Meridian was
not listening is read at the daily profile sweep.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import date, datetime
from pathlib import Path

import pytest

from bot.kernel.domain import Member
from bot.kernel.team import apply_team, export_team
from bot.kernel.teamfile import load_team
from bot.kernel.timekeeping import utc
from tests.emulators.slack import SlackEmulator
from tests.integration.slack_harness import SlackHarness

SUNDAY_NIGHT = utc(2027, 3, 14, 20, 0)
MONDAY, TUESDAY, WEDNESDAY = date(2027, 3, 15), date(2027, 3, 16), date(2027, 3, 17)
PEOPLE = {"U0ALICE": ("Alice", "America/Los_Angeles"), "U0RAVI": ("Ravi", "Asia/Kolkata"),
          "U0NOOR": ("Noor", "Asia/Dubai")}
END_OF_TUESDAY_IN_KOLKATA = int(utc(2027, 3, 16, 18, 29).timestamp()) + 59  # 23:59:59 +05:30, Slack's "Today"


@pytest.fixture
async def slack(tmp_path: Path) -> AsyncIterator[SlackHarness]:
    async with SlackHarness(tmp_path, SUNDAY_NIGHT) as harness:
        clock = harness.clock
        harness.emulator._clock = lambda: clock.now().timestamp()
        for user, (name, tz) in PEOPLE.items():
            harness.emulator.add_user(user, name, tz, is_admin=user == "U0ALICE")
        for user in PEOPLE:
            await harness.event({"type": "member_joined_channel", "user": user, "channel": "C0TEAM",
                                 "team": "T0001"})
        await harness.until(lambda: len(harness.app.store.list_members("T0001")) == 3)
        await harness.command("setup ml-daily channel=C0TEAM at=09:30", user="U0ALICE")
        await harness.until(lambda: harness.app.store.get_standup("T0001", "ml-daily") is not None)
        harness.emulator.reset()
        yield harness


def reminded(emulator: SlackEmulator, user: str) -> list[date]:
    """The days a person got their stand-up reminder, by the simulated instant it went out (their zone)."""
    from zoneinfo import ZoneInfo
    zone = ZoneInfo(PEOPLE[user][1])
    return [datetime.fromtimestamp(c.at, zone).date() for c in emulator.calls("chat.postMessage")
            if c.where == "D" + user[1:] and "Stand-up: ml-daily" in json.dumps(c.params.get("blocks"))]


def dms_to(emulator: SlackEmulator, user: str, words: str) -> list[str]:
    return [json.dumps(c.params) for c in emulator.calls("chat.postMessage")
            if c.where == "D" + user[1:] and words in json.dumps(c.params)]


def member(slack: SlackHarness, user: str) -> Member:
    found = slack.app.store.find_member_by_account("T0001", "slack", user)
    assert found is not None
    return found


async def status(slack: SlackHarness, user: str, emoji: str = "", text: str = "", expiration: int = 0) -> None:
    await slack.event(slack.emulator.set_status(user, emoji, text, expiration))
    await slack.settle(0.2)


async def reply_to(slack: SlackHarness, text: str, user: str) -> str:
    before = len(slack.emulator.calls("response_url"))
    await slack.command(text, user=user, command="/meridian")
    await slack.until(lambda: len(slack.emulator.calls("response_url")) > before)
    return json.dumps(slack.emulator.calls("response_url")[-1].params, ensure_ascii=False)


async def test_a_vacation_status_keeps_reminders_away_until_it_expires_and_the_report_lists_the_person_away(
        slack: SlackHarness) -> None:
    await status(slack, "U0RAVI", ":palm_tree:", "Vacationing", END_OF_TUESDAY_IN_KOLKATA)
    ravi = member(slack, "U0RAVI")
    assert ravi.away_reason(MONDAY) == "out of office until Tue 16 Mar — Slack status 🌴 Vacationing"
    assert ravi.away_reason(TUESDAY) == "out of office — Slack status 🌴 Vacationing"
    assert not ravi.is_away(WEDNESDAY)

    await slack.engine.advance_to(utc(2027, 3, 17, 17, 0), slack.clock)
    assert reminded(slack.emulator, "U0RAVI") == [WEDNESDAY]
    assert reminded(slack.emulator, "U0NOOR") == [MONDAY, TUESDAY, WEDNESDAY]
    assert not dms_to(slack.emulator, "U0RAVI", "no end date")  # it ends: nothing to warn about

    await slack.command("report 2027-03-15", user="U0ALICE")
    await slack.until(lambda: any("Ravi" in json.dumps(c.params) for c in slack.emulator.calls("response_url")))
    report = json.dumps([c.params for c in slack.emulator.calls("response_url")], ensure_ascii=False)
    assert "Away" in report and "Ravi" in report


async def test_clearing_the_status_brings_the_days_reminder_back(slack: SlackHarness) -> None:
    await status(slack, "U0NOOR", ":face_with_thermometer:", "Out sick", END_OF_TUESDAY_IN_KOLKATA)
    assert member(slack, "U0NOOR").away_reason(MONDAY) == "out of office until Tue 16 Mar — Slack status 🤒 Out sick"
    await slack.engine.advance_to(utc(2027, 3, 15, 3, 0), slack.clock)  # 07:00 in Dubai: better already
    await status(slack, "U0NOOR")  # Slack sends a user_change with an empty status
    assert not member(slack, "U0NOOR").is_away(MONDAY)  # set and cleared the same morning: nothing kept
    assert member(slack, "U0NOOR").status_away == ()
    await slack.engine.advance_to(utc(2027, 3, 15, 6, 0), slack.clock)
    assert reminded(slack.emulator, "U0NOOR") == [MONDAY]


async def test_a_status_without_expiry_counts_until_cleared_and_the_person_is_told_once(slack: SlackHarness) -> None:
    await status(slack, "U0RAVI", ":palm_tree:", "On vacation")
    await status(slack, "U0RAVI", ":palm_tree:", "On vacation")  # the same status again (another profile edit)
    told = dms_to(slack.emulator, "U0RAVI", "no end date")
    assert len(told) == 1
    assert "/meridian status-ooo off" in told[0] and "Tue 14 Mar 2028" in told[0]
    ravi = member(slack, "U0RAVI")
    assert ravi.away_reason(date(2027, 9, 1)) == "out of office — Slack status 🌴 On vacation"
    assert ravi.is_away(date(2028, 3, 14)) and not ravi.is_away(date(2028, 3, 15))  # a year at most
    assert not ravi.is_away(date(2027, 3, 14))  # never before it was set (Monday already in Kolkata)

    await slack.engine.advance_to(utc(2027, 3, 16, 17, 0), slack.clock)
    assert reminded(slack.emulator, "U0RAVI") == []
    await status(slack, "U0RAVI")  # back: cleared on Tuesday evening
    await slack.engine.advance_to(utc(2027, 3, 17, 17, 0), slack.clock)
    assert reminded(slack.emulator, "U0RAVI") == [WEDNESDAY]
    ravi = member(slack, "U0RAVI")
    assert ravi.is_away(MONDAY) and ravi.is_away(TUESDAY) and not ravi.is_away(date(2027, 9, 1))


async def test_statuses_that_do_not_mean_away_change_nothing(slack: SlackHarness) -> None:
    in_an_hour = int(utc(2027, 3, 15, 5, 0).timestamp())
    await status(slack, "U0RAVI", ":spiral_calendar_pad:", "In a meeting")
    await status(slack, "U0NOOR", ":speech_balloon:", "Gooood morning, no OOOps here")
    await status(slack, "U0ALICE", ":palm_tree:", "lunch on the beach", in_an_hour)  # gone before the day's end
    await slack.engine.advance_to(utc(2027, 3, 15, 17, 0), slack.clock)
    assert reminded(slack.emulator, "U0RAVI") == [MONDAY]
    assert reminded(slack.emulator, "U0NOOR") == [MONDAY]
    assert reminded(slack.emulator, "U0ALICE") == [MONDAY]
    assert all(member(slack, u).status_away == () for u in ("U0RAVI", "U0NOOR"))
    assert not member(slack, "U0ALICE").is_away(MONDAY)


async def test_a_person_can_turn_the_status_off_and_on_again(slack: SlackHarness) -> None:
    said = await reply_to(slack, "status-ooo off", "U0RAVI")
    assert "no longer counts" in said
    await status(slack, "U0RAVI", ":palm_tree:", "Vacation", END_OF_TUESDAY_IN_KOLKATA)
    assert member(slack, "U0RAVI").status_away == () and not member(slack, "U0RAVI").status_ooo
    assert "off" in await reply_to(slack, "status-ooo", "U0RAVI")

    said = await reply_to(slack, "status-ooo on", "U0RAVI")  # Meridian reads the status Slack holds now
    assert "It does now: out of office until Tue 16 Mar — Slack status 🌴 Vacation" in said
    await slack.engine.advance_to(utc(2027, 3, 15, 17, 0), slack.clock)
    assert reminded(slack.emulator, "U0RAVI") == []

    for wrong, expected in (("status-ooo maybe", "neither `on` nor `off`"), ("status-ooo of", "neither"),
                            ("statusooo off", "Did you mean `/meridian status-ooo`")):
        said = await reply_to(slack, wrong, "U0RAVI")
        assert expected in said and "Traceback" not in said


async def test_a_status_set_while_meridian_was_not_listening_is_read_at_the_daily_sweep(
        slack: SlackHarness) -> None:
    slack.emulator.set_status("U0RAVI", ":palm_tree:", "Vacation", END_OF_TUESDAY_IN_KOLKATA)  # no event arrives
    await slack.engine.advance_to(utc(2027, 3, 15, 3, 5), slack.clock)  # the 03:00 UTC profile sweep
    assert member(slack, "U0RAVI").away_reason(MONDAY) == "out of office until Tue 16 Mar — Slack status 🌴 Vacation"
    await slack.engine.advance_to(utc(2027, 3, 15, 17, 0), slack.clock)
    assert reminded(slack.emulator, "U0RAVI") == []


async def test_the_team_file_chooses_which_statuses_count_and_who_keeps_reminders(
        slack: SlackHarness, tmp_path: Path) -> None:
    team = tmp_path / "team.yaml"
    team.write_text("""\
workspace: T0001
ooo_status: {emoji: [":airplane:"], text: [sabbatical]}
members:
  - {id: ravi, name: Ravi, tz: Asia/Kolkata, accounts: {slack: U0RAVI}}
  - {id: noor, name: Noor, tz: Asia/Dubai, accounts: {slack: U0NOOR}, status_ooo: false}
  - {id: alice, name: Alice, tz: America/Los_Angeles, accounts: {slack: U0ALICE}, admin: true}
standups:
  - {name: ml-daily, channel: C0TEAM, remind_at: "09:30"}
""")
    apply_team(slack.app, load_team(team, slack.app.sections), platform="slack")
    await status(slack, "U0RAVI", ":airplane:", "", END_OF_TUESDAY_IN_KOLKATA)
    await status(slack, "U0NOOR", ":airplane:", "sabbatical")
    await status(slack, "U0ALICE", ":palm_tree:", "Vacation")  # not in this team's list any more
    assert member(slack, "U0RAVI").away_reason(MONDAY) == "out of office until Tue 16 Mar — Slack status ✈️"
    assert member(slack, "U0NOOR").status_away == ()
    assert member(slack, "U0ALICE").status_away == ()
    apply_team(slack.app, load_team(team, slack.app.sections), platform="slack")  # importing again keeps it
    assert member(slack, "U0RAVI").is_away(MONDAY)
    exported = export_team(slack.app, "T0001")
    assert exported["ooo_status"] == {"emoji": [":airplane:"], "text": ["sabbatical"]}
    assert [m.get("status_ooo", True) for m in exported["members"]] == [True, False, True]  # alice, noor, ravi


async def test_extending_a_vacation_keeps_one_absence_and_moves_its_end(slack: SlackHarness) -> None:
    await status(slack, "U0RAVI", ":palm_tree:", "Vacation", END_OF_TUESDAY_IN_KOLKATA)
    await slack.engine.advance_to(utc(2027, 3, 16, 6, 0), slack.clock)  # Tuesday: one more day, please
    await status(slack, "U0RAVI", ":palm_tree:", "Vacation", END_OF_TUESDAY_IN_KOLKATA + 86400)
    ravi = member(slack, "U0RAVI")
    assert len(ravi.status_away) == 1 and ravi.status_away[0].since == MONDAY
    assert ravi.away_reason(MONDAY) == "out of office until Wed 17 Mar — Slack status 🌴 Vacation"
    await slack.engine.advance_to(utc(2027, 3, 18, 6, 0), slack.clock)
    assert reminded(slack.emulator, "U0RAVI") == [date(2027, 3, 18)]


async def test_a_status_change_from_someone_who_left_with_forget_me_brings_nothing_back(slack: SlackHarness) -> None:
    await reply_to(slack, "forget-me confirm", "U0NOOR")
    await slack.until(lambda: slack.app.store.find_member_by_account("T0001", "slack", "U0NOOR") is None)
    slack.emulator.reset()
    await status(slack, "U0NOOR", ":palm_tree:", "Vacation")
    assert slack.app.store.find_member_by_account("T0001", "slack", "U0NOOR") is None
    assert not slack.emulator.calls("chat.postMessage")
