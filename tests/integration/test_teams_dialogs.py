"""Forms in dialogs on Teams: stand-up answers, RACI edits and retro action items through task modules.

A button that answers with a form carries ``msteams: {type: task/fetch}``; Teams sends a ``task/fetch``
invoke and shows the card the bot answers with (``task.type: continue``) in a dialog; the dialog's
Submit is a ``task/submit`` invoke. Everything goes over HTTP with the Bot Framework's token, and every
dialog card is checked against the Adaptive Cards 1.5 schema and Teams' size (``dialog_answer``). A client
without dialogs posts the same press as a ``message`` with a ``value``, and gets the form in the chat.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tests.emulators.teams import Call
from tests.integration.teams_world import ML_TEAM, TENANT, TeamsWorld, a_day_begins

TEAM = f"""
workspace: {TENANT}
members:
  - {{id: alice, name: Alice, tz: Europe/London, hours: "05:00-22:00", admin: true, accounts: {{teams: "29:alice"}}}}
  - {{id: ravi, name: Ravi, tz: Asia/Kolkata, hours: "05:00-22:00", accounts: {{teams: "29:ravi"}}}}
standups:
  - {{name: daily, channel: "#ml-team", remind_at: "09:30", tz: Europe/London}}
raci:
  - {{activity: churn model retraining, R: [ravi], A: alice}}
retros:
  - {{name: sprint-retro, channel: "#ml-team", every: 2w, duration: 60m, starts: 2027-03-01, members: all,
     candidates: ["14:00"]}}
