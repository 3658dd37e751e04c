"""Socket Mode: the same handlers, reached over a websocket instead of HTTP."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.kernel.timekeeping import utc
from tests.integration.slack_harness import SlackHarness

SOCKET_ENV = {"SLACK_APP_TOKEN": "xapp-1-A0001-test", "SLACK_BOT_TOKEN": "xoxb-T0001-test"}


@pytest.fixture
async def slack(tmp_path: Path) -> AsyncIterator[SlackHarness]:
    async with SlackHarness(tmp_path, utc(2027, 3, 15, 10, 0), env=SOCKET_ENV, socket_mode=True) as harness:
        harness.emulator.add_user("U0ALICE", "Alice", "Europe/Berlin", is_admin=True)
        yield harness


async def test_commands_events_and_modals_work_over_socket_mode(slack: SlackHarness) -> None:
    emulator = slack.emulator
    assert emulator.calls("apps.connections.open")[0].token == "xapp-1-A0001-test"

    ack = await emulator.push_envelope("events_api", {
        "type": "event_callback", "team_id": "T0001", "event_id": "Ev0SOCKET1",
        "event": {"type": "member_joined_channel", "user": "U0ALICE", "channel": "C0TEAM", "team": "T0001"}})
    assert "envelope_id" in ack
    await slack.until(lambda: slack.app.store.find_member_by_account("T0001", "slack", "U0ALICE") is not None)

    command = {"team_id": "T0001", "team_domain": "acme", "channel_id": "C0TEAM", "user_id": "U0ALICE",
               "command": "/standup", "text": "setup daily channel=C0TEAM at=09:30",
               "response_url": emulator.response_url(), "trigger_id": f"{uuid.uuid4().int % 10**9}.t"}
    await emulator.push_envelope("slash_commands", command)
    await slack.until(lambda: slack.app.store.get_standup("T0001", "daily") is not None)

    await emulator.push_envelope("slash_commands", {**command, "text": "", "trigger_id": "42.t"})
    await slack.until(lambda: bool(emulator.calls("views.open")))
    view = emulator.calls("views.open")[0].params["view"]
    assert view["callback_id"] == "standup.submit"

    submitted = {**view, "id": "V1", "state": {"values": {
        "q0": {"q0": {"type": "plain_text_input", "value": "wrote the socket test"}},
        "q1": {"q1": {"type": "plain_text_input", "value": "ship it"}},
        "q2": {"q2": {"type": "plain_text_input", "value": None}}}}}
    ack = await emulator.push_envelope("interactive", {"type": "view_submission", "team": {"id": "T0001"},
                                                       "user": {"id": "U0ALICE", "team_id": "T0001"},
                                                       "view": submitted})
    assert ack.get("payload", {}).get("response_action") in (None, "clear")
    await slack.until(lambda: any("wrote the socket test" in json.dumps(c.params)
                                  for c in emulator.calls("chat.postMessage")))
    run_posts = [c for c in emulator.calls("chat.postMessage") if "wrote the socket test" in json.dumps(c.params)]
    assert run_posts[0].where == "C0TEAM" and "thread_ts" in run_posts[0].params
