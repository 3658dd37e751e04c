"""The Teams adapter through ``POST /api/messages`` as the Bot Framework calls it, and the local Bot Connector."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.kernel.app import IncomingMessage, Meridian
from bot.kernel.messages import Message
from tests.emulators.teams import BOT_ID, TeamsClient
from tests.integration.teams_world import NO_AUTHORIZATION, TeamsWorld

TENANT = "tenant-a"
OTHER = "tenant-b"
ML_TEAM = "19:ml-team@thread.tacv2"
START = datetime(2027, 3, 15, 3, 0, tzinfo=UTC)
TEAM = f"""
workspace: {TENANT}
members:
  - {{id: alice, name: Alice, tz: America/New_York, admin: true, accounts: {{teams: "29:alice"}}}}
  - {{id: ravi, name: Ravi, tz: Asia/Kolkata, accounts: {{teams: "29:ravi"}}}}
standups:
  - {{name: daily, channel: "#ml-team", remind_at: "09:30"}}
"""


async def test_help_and_a_malformed_command_in_a_1to1_chat_and_in_a_channel(sqlite_store: Any) -> None:
    async with TeamsWorld(sqlite_store, START) as w:
        t = w.tenant(TENANT)
        noor = w.connector.add_user("29:noor", "Noor Haddad", "aad-noor", tenant=TENANT)

        await w.send(t.personal(noor, "standup help", zone="Asia/Dubai"))
        help_reply = w.connector.calls[-1]
        assert help_reply.kind == "reply" and help_reply.conversation == "a:personal-29:noor"
        assert "/standup skip [today|until YYYY-MM-DD]" in help_reply.shown
        assert "/standup help" in help_reply.shown

        await w.send(t.personal(noor, "/standup frobnicate"))
        error = w.connector.calls[-1].shown
        assert "Unknown sub-command frobnicate for /standup." in error
        assert "Usage:" in error and "/standup skip [today|until YYYY-MM-DD]" in error

        await w.send(t.personal(noor, "/meridian tz Mars/Olympus"))
        assert "Usage: /meridian tz ZONE" in w.connector.calls[-1].shown

        await w.send(t.personal(noor, "good morning"))
        assert "I didn't catch that" in w.connector.calls[-1].card_text

        # In a channel the bot is @mentioned; help is for the asker alone, so it goes to their 1:1 chat.
        await w.send(t.channel(noor, ML_TEAM, "ml-team", "raci help"))
        private = w.connector.calls[-1]
        assert private.kind == "send" and private.conversation == "a:personal-29:noor"
        assert "/raci ACTIVITY | @person" in private.card_text

        # The sender became a member of the tenant's workspace, with the zone their client reported.
        member = w.store.find_member_by_account(TENANT, "teams", "aad-noor")
        assert member is not None and member.id == "noor-haddad" and member.tz == "Asia/Dubai"
        assert w.store.get_workspace(TENANT).platform == "teams"
        assert w.connector.rejected() == []


async def test_the_client_zone_is_followed_until_the_person_or_the_team_file_sets_one(sqlite_store: Any) -> None:
    async with TeamsWorld(sqlite_store, START) as w:
        w.load(TEAM)
        t = w.tenant(TENANT)
        kenji = w.connector.add_user("29:kenji", "Kenji", "aad-kenji", tenant=TENANT)
        await w.send(t.installed_personally(kenji))  # no clientInfo on this one: UTC for now
        await w.send(t.personal(kenji, "meridian me", zone="Australia/Sydney"))
        assert w.store.find_member_by_account(TENANT, "teams", "aad-kenji").tz == "Australia/Sydney"
        await w.send(t.personal(kenji, "meridian me", zone="Asia/Tokyo"))  # travelling: the newest report wins
        assert w.store.find_member_by_account(TENANT, "teams", "aad-kenji").tz == "Asia/Tokyo"
        await w.send(t.personal(kenji, "meridian tz Australia/Lord_Howe"))
        await w.send(t.personal(kenji, "meridian me", zone="Australia/Sydney"))
        assert w.store.find_member_by_account(TENANT, "teams", "aad-kenji").tz == "Australia/Lord_Howe"
        # Ravi's zone comes from the team file: his laptop's zone does not move his reminders.
        ravi = w.connector.add_user("29:ravi", "Ravi", "aad-ravi", tenant=TENANT)
        await w.send(t.personal(ravi, "meridian me", zone="Europe/London"))
        assert w.store.get_member(TENANT, "ravi").tz == "Asia/Kolkata"


async def test_user_text_cannot_mention_link_or_ping_anyone(sqlite_store: Any) -> None:
    async with TeamsWorld(sqlite_store, START) as w:
        w.load(TEAM)
        t = w.tenant(TENANT)
        alice = w.connector.add_user("29:alice", "Alice", "aad-alice", tenant=TENANT)
        ravi = w.connector.add_user("29:ravi", "Ravi", "aad-ravi", tenant=TENANT)
        await w.send(t.channel(alice, ML_TEAM, "ml-team", "standup report"))

        await w.send(t.personal(ravi, "standup"))  # a form, since Teams can show one: in a dialog
        form = await w.dialog(t.fetch(ravi, w.connector.calls[-1], "Open the form"))
        hostile = "<at>Alice</at> please [approve](https://evil.example/x) @everyone **now**"
        await w.dialog(t.submit(ravi, form, "Submit", q0=hostile, q1="<b>bold</b> & co", q2="none"))
        posted = [c for c in w.connector.delivered("reply") if c.conversation.startswith(ML_TEAM)][-1]
        card_json = str(posted.card)
        assert "&lt;at&gt;Alice&lt;/at&gt;" in posted.card_text and "<at>Alice</at>" not in card_json
        assert "\\[approve\\](https://evil.example/x)" in posted.card_text
        assert "@everyone" in posted.card_text and "\\*\\*now\\*\\*" in posted.card_text
        assert "&lt;b&gt;bold&lt;/b&gt; &amp; co" in posted.card_text
        # The only mention is the one Meridian made: Ravi, by his Teams id.
        assert posted.card["msteams"]["entities"] == [
            {"type": "mention", "text": "<at>Ravi</at>", "mentioned": {"id": "29:ravi", "name": "Ravi"}}]
        assert "<at>" not in posted.body["text"] and "](" not in posted.body["text"]


async def test_two_tenants_stay_apart(sqlite_store: Any) -> None:
    async with TeamsWorld(sqlite_store, START) as w:
        w.load(TEAM)
        a, b = w.tenant(TENANT), TeamsClient(w.connector.url, OTHER)
        ravi_a = w.connector.add_user("29:ravi", "Ravi", "aad-ravi", tenant=TENANT)
        await w.send(a.channel(ravi_a, ML_TEAM, "ml-team", "standup report"))
        # The same kind of ids in another tenant are other people in another workspace.
        stranger = w.connector.add_user("29:ravi", "Ravi", "aad-ravi", tenant=OTHER)
        await w.send(b.personal(stranger, "standup"))
        assert "There is no stand-up in this workspace yet" in w.connector.calls[-1].card_text
        await w.send(b.personal(stranger, value={"action_id": "standup.submit",
                                                 "metadata": {"standup": "daily", "day": "2027-03-15"},
                                                 "q0": "sneaky", "q1": "", "q2": ""}))
        assert "That stand-up no longer exists." in w.connector.calls[-1].card_text
        assert w.store.get_run(TENANT, "daily", "ravi", datetime(2027, 3, 15).date()) is None
        assert not [c for c in w.connector.calls if c.conversation and c.conversation.startswith(ML_TEAM)
                    and "sneaky" in c.card_text]
        assert [m.id for m in w.store.list_members(OTHER)] == ["ravi"]
        assert w.store.get_member(OTHER, "ravi").accounts == {"teams": "aad-ravi"}
        assert {m.id for m in w.store.list_members(TENANT)} == {"alice", "ravi"}
        assert w.chat.repo.channel(OTHER, "#ml-team") is None


async def test_with_an_app_id_a_request_without_a_valid_token_is_refused(sqlite_store: Any) -> None:
    async with TeamsWorld(sqlite_store, START) as w:
        user = w.connector.add_user("29:eve", "Eve", "aad-eve", tenant=TENANT)
        activity = w.tenant(TENANT).personal(user, "standup help")
        assert (await w.post(activity, NO_AUTHORIZATION)).status == 401
        assert (await w.post(activity, {"Authorization": "Bearer not-a-jwt"})).status == 401
        assert w.connector.calls == [] and w.store.list_members(TENANT) == []


async def test_invokes_other_than_dialogs_are_not_handled_since_no_card_sends_action_execute(sqlite_store: Any) -> None:
    """Teams sends ``adaptiveCard/action`` only for Action.Execute, which no Meridian card carries: 501, nothing done.
    (``task/fetch`` and ``task/submit`` open and submit dialogs: ``test_teams_dialogs``.)"""
    async with TeamsWorld(sqlite_store, START) as w:
        w.load(TEAM)
        t = w.tenant(TENANT)
        ravi = w.connector.add_user("29:ravi", "Ravi", "aad-ravi", tenant=TENANT)
        execute = {"action": {"type": "Action.Execute", "verb": "standup.skip",
                              "data": {"action_id": "standup.skip", "value": "daily|2027-03-15"}}, "trigger": "manual"}
        assert (await w.post(t.invoke(ravi, "adaptiveCard/action", execute))).status == 501
        assert (await w.post(t.invoke(ravi, "composeExtension/query", {"commandId": "x"}))).status == 501
        assert w.store.get_run(TENANT, "daily", "ravi", datetime(2027, 3, 15).date()) is None
        assert w.connector.calls == []


async def test_install_keeps_the_conversation_so_meridian_can_post_there_later(sqlite_store: Any) -> None:
    async with TeamsWorld(sqlite_store, START) as w:
        t = w.tenant(TENANT)
        alice = w.connector.add_user("29:alice", "Alice", "aad-alice", tenant=TENANT)
        await w.send(t.installed_in_team(alice))
        welcome = w.connector.calls[-1]
        assert welcome.conversation == t.team_id and "Hi! I'm Meridian" in welcome.card_text
        # Teams does not say who runs a tenant: whoever adds Meridian first may set up stand-ups.
        bob = w.connector.add_user("29:bob", "Bob", "aad-bob", tenant=TENANT)
        await w.send(t.installed_personally(bob))
        admins = {m.id: m.is_admin for m in w.store.list_members(TENANT)}
        assert admins == {"alice": True, "bob": False}
        await w.send(t.channel(bob, ML_TEAM, "ml-team", "standup setup daily at=09:30"))
        assert "Only workspace admins" in w.connector.calls[-1].shown
        await w.send(t.channel(alice, ML_TEAM, "ml-team", "standup setup daily at=09:30"))
        assert "daily in #ml-team: 09:30 each person's time" in w.connector.calls[-1].shown

        posted = await w.app.outbox.post("test:general", TENANT, "#general", Message.text("Digest time"))
        assert posted is not None and posted.channel == t.team_id
        call = w.connector.calls[-1]
        assert call.kind == "send" and call.conversation == t.team_id and "Digest time" in call.card_text
        assert call.body["from"]["id"] == BOT_ID and call.body["text"] == "Digest time"

        # Posting where the app was never added is a delivery failure the outbox retries, not a crash.
        assert await w.app.outbox.post("test:nowhere", TENANT, "#elsewhere", Message.text("hello")) is None
        entry = w.store.outbox_get("test:nowhere")
        assert entry.status != "sent" and entry.next_attempt_at is not None


async def test_a_429_during_fan_out_is_waited_out_and_each_reminder_goes_once(sqlite_store: Any) -> None:
    people = ["ana", "ben", "cleo", "dev"]
    team = f"workspace: {TENANT}\nmembers:\n" + "".join(
        f"  - {{id: {p}, name: {p.title()}, tz: Europe/Berlin, accounts: {{teams: '29:{p}'}}}}\n" for p in people) + \
        "standups:\n  - {name: daily, channel: '#ml-team', remind_at: '09:30'}\n"
    async with TeamsWorld(sqlite_store, datetime(2027, 3, 15, 8, 0, tzinfo=UTC)) as w:
        w.load(team)
        t = w.tenant(TENANT)
        for p in people:
            await w.send(t.installed_personally(w.connector.add_user(f"29:{p}", p.title(), f"aad-{p}", TENANT)))
        w.connector.throttle(times=2, retry_after=1, kinds=("send",))
        await w.advance_to(datetime(2027, 3, 15, 8, 31, tzinfo=UTC))  # 09:30 CET
        sent = {p: [c for c in w.connector.delivered("send", f"a:personal-29:{p}") if "Stand-up" in c.card_text]
                for p in people}
        assert {p: len(calls) for p, calls in sent.items()} == dict.fromkeys(people, 1)
        assert [c.status for c in w.connector.rejected()] == [429, 429]
        keys = [e for e in w.store.outbox_entries(TENANT) if ":reminder" in e.key]
        assert len(keys) == 4 and {e.status for e in keys} == {"sent"}


async def test_forget_me_also_forgets_the_teams_identity_and_the_1to1_chat(sqlite_store: Any) -> None:
    async with TeamsWorld(sqlite_store, START) as w:
        t = w.tenant(TENANT)
        noor = w.connector.add_user("29:noor", "Noor", "aad-noor", tenant=TENANT)
        await w.send(t.personal(noor, "meridian me"))
        assert w.chat.repo.identity(TENANT, "noor") is not None
        await w.send(t.personal(noor, "meridian forget-me confirm"))
        assert "Done: you are no longer a member of this team. Removed your settings" in w.connector.calls[-1].shown
        assert w.store.get_member(TENANT, "noor") is None
        assert w.chat.repo.identity(TENANT, "noor") is None and w.chat.repo.personal(TENANT, "noor") is None
        await w.send(t.personal(noor, "meridian me"))  # Teams does not make her a member again
        assert "You are not a member of this team any more" in w.connector.calls[-1].shown
        assert w.store.list_members(TENANT) == []


async def test_a_refused_dm_is_kept_for_a_retry_and_sent_once_teams_accepts(sqlite_store: Any) -> None:
    async with TeamsWorld(sqlite_store, START) as w:
        w.load(TEAM)
        t = w.tenant(TENANT)
        await w.send(t.installed_in_team(w.connector.add_user("29:alice", "Alice", "aad-alice", tenant=TENANT)))
        w.connector.refuse(403)  # Ravi has not got the app yet
        assert await w.app.outbox.dm("test:hello", TENANT, "ravi", Message.text("hello")) is None
        entry = w.store.outbox_get("test:hello")
        assert entry.status != "sent" and entry.next_attempt_at is not None
        assert [c.status for c in w.connector.rejected()] == [403]
        w.clock.set(entry.next_attempt_at)
        assert await w.app.outbox.retry_pending() == 1
        assert [c.kind for c in w.connector.delivered() if c.conversation == "a:personal-29:ravi"] == ["send"]


async def test_a_reply_in_a_channel_thread_reaches_the_core_with_its_thread(sqlite_store: Any) -> None:
    async with TeamsWorld(sqlite_store, START) as w:
        seen: list[IncomingMessage] = []

        async def watch(_app: Meridian, msg: IncomingMessage) -> bool:
            seen.append(msg)
            return True

        w.app.on_message(watch)
        t = w.tenant(TENANT)
        noor = w.connector.add_user("29:noor", "Noor", "aad-noor", tenant=TENANT)
        await w.send(t.channel(noor, ML_TEAM, "ml-team", "what went well: the new eval harness",
                               thread="1700000000042"))
        (msg,) = seen
        assert (msg.channel, msg.thread, msg.is_dm) == ("#ml-team", "1700000000042", False)
        assert msg.text == "what went well: the new eval harness" and msg.member.id == "noor"
