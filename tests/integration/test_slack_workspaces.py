"""Multi-workspace install over OAuth, and two workspaces that cannot see each other's data."""

from __future__ import annotations

import html
import json
import logging
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.kernel.timekeeping import utc
from tests.integration.slack_harness import SECRET, SlackHarness

MONDAY = utc(2027, 3, 15, 10, 0)
OAUTH = {"SLACK_SIGNING_SECRET": SECRET, "SLACK_CLIENT_ID": "1111.2222", "SLACK_CLIENT_SECRET": "oauth-secret"}
TOKENS = {"T0AAA": "xoxb-T0AAA-token", "T0BBB": "xoxb-T0BBB-token"}


@pytest.fixture
async def slack(tmp_path: Path) -> AsyncIterator[SlackHarness]:
    async with SlackHarness(tmp_path, MONDAY, env=OAUTH) as harness:
        harness.emulator.add_user("U0AADMIN", "Ann", "Europe/Berlin", team_id="T0AAA", is_admin=True)
        harness.emulator.add_user("U0BADMIN", "Ben", "Europe/Berlin", team_id="T0BBB", is_admin=True)
        yield harness


async def install(slack: SlackHarness, team: str) -> None:
    """Walk the install flow as a browser does: the install page, then Slack's redirect back."""
    async with slack.session.get(f"{slack.url}/slack/install", allow_redirects=False) as resp:
        assert resp.status in (200, 302)
        page = await resp.text()
        cookie = resp.headers["Set-Cookie"].split(";")[0]
    location = resp.headers.get("Location") or html.unescape(re.search(r'href="(https://slack.com/oauth[^"]+)"', page).group(1))  # type: ignore[union-attr]
    state = re.search(r"state=([^&\"]+)", location).group(1)  # type: ignore[union-attr]
    assert "scope=" in location and "client_id=1111.2222" in location
    code = f"code-{team}"
    slack.emulator.add_oauth_code(code, team, TOKENS[team])
    async with slack.session.get(f"{slack.url}/slack/oauth_redirect", params={"code": code, "state": state},
                                 headers={"Cookie": cookie}) as resp:
        assert resp.status == 200, await resp.text()


async def answer(slack: SlackHarness, user: str, team: str, text: str) -> None:
    await slack.command("", user=user, team=team)
    await slack.until(lambda: any(c.params.get("view", {}).get("callback_id") == "standup.submit"
                                  for c in slack.emulator.calls("views.open") if c.token == TOKENS[team]))
    view = next(c.params["view"] for c in slack.emulator.calls("views.open") if c.token == TOKENS[team]
                and c.params["view"]["callback_id"] == "standup.submit")
    await slack.submit(view, {"q0": text, "q1": "more", "q2": ""}, user=user, team=team)


async def test_a_bad_oauth_state_installs_nothing(slack: SlackHarness) -> None:
    slack.emulator.add_oauth_code("code-x", "T0AAA", TOKENS["T0AAA"])
    async with slack.session.get(f"{slack.url}/slack/oauth_redirect",
                                 params={"code": "code-x", "state": "forged"}) as resp:
        assert resp.status >= 400
    assert slack.adapter.repo.installed_workspaces() == []


async def test_installing_logs_no_token(slack: SlackHarness, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    await install(slack, "T0AAA")
    await slack.command("help", user="U0AADMIN", team="T0AAA")
    await slack.until(lambda: bool(slack.emulator.calls("response_url")))
    assert "installed in Slack workspace T0AAA" in caplog.text
    assert TOKENS["T0AAA"] not in caplog.text and "oauth-secret" not in caplog.text


async def test_two_workspaces_cannot_see_each_others_data(slack: SlackHarness) -> None:
    await install(slack, "T0AAA")
    await install(slack, "T0BBB")
    assert sorted(slack.adapter.repo.installed_workspaces()) == ["T0AAA", "T0BBB"]

    for user, team in (("U0AADMIN", "T0AAA"), ("U0BADMIN", "T0BBB")):
        await slack.command("setup daily channel=C0SAME at=09:30", user=user, team=team)
    await slack.until(lambda: all(slack.app.store.get_standup(t, "daily") for t in TOKENS))
    await answer(slack, "U0AADMIN", "T0AAA", "alpha secret")
    await answer(slack, "U0BADMIN", "T0BBB", "beta secret")
    await slack.settle(0.3)

    for secret, team in (("alpha secret", "T0AAA"), ("beta secret", "T0BBB")):
        carrying = [c for c in slack.emulator.calls() if secret in json.dumps(c.params)]
        assert carrying, f"{secret} was never posted"
        assert {c.token for c in carrying if c.method != "response_url"} == {TOKENS[team]}

    slack.emulator.reset()
    await slack.command("report", user="U0BADMIN", team="T0BBB")
    await slack.until(lambda: bool(slack.emulator.calls("response_url")))
    await slack.settle(0.2)
    assert "alpha secret" not in json.dumps([c.params for c in slack.emulator.calls()])
    assert [m.id for m in slack.app.store.list_members("T0AAA")] == ["U0AADMIN"]
    assert [m.id for m in slack.app.store.list_members("T0BBB")] == ["U0BADMIN"]
