"""The Slack chat port against the local Web API emulator."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from adapters.slack.chat import SlackChat, fixed_token
from bot.domain import Member
from bot.messages import Mention, Message, Section, rich
from bot.ports import RateLimited
from tests.emulators.slack import SlackEmulator

RAVI = Member("T0001", "U0RAVI", "Ravi", accounts={"slack": "U0RAVI"})


@pytest.fixture
async def slack() -> AsyncIterator[SlackEmulator]:
    async with SlackEmulator() as emulator:
        yield emulator


def port(slack: SlackEmulator) -> SlackChat:
    members = {"U0RAVI": RAVI}
    return SlackChat(fixed_token("xoxb-T0001-test"), lambda _ws, mid: members.get(mid), api_url=slack.api_url)


async def test_posts_go_to_the_configured_api_url_with_the_bot_token_and_mentions(slack: SlackEmulator) -> None:
    posted = await port(slack).post("T0001", "C1", Message.text("hi ", Mention("U0RAVI", "Ravi")))
    (call,) = slack.calls("chat.postMessage")
    assert call.token == "xoxb-T0001-test"
    assert call.params["channel"] == "C1"
    assert call.params["blocks"][0]["text"]["text"] == "hi <@U0RAVI>"
    assert posted.channel == "C1" and posted.message_id


async def test_a_long_message_continues_in_its_own_thread(slack: SlackEmulator) -> None:
    msg = Message(tuple(Section(rich(f"row {i}")) for i in range(70)), fallback="report")
    posted = await port(slack).post("T0001", "C1", msg)
    first, second = slack.calls("chat.postMessage")
    assert "thread_ts" not in first.params
    assert second.params["thread_ts"] == posted.message_id
    assert len(first.params["blocks"]) == 50 and len(second.params["blocks"]) == 20


async def test_a_dm_opens_the_conversation_once_per_person(slack: SlackEmulator) -> None:
    chat = port(slack)
    await chat.dm(RAVI, Message.text("one"))
    await chat.dm(RAVI, Message.text("two"))
    assert len(slack.calls("conversations.open")) == 1
    assert [c.params["channel"] for c in slack.calls("chat.postMessage")] == ["D0RAVI", "D0RAVI"]


async def test_a_429_reaches_the_outbox_as_rate_limited_with_retry_after(slack: SlackEmulator) -> None:
    slack.rate_limit("chat.postMessage", per_second=100, retry_after=7, storm=1)
    with pytest.raises(RateLimited) as err:
        await port(slack).post("T0001", "C1", Message.text("x"))
    assert 6.5 < err.value.retry_after <= 7
    assert len(slack.calls("chat.postMessage#429")) == 1 and not slack.calls("chat.postMessage")


async def test_profile_reads_the_zone_and_keeps_a_missing_zone_missing(slack: SlackEmulator) -> None:
    slack.add_user("U0RAVI", "Ravi", "Asia/Kolkata")
    profile = await port(slack).profile(RAVI)
    assert profile is not None and profile.tz == "Asia/Kolkata" and profile.name == "Ravi"
    slack.add_user("U0RAVI", "Ravi", None)
    profile = await port(slack).profile(RAVI)
    assert profile is not None and profile.tz is None
