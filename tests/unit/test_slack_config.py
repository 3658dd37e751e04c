"""Slack settings, command text as people typed it, and the Slack tables."""

from __future__ import annotations

from pathlib import Path

import pytest
from slack_sdk.oauth.installation_store import Installation

from adapters.slack.app import body_workspace
from adapters.slack.config import SlackConfig, SlackSettingError
from adapters.slack.install import DatabaseInstallationStore, DatabaseStateStore
from adapters.slack.translate import core_text
from bot.bootstrap import open_store
from storage.db import make_engine
from storage.slack.repo import SlackRepo


def test_slack_is_off_when_nothing_is_set() -> None:
    assert SlackConfig.from_env({}) is None


@pytest.mark.parametrize(("env", "named"), [
    ({"SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_SIGNING_SECRET"),
    ({"SLACK_BOT_TOKEN": "xoxp-1", "SLACK_SIGNING_SECRET": "s"}, "SLACK_BOT_TOKEN"),
    ({"SLACK_CLIENT_ID": "1.2", "SLACK_SIGNING_SECRET": "s"}, "SLACK_CLIENT_SECRET"),
])
def test_a_missing_or_wrong_setting_is_named(env: dict[str, str], named: str) -> None:
    with pytest.raises(SlackSettingError, match=named):
        SlackConfig.from_env(env)


def test_socket_mode_needs_an_app_token_and_no_signing_secret() -> None:
    with pytest.raises(SlackSettingError, match="SLACK_APP_TOKEN"):
        SlackConfig.from_env({"SLACK_BOT_TOKEN": "xoxb-1"}, socket_mode=True)
    config = SlackConfig.from_env({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1"}, socket_mode=True)
    assert config is not None and not config.multi_workspace


def test_command_text_comes_back_as_typed_with_people_as_member_ids() -> None:
    members = {"U04NOOR": "noor"}
    text = "set churn R=<@U04NOOR|noor> C=<@U0OTHER> in <#C0TEAM|ml-team> &lt;b&gt; &amp; <!subteam^S1|@ml>"
    assert core_text(text, lambda u: members.get(u, u)) == "set churn R=@noor C=@U0OTHER in C0TEAM <b> & @ml"


def test_the_workspace_of_an_org_wide_install_is_the_enterprise() -> None:
    assert body_workspace({"team_id": "T1", "enterprise_id": "E1", "is_enterprise_install": "true"}) == "E1"
    assert body_workspace({"team": {"id": "T1"}, "enterprise": {"id": "E1"}}) == "T1"
    assert body_workspace({"authorizations": [{"team_id": None, "enterprise_id": "E2",
                                               "is_enterprise_install": True}]}) == "E2"


def repo(tmp: Path) -> SlackRepo:
    url = f"sqlite:///{tmp / 's.db'}"
    open_store(url)  # migrations create the Slack tables
    return SlackRepo(make_engine(url))


def test_an_event_id_is_claimed_once(tmp_path: Path) -> None:
    slack = repo(tmp_path)
    assert slack.claim_event("Ev1", "T1", 1.0) is True
    assert slack.claim_event("Ev1", "T1", 2.0) is False
    assert slack.forget_events_before(1.5) == 1
    assert slack.claim_event("Ev1", "T1", 3.0) is True


async def test_an_oauth_state_is_good_once_and_only_while_fresh(tmp_path: Path) -> None:
    states = DatabaseStateStore(repo(tmp_path), ttl=600)
    state = await states.async_issue()
    assert await states.async_consume(state) is True
    assert await states.async_consume(state) is False
    stale = DatabaseStateStore(states.repo, ttl=-1)
    assert await stale.async_consume(await stale.async_issue()) is False


async def test_installations_are_found_by_workspace(tmp_path: Path) -> None:
    store = DatabaseInstallationStore(repo(tmp_path))
    await store.async_save(Installation(app_id="A1", team_id="T1", bot_token="xoxb-T1-a", bot_id="B1",
                                        bot_user_id="UBOT", bot_scopes=["commands"], user_id="U1"))
    await store.async_save(Installation(app_id="A1", enterprise_id="E9", team_id=None, bot_token="xoxb-E9-a",
                                        bot_id="B2", bot_user_id="UBOT2", user_id="U2", is_enterprise_install=True))
    bot = await store.async_find_bot(enterprise_id=None, team_id="T1")
    assert bot is not None and bot.bot_token == "xoxb-T1-a"
    org = await store.async_find_bot(enterprise_id="E9", team_id="T5")  # a team inside the org
    assert org is not None and org.bot_token == "xoxb-E9-a"
    assert await store.async_find_bot(enterprise_id=None, team_id="T2") is None
    assert await store.bot_token("T1") == "xoxb-T1-a"