"""
RAVI_DM = "a:personal-29:ravi"
ALICE_DM = "a:personal-29:alice"


def reminder(w: TeamsWorld) -> Call:
    return next(c for c in w.connector.delivered("send", RAVI_DM) if "Stand-up: daily" in c.card_text)


async def test_a_stand_up_answered_in_a_dialog_with_a_refused_value_shown_again(sqlite_store: Any) -> None:
    async with TeamsWorld(sqlite_store, datetime(2027, 3, 15, 0, 0, tzinfo=UTC)) as w:
        w.load(TEAM)
        t, _alice, ravi, card = await a_day_begins(w, TENANT, ML_TEAM)
        assert card.action("Answer")["msteams"] == {"type": "task/fetch"}
        assert "msteams" not in card.action("Skip today")  # a plain button stays a plain Submit

        # Answer opens the form in a dialog: nothing is posted into the chat.
        before = len(w.connector.calls)
        dialog = await w.dialog(t.fetch(ravi, card, "Answer"))
        assert dialog.inputs == ["q0", "q1", "q2"] and dialog.body["title"].startswith("daily")
        assert w.connector.calls[before:] == []

        # Too long an answer: the dialog comes back with why, and keeps every word typed.
        long = "x" * 3001
        again = await w.dialog(t.submit(ravi, dialog, "Submit", q0=long, q1="Evaluate v7", q2="none"))
        assert "the most it can hold is 3,000" in again.shown
        assert again.input_values()["q1"] == "Evaluate v7" and again.input_values()["q0"] == long[:3000]
        assert w.store.get_run(TENANT, "daily", "ravi", datetime(2027, 3, 15).date()).status == "reminded"
        assert w.connector.calls[before:] == []

        # Fixed: the dialog closes with one line, the thanks is in the chat and the answer in the day's thread.
        closed = await w.dialog(t.submit(ravi, again, "Submit", q0="Trained churn v7"))
        assert "Thanks, Ravi!" in closed.body["text"]
        thanks = w.connector.calls[-1]
        assert thanks.conversation == RAVI_DM and "Thanks, Ravi!" in thanks.card_text
        header = next(c for c in w.connector.delivered("send", ML_TEAM) if "daily — " in c.card_text)
        (answer,) = w.connector.delivered("reply", f"{ML_TEAM};messageid={header.answered_id}")
        assert "Trained churn v7" in answer.card_text and "Evaluate v7" in answer.card_text

        # Pressed again, Answer opens the form filled with what was answered (an edit).
        reopened = await w.dialog(t.fetch(ravi, card, "Answer"))  # a new press opens a new dialog, filled in
        assert reopened.input_values()["q0"] == "Trained churn v7"
        assert w.connector.rejected() == []


async def test_a_raci_edit_typed_in_the_chat_opens_from_a_card_in_a_dialog_or_in_the_chat(sqlite_store: Any) -> None:
    async with TeamsWorld(sqlite_store, datetime(2027, 3, 15, 10, 0, tzinfo=UTC)) as w:
        w.load(TEAM)
        t = w.tenant(TENANT)
        alice = w.connector.add_user("29:alice", "Alice", "aad-alice", tenant=TENANT)
        ravi = w.connector.add_user("29:ravi", "Ravi", "aad-ravi", tenant=TENANT)
        await w.send(t.installed_personally(alice))

        await w.send(t.personal(alice, "raci edit churn model retraining"))
        opener = w.connector.calls[-1]
        assert opener.conversation == ALICE_DM and opener.inputs == []
        assert opener.action("Open the form")["msteams"] == {"type": "task/fetch"}

        # Ravi cannot open Alice's form: the key is looked up under whoever pressed.
        stolen = await w.dialog(t.fetch(ravi, opener, "Open the form"))
        assert "no longer open" in stolen.body["text"]

        dialog = await w.dialog(t.fetch(alice, opener, "Open the form"))
        assert dialog.inputs == ["R", "A", "C", "I", "aliases", "about"]
        assert dialog.input_values()["R"] == "ravi"
        closed = await w.dialog(t.submit(alice, dialog, "Save", about="Weekly retraining"))
        assert "Saved" in closed.body["text"]
        assert "Weekly retraining" in w.connector.calls[-1].shown

        # A client without dialogs posts the press: the form comes into the chat, and its Save works as before.
        await w.send(t.personal(alice, "raci edit churn model retraining"))
        opener = w.connector.calls[-1]
        await w.send(t.press(alice, opener, "Open the form"))
        form = w.connector.calls[-1]
        assert form.inputs == ["R", "A", "C", "I", "aliases", "about"]
        await w.send(t.press(alice, form, "Save", about="Monthly retraining"))
        assert "Monthly retraining" in w.connector.calls[-1].shown

        # A value the card would not allow, from the chat card: one line, nothing saved.
        await w.send(t.press(alice, form, "Save", about="y" * 3001))
        assert "Nothing was saved" in w.connector.calls[-1].shown
        assert w.connector.rejected() == []


async def test_a_retro_action_item_in_a_dialog(sqlite_store: Any) -> None:
    async with TeamsWorld(sqlite_store, datetime(2027, 3, 15, 10, 0, tzinfo=UTC)) as w:
        w.load(TEAM)
        t = w.tenant(TENANT)
        alice = w.connector.add_user("29:alice", "Alice", "aad-alice", tenant=TENANT)
        await w.send(t.installed_in_team(alice))
        await w.send(t.installed_personally(alice))
        await w.send(t.channel(alice, ML_TEAM, "ml-team", "retro open"))

        await w.send(t.personal(alice, "retro action"))
        opener = w.connector.calls[-1]
        dialog = await w.dialog(t.fetch(alice, opener, "Open the form"))
        assert dialog.inputs == ["owner", "text", "due"]

        # A required input left empty (a client that does not enforce isRequired): shown again, in the dialog.
        again = await w.dialog(t.submit(alice, dialog, "Submit", owner="ravi", text=""))
        assert "is required" in again.shown and again.input_values()["owner"] == "ravi"
        closed = await w.dialog(t.submit(alice, again, "Submit", text="Split the training job"))
        assert "Saved action item #1" in closed.body["text"]
        assert "Saved action item #1" in w.connector.calls[-1].shown
        assert w.connector.rejected() == []


async def test_a_fetch_without_anything_to_open_answers_with_a_line(sqlite_store: Any) -> None:
    async with TeamsWorld(sqlite_store, datetime(2027, 3, 15, 10, 0, tzinfo=UTC)) as w:
        w.load(TEAM)
        t = w.tenant(TENANT)
        ravi = w.connector.add_user("29:ravi", "Ravi", "aad-ravi", tenant=TENANT)
        answer = await w.dialog(t.invoke(ravi, "task/fetch", {"data": {}}))
        assert answer.body["text"] == "That button is not one of Meridian's."
        answer = await w.dialog(t.invoke(ravi, "task/submit", {"data": {"action_id": "standup.submit",
                                                                        "metadata": {"standup": "gone"}}}))
        assert "no longer exists" in answer.body["text"]  # the core's answer: the dialog closes with it
        assert [c.shown for c in w.connector.calls] == ["That stand-up no longer exists."]
