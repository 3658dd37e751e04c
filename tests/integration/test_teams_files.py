"""A retro's calendar file on Teams: by file consent in a 1:1 chat, as a signed link in a channel.

In a 1:1 chat the file comes as a ``FileConsentCard``; Allow is a ``fileConsent/invoke`` whose
``uploadInfo.uploadUrl`` is the OneDrive stand-in of the local connector, which records the PUT and
its ``Content-Range``; a ``FileInfoCard`` follows. Decline uploads nothing. In a channel the card
links to the file served by ``meridian serve``, signed and expiring like the personal tab's link.
Everything goes over HTTP with the Bot Framework's token.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from bot.kernel.messages import Attachment, Message
from tests.emulators.teams import CONSENT_TYPE, INFO_TYPE, Call
from tests.integration.teams_world import ML_TEAM, PUBLIC_URL, TENANT, TeamsWorld

TEAM = f"""
workspace: {TENANT}
members:
  - {{id: alice, name: Alice, tz: Europe/London, admin: true, accounts: {{teams: "29:alice"}}}}
  - {{id: ravi, name: Ravi, tz: Asia/Kolkata, accounts: {{teams: "29:ravi"}}}}
retros:
  - {{name: sprint-retro, channel: "#ml-team", every: 2w, duration: 60m, starts: 2027-03-01, members: all,
     candidates: ["14:00"]}}
