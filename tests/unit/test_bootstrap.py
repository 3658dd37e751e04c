"""Which platform an imported team talks on, chosen the way ``meridian import`` chooses it."""

from __future__ import annotations

import re

import pytest

from bot.bootstrap import configured_platforms, default_platform
from bot.settings import SettingsError, load_settings

SLACK = {"SLACK_BOT_TOKEN": "xoxb-T0001-x", "SLACK_SIGNING_SECRET": "s"}
TEAMS = {"MicrosoftAppId": "app", "MicrosoftAppPassword": "p"}


def settings(**env: str):  # type: ignore[no-untyped-def]
    return load_settings({"DATABASE_URL": "sqlite://", **env}, dotenv=None)


def test_with_no_chat_platform_configured_a_team_talks_on_the_console() -> None:
    assert configured_platforms(settings()) == []
    assert default_platform(settings(), [{"slack": "U1"}]) == "console"


def test_the_one_configured_platform_is_the_teams_whatever_accounts_it_lists() -> None:
    assert default_platform(settings(**SLACK), [{"teams": "29:x"}]) == "slack"
    assert default_platform(settings(**TEAMS), []) == "teams"


def test_with_both_configured_the_members_accounts_decide_and_a_tie_asks_for_the_flag() -> None:
    both = settings(**SLACK, **TEAMS)
    assert default_platform(both, [{"teams": "29:a"}, {"teams": "29:b", "slack": "U2"}]) == "teams"
    with pytest.raises(SettingsError, match=re.escape("name the team's platform with --platform slack|teams")):
        default_platform(both, [{"email": "a@b"}])
