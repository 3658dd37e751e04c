"""``manifest.json`` declares exactly what the code registers, and the code registers what it declares."""

from __future__ import annotations

import json
from pathlib import Path

from adapters.slack.app import BOT_EVENTS, BOT_SCOPES, MESSAGE_SHORTCUTS, SlackAdapter, slack_chat
from adapters.slack.config import SlackConfig
from bot.bootstrap import build_core, open_store
from bot.kernel.clock import SimulatedClock
from bot.kernel.timekeeping import utc
from storage.db import make_engine
from storage.slack.repo import SlackRepo

MANIFEST = json.loads((Path(__file__).resolve().parents[2] / "manifest.json").read_text())

EVENT_SCOPES = {
    "message.channels": {"channels:history"},
    "message.groups": {"groups:history"},
    "message.im": {"im:history"},
    "reaction_added": {"reactions:read"},
    "reaction_removed": {"reactions:read"},
    "member_joined_channel": {"channels:read", "groups:read"},
    "user_change": {"users:read"},
    "app_home_opened": set(),
    "app_mention": {"app_mentions:read"},
}


def adapter(tmp: Path) -> SlackAdapter:
    url = f"sqlite:///{tmp / 'm.db'}"
    config = SlackConfig(signing_secret="s", bot_token="xoxb-T1-x", api_url="http://127.0.0.1:9/api/")
    repo = SlackRepo(make_engine(url))
    chat = slack_chat(config, repo)
    core = build_core(open_store(url), SimulatedClock(utc(2027, 3, 15)), {"slack": chat}, worker="test",
                      attach=[chat.attach])
    return SlackAdapter(core, config, repo, chat)


def test_manifest_commands_are_exactly_the_registered_slash_commands(tmp_path: Path) -> None:
    declared = {c["command"].lstrip("/") for c in MANIFEST["features"]["slash_commands"]}
    slack = adapter(tmp_path)
    assert declared == set(slack.registered_commands)
    assert declared == {"standup", "raci", "retro", "experiments", "drift", "meridian"}
    assert set(slack.meridian.families) <= declared, "a core command is missing from manifest.json"


def test_manifest_events_are_exactly_the_registered_event_listeners(tmp_path: Path) -> None:
    declared = MANIFEST["settings"]["event_subscriptions"]["bot_events"]
    assert sorted(declared) == sorted(BOT_EVENTS)
    assert {e.split(".")[0] for e in declared} == set(adapter(tmp_path).registered_events)
    for required in ("app_home_opened", "app_mention", "message.channels", "message.groups", "message.im", "reaction_added",
                     "reaction_removed", "member_joined_channel", "user_change"):
        assert required in declared


def test_manifest_asks_for_the_scopes_used_and_no_more() -> None:
    declared = set(MANIFEST["oauth_config"]["scopes"]["bot"])
    assert declared == set(BOT_SCOPES)
    needed = {"commands", "chat:write", "im:write", "users:read",
              "files:write", "files:read"}  # attachments uploaded as files; the CSV shared for /raci import
    for event in MANIFEST["settings"]["event_subscriptions"]["bot_events"]:
        needed |= EVENT_SCOPES[event]
    assert declared == needed


def test_manifest_enables_interactivity_socket_mode_and_the_home_tab() -> None:
    settings = MANIFEST["settings"]
    assert settings["interactivity"]["is_enabled"] is True
    assert settings["socket_mode_enabled"] is True
    assert MANIFEST["features"]["app_home"]["home_tab_enabled"] is True
    assert MANIFEST["_metadata"]["major_version"] == 1
    for command in MANIFEST["features"]["slash_commands"]:
        assert command["description"] and len(command["description"]) <= 100


def test_manifest_message_shortcuts_are_exactly_the_registered_ones(tmp_path: Path) -> None:
    declared = MANIFEST["features"]["shortcuts"]
    assert {s["callback_id"]: s["name"] for s in declared} == MESSAGE_SHORTCUTS
    assert [s["callback_id"] for s in declared] == adapter(tmp_path).registered_shortcuts == ["ask_owner"]
    for shortcut in declared:  # slackapi/manifest-schema: a message shortcut, name ≤ 24, description ≤ 150
        assert shortcut["type"] == "message" and shortcut["name"] == "Ask who owns this"
        assert 1 <= len(shortcut["name"]) <= 24 and 1 <= len(shortcut["description"]) <= 150
