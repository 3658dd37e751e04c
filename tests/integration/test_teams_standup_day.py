"""A whole stand-up day on Teams, across two zones, through real HTTP and the local Bot Connector.

Kolkata (UTC+05:30) and New York (EDT since 14 March 2027) are reminded at 09:30 their
own time by proactive 1:1 messages; both answer by pressing the cards' buttons, which Teams
delivers as ``message`` activities carrying the button's data and the inputs (Action.Submit),
each with the Bot Framework's token; the answers land in the day's thread in #ml-team and the
summary closes it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tests.emulators.teams import Call
from tests.integration.teams_world import TeamsWorld, a_day_begins

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
ML_TEAM = "19:ml-team@thread.tacv2"
TEAM = f"""
workspace: {TENANT}
members:
  - {{id: alice, name: Alice, tz: America/New_York, admin: true, accounts: {{teams: "29:alice"}}}}
  - {{id: ravi, name: Ravi, tz: Asia/Kolkata, accounts: {{teams: aad-ravi}}}}
standups:
  - {{name: daily, channel: "#ml-team", remind_at: "09:30", tz: Europe/London}}
"""


def reminders(w: TeamsWorld, conversation: str) -> list[Call]:
    return [c for c in w.connector.delivered("send", conversation) if "Stand-up: daily" in c.card_text]


async def test_a_stand_up_day_on_teams_across_two_zones(sqlite_store: Any) -> None:
    async with TeamsWorld(sqlite_store, datetime(2027, 3, 15, 0, 0, tzinfo=UTC)) as w:
        w.load(TEAM)
        t = w.tenant(TENANT)
        alice = w.connector.add_user("29:alice", "Alice", "aad-alice", tenant=TENANT)
        ravi = w.connector.add_user("29:ravi", "Ravi", "aad-ravi", tenant=TENANT)

        # The app is added to the team; Alice mentions it in #ml-team, Ravi installs it for himself.
        await w.send(t.installed_in_team(alice))
        await w.send(t.channel(alice, ML_TEAM, "ml-team", "standup setup daily at=09:30"))
        setup_reply = w.connector.calls[-1]
        assert setup_reply.kind == "reply" and setup_reply.conversation.startswith(f"{ML_TEAM};messageid=")
        assert "daily in #ml-team: 09:30 each person's time" in setup_reply.card_text
        await w.send(t.installed_personally(ravi, zone="Asia/Kolkata"))
        assert w.store.get_member(TENANT, "ravi").tz == "Asia/Kolkata"  # found by his Entra id, not duplicated
        assert [m.id for m in w.store.list_members(TENANT)] == ["alice", "ravi"]

        # 09:30 in Kolkata is 04:00Z: one reminder, in the 1:1 chat Ravi opened.
        await w.advance_to(datetime(2027, 3, 15, 4, 1, tzinfo=UTC))
        ravi_dm = "a:personal-29:ravi"
        assert [c.at for c in reminders(w, ravi_dm)] == [datetime(2027, 3, 15, 4, 0, tzinfo=UTC)]
        assert reminders(w, "a:personal-29:alice") == []
        reminder = reminders(w, ravi_dm)[0]
        assert "What did you get done since last time?" in reminder.card_text

        # Answer → the form arrives as a card with inputs; Submit sends the answers.
        await w.send(t.press(ravi, reminder, "Answer"))
        form = w.connector.calls[-1]
        assert form.conversation == ravi_dm and form.inputs == ["q0", "q1", "q2"]
        await w.send(t.press(ravi, form, "Submit", q0="Trained churn v7", q1="Evaluate v7", q2="Waiting on GPU quota"))
        header = next(c for c in w.connector.delivered("send", ML_TEAM))
        assert "daily — Mon 15 Mar 2027" in header.card_text
        answer = w.connector.delivered("reply", f"{ML_TEAM};messageid={header.answered_id}")
        assert len(answer) == 1 and answer[0].activity_id == header.answered_id
        assert "Trained churn v7" in answer[0].card_text and "Waiting on GPU quota" in answer[0].card_text
        # Ravi is mentioned by the Teams id the bot learnt, not by the Entra id from the team file.
        assert answer[0].card["msteams"]["entities"] == [
            {"type": "mention", "text": "<at>Ravi</at>", "mentioned": {"id": "29:ravi", "name": "Ravi"}}]
        thanks = w.connector.calls[-1]
        assert thanks.conversation == ravi_dm and "Thanks, Ravi!" in thanks.card_text

        # 09:30 in New York (EDT) is 13:30Z. Alice never wrote to the bot: a 1:1 chat is created first.
        await w.advance_to(datetime(2027, 3, 15, 13, 31, tzinfo=UTC))
        created = w.connector.delivered("create")
        assert len(created) == 1 and created[0].at == datetime(2027, 3, 15, 13, 30, tzinfo=UTC)
        assert created[0].body["members"] == [{"id": "29:alice"}]
        assert created[0].body["channelData"] == {"tenant": {"id": TENANT}}
        alice_dm = created[0].answered_id
        assert [c.at for c in reminders(w, alice_dm)] == [datetime(2027, 3, 15, 13, 30, tzinfo=UTC)]

        # Alice presses Answer in the chat Meridian opened; the form comes back there, and she submits it.
        await w.send(t.press(alice, reminders(w, alice_dm)[0], "Answer", zone="America/New_York"))
        alice_form = w.connector.calls[-1]
        assert alice_form.kind == "reply" and alice_form.conversation == alice_dm and alice_form.inputs
        await w.send(t.press(alice, alice_form, "Submit", q0="Reviewed PRs", q1="Ship drift alerts", q2="none"))
        assert "Thanks, Alice!" in w.connector.calls[-1].card_text
        replies = w.connector.delivered("reply", f"{ML_TEAM};messageid={header.answered_id}")
        assert len(replies) == 2 and "Reviewed PRs" in replies[1].card_text

        # After the last cut-off (Alice's 17:00 EDT = 21:00Z) the summary closes the thread; nobody is nudged.
        await w.advance_to(datetime(2027, 3, 16, 3, 0, tzinfo=UTC))
        replies = w.connector.delivered("reply", f"{ML_TEAM};messageid={header.answered_id}")
        summary = replies[-1]
        assert summary.at == datetime(2027, 3, 15, 21, 0, tzinfo=UTC)
        assert "Answered (2)" in summary.card_text and "Not answered" not in summary.card_text  # empty: left out
        assert "Blockers (1)" in summary.card_text and "Waiting on GPU quota" in summary.card_text
        updated = w.connector.delivered("update", ML_TEAM)
        assert [u.activity_id for u in updated] == [header.answered_id]
        assert "2/2 answered · 1 blocker" in updated[0].card_text
        assert not [c for c in w.connector.calls if "Still open" in c.card_text]
        assert w.connector.rejected() == []


async def test_an_unclear_blocker_is_asked_about_once_with_buttons_on_teams(sqlite_store: Any) -> None:
    """Issue 10 item 2 on Teams: the question is a card with two buttons; the answer corrects the thread post."""
    async with TeamsWorld(sqlite_store, datetime(2027, 3, 15, 0, 0, tzinfo=UTC)) as w:
        w.load(TEAM)
        t, _alice, ravi, reminder = await a_day_begins(w, TENANT, ML_TEAM)
        ravi_dm = "a:personal-29:ravi"
        await w.send(t.press(ravi, reminder, "Answer"))
        form = w.connector.calls[-1]
        await w.send(t.press(ravi, form, "Submit", q0="Trained churn v7", q1="Evaluate v7", q2="the labelling vendor"))
        questions = [c for c in w.connector.delivered("send", ravi_dm) if "is this a blocker?" in c.card_text]
        assert len(questions) == 1
        header = next(c for c in w.connector.delivered("send", ML_TEAM))
        answer = w.connector.delivered("reply", f"{ML_TEAM};messageid={header.answered_id}")[0]
        assert "Possible blocker" in answer.card_text

        await w.send(t.press(ravi, questions[0], "Blocker"))
        updated = [c for c in w.connector.delivered("update", ML_TEAM) if "Trained churn v7" in c.card_text]
        assert updated and "🚧 Blocker: the labelling vendor" in updated[-1].card_text
        assert "Possible" not in updated[-1].card_text
        assert len([c for c in w.connector.delivered("send", ravi_dm) if "is this a blocker?" in c.card_text]) == 1
