"""Fan-out under Slack's rate limits, the App Home, and people's zones, through the real app."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.kernel.timekeeping import utc
from tests.integration.slack_harness import SlackHarness

MONDAY_EARLY = utc(2027, 3, 15, 6, 0)
TEAM = [f"U0P{n:03d}" for n in range(8)]


@pytest.fixture
async def slack(tmp_path: Path) -> AsyncIterator[SlackHarness]:
    async with SlackHarness(tmp_path, MONDAY_EARLY) as harness:
        harness.emulator.add_user("U0ALICE", "Alice", "Europe/Berlin", is_admin=True)
        for user in TEAM:
            harness.emulator.add_user(user, f"Person {user}", "Europe/Berlin")
        yield harness


async def join(slack: SlackHarness, *users: str) -> None:
    for user in users:
        await slack.event({"type": "member_joined_channel", "user": user, "channel": "C0TEAM", "team": "T0001"})
    await slack.until(lambda: all(slack.app.store.find_member_by_account("T0001", "slack", u) for u in users))


async def test_a_429_storm_during_fan_out_delivers_every_reminder_once(slack: SlackHarness) -> None:
    await join(slack, "U0ALICE", *TEAM)
    await slack.command("setup ml-daily channel=C0TEAM at=09:30", user="U0ALICE")
    await slack.until(lambda: slack.app.store.get_standup("T0001", "ml-daily") is not None)
    slack.emulator.rate_limit("chat.postMessage", per_second=3, retry_after=1, storm=4)

    await slack.engine.advance_to(utc(2027, 3, 15, 8, 31), slack.clock)  # 09:30 in Berlin is 08:30 UTC

    refused = slack.emulator.calls("chat.postMessage#429")
    delivered = [c for c in slack.emulator.calls("chat.postMessage")
                 if str(c.where).startswith("D") and "Stand-up: ml-daily" in json.dumps(c.params)]
    assert len(refused) >= 4
    assert sorted(c.where for c in delivered) == sorted("D" + u[1:] for u in ["U0ALICE", *TEAM])


async def test_the_app_home_shows_the_next_reminder_in_the_persons_own_time(slack: SlackHarness) -> None:
    await join(slack, "U0ALICE")
    await slack.command("setup ml-daily channel=C0TEAM at=09:30", user="U0ALICE")
    await slack.until(lambda: slack.app.store.get_standup("T0001", "ml-daily") is not None)
    await slack.event({"type": "app_home_opened", "user": "U0ALICE", "channel": "D0ALICE", "tab": "home"})
    await slack.until(lambda: bool(slack.emulator.calls("views.publish")))
    (call,) = slack.emulator.calls("views.publish")
    assert call.params["user_id"] == "U0ALICE"
    view = json.dumps(call.params["view"])
    assert call.params["view"]["type"] == "home"
    assert "Europe/Berlin" in view
    assert "ml-daily" in view and "today at 09:30" in view


async def test_a_person_without_a_zone_gets_the_default_and_is_asked_once(slack: SlackHarness) -> None:
    slack.emulator.add_user("U0NOZONE", "Nadia", None)
    await join(slack, "U0NOZONE")
    await slack.event({"type": "app_home_opened", "user": "U0NOZONE", "channel": "D0NOZONE", "tab": "home"})
    await slack.until(lambda: bool(slack.emulator.calls("views.publish")))
    member = slack.app.store.find_member_by_account("T0001", "slack", "U0NOZONE")
    assert member is not None and member.tz == "UTC"
    asks = [c for c in slack.emulator.calls("chat.postMessage") if "/meridian tz" in json.dumps(c.params)]
    assert len(asks) == 1 and asks[0].where == "D0NOZONE"


async def test_user_change_follows_slack_but_never_overrides_meridian_tz(slack: SlackHarness) -> None:
    await join(slack, "U0ALICE", "U0P000")
    moved = {"id": "U0P000", "team_id": "T0001", "name": "p", "real_name": "Person", "tz": "Asia/Tokyo",
             "profile": {"display_name": "Person U0P000"}}
    await slack.event({"type": "user_change", "user": moved})
    await slack.until(lambda: slack.app.store.get_member("T0001", "U0P000").tz == "Asia/Tokyo")  # type: ignore[union-attr]

    await slack.command("tz America/Chicago", user="U0ALICE", command="/meridian")
    await slack.until(lambda: slack.app.store.get_member("T0001", "U0ALICE").tz == "America/Chicago")  # type: ignore[union-attr]
    await slack.event({"type": "user_change", "user": {"id": "U0ALICE", "team_id": "T0001", "tz": "Asia/Tokyo",
                                                       "profile": {"display_name": "Alice"}}})
    await slack.settle(0.3)
    alice = slack.app.store.get_member("T0001", "U0ALICE")
    assert alice is not None and alice.tz == "America/Chicago"


async def test_answers_typed_in_the_dm_arrive_as_message_im_events(slack: SlackHarness) -> None:
    await join(slack, "U0ALICE")
    await slack.command("setup ml-daily channel=C0TEAM at=09:30 questions=Done?|Next?", user="U0ALICE")
    await slack.until(lambda: slack.app.store.get_standup("T0001", "ml-daily") is not None)
    await slack.engine.advance_to(utc(2027, 3, 15, 8, 31), slack.clock)
    for n, text in enumerate(("fixed the <!here> loader", "evaluate")):
        await slack.event({"type": "message", "channel": "D0ALICE", "channel_type": "im", "user": "U0ALICE",
                           "text": text, "ts": f"1790000100.00000{n}"})
        await slack.settle(0.2)
    await slack.until(lambda: any("evaluate" in json.dumps(c.params) and c.where == "C0TEAM"
                                  for c in slack.emulator.calls("chat.postMessage")))
    post = next(c for c in slack.emulator.calls("chat.postMessage")
                if c.where == "C0TEAM" and "evaluate" in json.dumps(c.params))
    posted = json.dumps(post.params)
    assert "fixed the @here loader" in posted  # the person's own @here becomes words, never a ping
    assert "<!here>" not in posted


async def test_bot_messages_and_edits_are_not_taken_as_answers(slack: SlackHarness) -> None:
    await join(slack, "U0ALICE")
    before = len(slack.emulator.calls())
    await slack.event({"type": "message", "channel": "D0ALICE", "channel_type": "im", "bot_id": "BBOT",
                       "text": "echo", "ts": "1.1"})
    await slack.event({"type": "message", "subtype": "message_changed", "channel": "D0ALICE",
                       "channel_type": "im", "ts": "1.2"})
    await slack.settle(0.3)
    assert len(slack.emulator.calls()) == before


async def test_zones_are_refreshed_by_the_daily_sweep(slack: SlackHarness) -> None:
    await join(slack, "U0P001")
    slack.emulator.add_user("U0P001", "Person U0P001", "America/Sao_Paulo")
    await slack.engine.advance_to(utc(2027, 3, 16, 3, 5), slack.clock)
    member = slack.app.store.get_member("T0001", "U0P001")
    assert member is not None and member.tz == "America/Sao_Paulo"


async def test_snooze_on_the_reminder_answers_in_place_and_reminds_again_an_hour_later(slack: SlackHarness) -> None:
    await join(slack, "U0ALICE")
    await slack.command("setup ml-daily channel=C0TEAM at=09:30", user="U0ALICE")
    await slack.until(lambda: slack.app.store.get_standup("T0001", "ml-daily") is not None)
    await slack.engine.advance_to(utc(2027, 3, 15, 8, 31), slack.clock)
    reminder = next(c for c in slack.emulator.calls("chat.postMessage") if c.where == "D0ALICE")
    snooze = next(b for b in reminder.params["blocks"] if b["type"] == "actions")["elements"][2]
    slack.emulator.reset()
    await slack.press(snooze, user="U0ALICE", channel="D0ALICE")
    await slack.until(lambda: bool(slack.emulator.calls("response_url")))
    assert "Snoozed" in json.dumps(slack.emulator.calls("response_url")[0].params)
    slack.emulator.reset()
    await slack.engine.advance_to(utc(2027, 3, 15, 9, 35), slack.clock)
    again = [c for c in slack.emulator.calls("chat.postMessage") if c.where == "D0ALICE"]
    assert len(again) == 1 and "Stand-up: ml-daily" in json.dumps(again[0].params)


async def test_a_zone_change_in_slack_moves_the_pending_reminder(slack: SlackHarness) -> None:
    await join(slack, "U0ALICE", "U0P001")
    await slack.command("setup ml-daily channel=C0TEAM at=09:30", user="U0ALICE")
    await slack.until(lambda: slack.app.store.get_standup("T0001", "ml-daily") is not None)
    slack.engine.plan(force=True)  # Monday's 09:30 Berlin reminder (08:30Z) is planned
    moved = {"id": "U0P001", "team_id": "T0001", "name": "p", "real_name": "Person", "tz": "America/New_York",
             "profile": {"display_name": "Person U0P001"}}
    await slack.event({"type": "user_change", "user": moved})
    await slack.until(lambda: slack.app.store.get_member("T0001", "U0P001").tz == "America/New_York")  # type: ignore[union-attr]
    await slack.engine.advance_to(utc(2027, 3, 15, 14, 0), slack.clock)
    reminders = [c for c in slack.emulator.calls("chat.postMessage")
                 if c.where == "D0P001" and "Stand-up: ml-daily" in json.dumps(c.params)]
    assert len(reminders) == 1
    assert slack.clock.now() >= utc(2027, 3, 15, 13, 30)  # 09:30 in New York (EDT), not 08:30Z
    due = [r for r in slack.app.store.due_items("standup:T0001:ml-daily:reminder:U0P001:2027-03-15")]
    assert [r.due_at for r in due] == [utc(2027, 3, 15, 13, 30)] and due[0].status == "done"