"""
RAVI_DM = "a:personal-29:ravi"


def consents(w: TeamsWorld, conversation: str) -> list[Call]:
    return [c for c in w.connector.delivered(conversation=conversation) if c.attachment(CONSENT_TYPE)]


async def test_the_retro_reminder_s_calendar_file_reaches_onedrive_only_with_consent(sqlite_store: Any) -> None:
    async with TeamsWorld(sqlite_store, datetime(2027, 3, 13, 12, 0, tzinfo=UTC)) as w:
        w.load(TEAM)
        t = w.tenant(TENANT)
        alice = w.connector.add_user("29:alice", "Alice", "aad-alice", tenant=TENANT)
        ravi = w.connector.add_user("29:ravi", "Ravi", "aad-ravi", tenant=TENANT)
        await w.send(t.installed_in_team(alice))
        await w.send(t.installed_personally(ravi, zone="Asia/Kolkata"))
        await w.advance_to(datetime(2027, 3, 15, 12, 0, tzinfo=UTC))

        # The day-ahead reminder is a card, then a consent card for the calendar file: never the bytes unasked.
        notice = next(c for c in w.connector.delivered(conversation=RAVI_DM)
                      if "sprint-retro" in c.card_text and "The calendar file is attached" in c.card_text)
        cards = consents(w, RAVI_DM)
        assert cards and cards[0].at == notice.at
        consent = cards[0].attachment(CONSENT_TYPE)
        assert consent is not None and consent["name"] == "sprint-retro-2027-03-15.ics"
        size = consent["content"]["sizeInBytes"]
        assert w.connector.uploads == []

        # Decline: nothing is uploaded, and Meridian says so.
        declined = await w.send(t.consent(ravi, cards[0], accept=False))
        assert declined.status == 200
        assert w.connector.uploads == []
        assert "You declined sprint-retro-2027-03-15.ics: nothing was uploaded." in w.connector.calls[-1].shown

        # Allow: the whole file in one PUT with its range, then the file shown in the chat.
        url = w.connector.upload_url("sprint-retro-2027-03-15.ics")
        accepted = await w.send(t.consent(ravi, cards[0], accept=True, upload_url=url))
        assert accepted.status == 200
        (upload,) = w.connector.uploads
        assert upload.status == 201 and len(upload.content) == size
        assert upload.content_range == f"bytes 0-{size - 1}/{size}"
        text = upload.content.decode()
        assert text.startswith("BEGIN:VCALENDAR") and "TZID=Asia/Kolkata" in text and "sprint-retro" in text
        info = w.connector.calls[-1].attachment(INFO_TYPE)
        assert info is not None and info["name"] == "sprint-retro-2027-03-15.ics"
        assert info["content"]["fileType"] == "ics" and info["contentUrl"].startswith("https://")

        # OneDrive failing: said in one line, nothing claimed.
        w.connector.refuse_uploads = 1
        await w.send(t.consent(ravi, cards[0], accept=True, upload_url=url))
        assert "I couldn't put sprint-retro-2027-03-15.ics in your OneDrive" in w.connector.calls[-1].shown
        # An upload URL that is not OneDrive's is never called.
        before = len(w.connector.uploads)
        await w.send(t.consent(ravi, cards[0], accept=True, upload_url="http://169.254.169.254/latest/meta-data"))
        assert len(w.connector.uploads) == before
        assert "not a OneDrive address" in w.connector.calls[-1].shown
        assert w.connector.rejected() == []


async def test_retro_schedule_typed_in_the_chat_offers_the_plan_file(sqlite_store: Any) -> None:
    async with TeamsWorld(sqlite_store, datetime(2027, 3, 10, 10, 0, tzinfo=UTC)) as w:
        w.load(TEAM)
        t = w.tenant(TENANT)
        alice = w.connector.add_user("29:alice", "Alice", "aad-alice", tenant=TENANT)
        await w.send(t.installed_personally(alice))
        await w.send(t.personal(alice, "retro schedule sprint-retro"))
        (card,) = consents(w, "a:personal-29:alice")
        assert card.attachment(CONSENT_TYPE)["name"] == "sprint-retro-plan.ics"
        await w.send(t.consent(alice, card, accept=True, upload_url=w.connector.upload_url("plan.ics")))
        assert w.connector.uploads[-1].content.decode().count("BEGIN:VEVENT") >= 2
        assert w.connector.rejected() == []


async def test_in_a_channel_the_file_is_a_signed_link_served_by_meridian(sqlite_store: Any) -> None:
    async with TeamsWorld(sqlite_store, datetime(2027, 3, 10, 10, 0, tzinfo=UTC)) as w:
        w.load(TEAM)
        t = w.tenant(TENANT)
        alice = w.connector.add_user("29:alice", "Alice", "aad-alice", tenant=TENANT)
        await w.send(t.channel(alice, ML_TEAM, "ml-team", "retro help"))
        ics = "BEGIN:VCALENDAR\r\nSUMMARY:Café retro\r\nEND:VCALENDAR\r\n"
        message = Message.text("The retro moved.")
        message = Message(message.blocks, message.fallback, (Attachment("sprint-retro-2027-03-15.ics", ics,
                                                                         "text/calendar"),))
        await w.chat.post(TENANT, "#ml-team", message)
        post = w.connector.calls[-1]
        assert post.conversation == ML_TEAM and post.attachment(CONSENT_TYPE) is None  # no consent in channels
        link = post.card["body"][-1]["text"]
        assert "sprint-retro-2027-03-15.ics" in link and "7 days" in link
        url = link[link.index("](") + 2:link.index(")", link.index("]("))]
        assert url.startswith(f"{PUBLIC_URL}/teams/files/sprint-retro-2027-03-15.ics?t=")
        path = urlsplit(url)._replace(scheme="", netloc="").geturl()

        assert w.http is not None
        served = await w.http.get(path)
        assert served.status == 200 and await served.text() == ics
        assert served.headers["Content-Type"].startswith("text/calendar")
        assert "attachment" in served.headers["Content-Disposition"]
        assert (await w.http.get(path[:-3] + "xyz")).status == 403  # altered
        assert (await w.http.get("/teams/files/x.ics?t=" + path.split("t=")[1].split(".")[0] + ".AAAA")).status == 403
        assert (await w.http.get("/teams/files/x.ics")).status == 403
        # The personal tab's link is not a file's, nor the other way round.
        assert (await w.http.get("/teams/tab?t=" + path.split("t=")[1])).status == 403

        w.clock.set(w.clock.now() + timedelta(days=8))
        assert (await w.http.get(path)).status == 403
        assert w.connector.rejected() == []


async def test_a_file_too_big_to_ride_in_the_consent_card_is_kept_and_still_uploaded_whole(sqlite_store: Any) -> None:
    """A 40 KB export in Japanese (240 KB as sent) cannot travel in ``acceptContext``: it is kept, the card names it."""
    async with TeamsWorld(sqlite_store, datetime(2027, 3, 10, 10, 0, tzinfo=UTC)) as w:
        w.load(TEAM)
        t = w.tenant(TENANT)
        ravi = w.connector.add_user("29:ravi", "Ravi", "aad-ravi", tenant=TENANT)
        await w.send(t.installed_personally(ravi))
        csv = "activity,R\n" + "チャーンモデル再学習,ravi\n" * 2000
        member = w.store.get_member(TENANT, "ravi")
        assert member is not None
        await w.chat.dm(member, Message(Message.text("Your export.").blocks, "Your export.",
                                        (Attachment("raci.csv", csv, "text/csv"),)))
        (card,) = consents(w, RAVI_DM)
        consent = card.attachment(CONSENT_TYPE)
        assert consent is not None and "content" not in consent["content"]["acceptContext"]
        assert card.size <= 28 * 1024 and consent["content"]["sizeInBytes"] == len(csv.encode())
        await w.send(t.consent(ravi, card, accept=True, upload_url=w.connector.upload_url("raci.csv")))
        assert w.connector.uploads[-1].content.decode() == csv
        assert w.connector.rejected() == []
