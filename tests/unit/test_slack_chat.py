"""The Slack chat port against the local Web API emulator."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest

from adapters.slack.chat import SlackChat, fixed_token
from bot.kernel.domain import Member
from bot.kernel.messages import Attachment, Mention, Message, Section, rich
from bot.kernel.ports import RateLimited
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
    assert call.where == "C1"
    assert call.params["blocks"][0]["text"]["text"] == "hi <@U0RAVI>"
    assert posted.channel == "C1" and posted.message_id


async def test_a_long_message_continues_in_its_own_thread(slack: SlackEmulator) -> None:
    msg = Message(tuple(Section(rich(f"row {i}")) for i in range(70)), fallback="report")
    posted = await port(slack).post("T0001", "C1", msg)
    first, second = slack.calls("chat.postMessage")
    assert "thread_ts" not in first.params
    assert second.params["thread_ts"] == posted.message_id
    assert len(first.params["blocks"]) == 50 and len(second.params["blocks"]) == 20


async def test_a_dm_goes_to_the_person_then_to_the_dm_slack_named_without_opening_it(slack: SlackEmulator) -> None:
    chat = port(slack)
    first = await chat.dm(RAVI, Message.text("one"))
    second = await chat.dm(RAVI, Message.text("two"))
    assert slack.calls("conversations.open") == []
    assert [c.params["channel"] for c in slack.calls("chat.postMessage")] == ["U0RAVI", "D0RAVI"]
    assert first.channel == second.channel == "D0RAVI"
    assert [m["text"] for m in slack.messages["D0RAVI"]] == ["one", "two"]


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


async def test_an_attachment_follows_its_message_as_a_file_in_the_same_thread(slack: SlackEmulator) -> None:
    ics = "BEGIN:VCALENDAR\r\nSUMMARY:retro <!here>\r\nEND:VCALENDAR\r\n"
    msg = Message((Section(rich("See you there")),), fallback="retro",
                  attachments=(Attachment("retro.ics", ics, "text/calendar"),))
    posted = await port(slack).post("T0001", "C1", msg, thread="1790000001.000002")
    (call,) = slack.calls("chat.postMessage")
    assert "VCALENDAR" not in str(call.params), "the file is uploaded, not pasted into the message"
    assert [c.method for c in slack.recorded if c.method.startswith("file")] == [
        "files.getUploadURLExternal", "file_upload", "files.completeUploadExternal"]
    (file,) = slack.uploaded("C1")
    assert (file.name, file.text, file.thread_ts) == ("retro.ics", ics, "1790000001.000002")
    assert all(c.token == "xoxb-T0001-test" for c in slack.calls("files.completeUploadExternal"))
    assert posted.channel == "C1"


async def test_a_refused_upload_shows_the_file_inline_and_the_message_is_sent_once(slack: SlackEmulator) -> None:
    slack.fail("files.getUploadURLExternal", "missing_scope")
    msg = Message((Section(rich("Your export")),), fallback="export",
                  attachments=(Attachment("raci.csv", "activity,ravi\nchurn <!channel>,R\n", "text/csv"),))
    posted = await port(slack).post("T0001", "C1", msg)
    first, inline = slack.calls("chat.postMessage")
    assert first.params["blocks"][0]["text"]["text"] == "Your export"
    shown = json.dumps(inline.params["blocks"])
    assert "raci.csv" in shown and "churn &lt;!channel&gt;,R" in shown and "<!channel>" not in shown
    assert not slack.uploaded() and posted.channel == "C1"


async def test_the_csv_a_person_shared_last_in_the_channel_is_the_one_handed_over(slack: SlackEmulator) -> None:
    chat = port(slack)
    slack.share_file("U0RAVI", "C1", "old.csv", "activity\nold\n")
    slack.share_file("U0RAVI", "C1", "notes.txt", "not a chart")
    slack.share_file("U0RAVI", "C2", "elsewhere.csv", "activity\nelsewhere\n")
    slack.share_file("U0ALICE", "C1", "alices.csv", "activity\nalice\n")
    slack.share_file("U0RAVI", "C1", "chart.csv", "activity,ravi\nchurn,R\n")
    slack.share_file("U0RAVI", "C1", "later.txt", "still not a chart")
    upload = await chat.files.latest("T0001", "C1", RAVI, max_bytes=1000)
    assert upload is not None and (upload.name, upload.content) == ("chart.csv", b"activity,ravi\nchurn,R\n")
    (download,) = slack.calls("file_download")
    assert download.token == "xoxb-T0001-test"
    assert (await chat.files.latest("T0001", "C1", RAVI, max_bytes=8)).content == b"activity"  # type: ignore[union-attr]
    assert await chat.files.latest("T0001", "C9", RAVI, max_bytes=1000) is None
