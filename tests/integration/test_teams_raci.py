"""``/raci`` on Teams: the lookup in a channel, with real Teams mentions for people who have a Teams account."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from adapters.teams.extension import ASK_OWNER
from tests.emulators.teams import ACTIVITY_LIMIT, CARD_TYPE, card_errors
from tests.integration.teams_world import TeamsWorld

TENANT = "tenant-a"
ML_TEAM = "19:ml-team@thread.tacv2"
TEAM = f"""
workspace: {TENANT}
members:
  # Hours wide enough that Alice (06:00 in New York) and Ravi (15:30 in Kolkata) are at work at the tests' instant,
  # Mon 15 Mar 2027 10:00 UTC: routing names people off hours as plain text, and these tests are about mentions.
  - {{id: alice, name: Alice, tz: America/New_York, hours: "05:00-20:00", admin: true, accounts: {{teams: "29:alice"}}}}
  - {{id: ravi, name: Ravi, tz: Asia/Kolkata, hours: "08:00-20:00", accounts: {{teams: "29:ravi"}}}}
  - {{id: noor, name: Noor, tz: Asia/Dubai}}
raci:
  - {{activity: churn model retraining, R: [ravi], A: alice, C: [noor]}}
"""


async def test_raci_lookup_in_a_channel_mentions_owners_and_refuses_a_non_admin_edit(sqlite_store: Any) -> None:
    async with TeamsWorld(sqlite_store, datetime(2027, 3, 15, 10, 0, tzinfo=UTC)) as w:
        w.load(TEAM)
        t = w.tenant(TENANT)
        alice = w.connector.add_user("29:alice", "Alice", "aad-alice", tenant=TENANT)
        ravi = w.connector.add_user("29:ravi", "Ravi", "aad-ravi", tenant=TENANT)

        await w.send(t.channel(alice, ML_TEAM, "ml-team", "raci churn modle"))  # a typo is forgiven
        answer = w.connector.calls[-1]
        assert "churn model retraining" in answer.shown
        assert "<at>Ravi</at>" in answer.card_text and "<at>Alice</at>" in answer.card_text
        card = answer.card or {}
        mentioned = {e["mentioned"]["id"] for e in card.get("msteams", {}).get("entities", [])
                     if e.get("type") == "mention"}  # a card's mentions live in its msteams.entities
        assert {"29:ravi", "29:alice"} <= mentioned
        assert "<at>Noor</at>" not in answer.card_text and "Noor" in answer.shown  # no Teams account: a name

        await w.send(t.channel(ravi, ML_TEAM, "ml-team", "raci set churn model retraining I @noor"))
        assert "Only workspace admins" in w.connector.calls[-1].shown


async def test_a_question_to_meridian_in_a_channel_is_answered_by_the_raci_lookup_in_its_thread(
        sqlite_store: Any) -> None:
    async with TeamsWorld(sqlite_store, datetime(2027, 3, 15, 10, 0, tzinfo=UTC)) as w:
        w.load(TEAM)
        t = w.tenant(TENANT)
        alice = w.connector.add_user("29:alice", "Alice", "aad-alice", tenant=TENANT)
        ravi = w.connector.add_user("29:ravi", "Ravi", "aad-ravi", tenant=TENANT)

        asked = t.channel(alice, ML_TEAM, "ml-team", "who owns churn retraining?")
        await w.send(asked)
        answer = w.connector.calls[-1]
        assert answer.kind == "reply" and answer.conversation == f"{ML_TEAM};messageid={asked['id']}"
        assert "churn model retraining" in answer.shown and "<at>Ravi</at>" in answer.card_text

        # Another person mentioned in the question: `<at>Ravi</at>` is read as @ravi.
        await w.send(t.channel(alice, ML_TEAM, "ml-team", "what does <at>Ravi</at> own?", mentions=(ravi,)))
        assert "churn model retraining" in w.connector.calls[-1].shown
        assert "Responsible" in w.connector.calls[-1].shown

        # Not a question Meridian reads: one line saying how to ask, in the thread, nothing else.
        before = len(w.connector.calls)
        await w.send(t.channel(alice, ML_TEAM, "ml-team", "hello there <script>"))
        (hint,) = w.connector.calls[before:]
        assert hint.kind == "reply" and "who owns churn retraining?" in hint.shown

        # A question about nothing on the chart: the lookup's own "no activity matches".
        await w.send(t.channel(alice, ML_TEAM, "ml-team", "who is responsible for the coffee machine?"))
        assert "coffee machine" in w.connector.calls[-1].shown


def answer_card(body: dict[str, Any]) -> dict[str, Any]:
    """The card of a message action's answer: one Adaptive Card 1.5 result, valid for Teams."""
    result = body["composeExtension"]
    assert result["type"] == "result" and result["attachmentLayout"] == "list"
    (attachment,) = result["attachments"]
    assert attachment["contentType"] == CARD_TYPE and attachment["preview"]["content"]["title"] == "Who owns this"
    card: dict[str, Any] = attachment["content"]
    assert card_errors(card) == [] and len(json.dumps(body).encode()) <= ACTIVITY_LIMIT
    return card


async def test_ask_who_owns_this_on_a_message_answers_in_the_invoke_response(sqlite_store: Any) -> None:
    async with TeamsWorld(sqlite_store, datetime(2027, 3, 15, 10, 0, tzinfo=UTC)) as w:
        w.load(TEAM)
        t = w.tenant(TENANT)
        alice = w.connector.add_user("29:alice", "Alice", "aad-alice", tenant=TENANT)
        ravi = w.connector.add_user("29:ravi", "Ravi", "aad-ravi", tenant=TENANT)
        sam = w.connector.add_user("29:sam", "Sam Stranger", "aad-sam", tenant=TENANT)
        await w.send(t.personal(ravi, "raci list"))  # Meridian has met Ravi: his Entra object id is known
        sent = len(w.connector.calls)

        # A whole message, not a question: the activity it is about, as a card for Alice's compose box.
        action = t.message_action(alice, ASK_OWNER, ML_TEAM, ravi,
                                  "The churn retraining run failed again <script>, <at>Sam Stranger</at> any idea?",
                                  mentions=(sam,))
        response = await w.post(action)  # with the Bot Framework's token: authentication is on
        assert response.status == 200, await response.text()
        card = answer_card(await response.json())
        text = json.dumps(card, ensure_ascii=False)
        assert "churn model retraining" in text and "The activity that message seems to be about." in text
        assert "@Ravi" in text and "<at>" not in text and "entities" not in card["msteams"]  # names, no pings
        assert len(w.connector.calls) == sent  # nothing posted: the answer is Alice's to send or discard

        # A message that names a person: the mention, by Ravi's Entra object id, is read as @ravi.
        response = await w.post(t.message_action(alice, ASK_OWNER, ML_TEAM, alice, "what does <at>Ravi</at> own?",
                                                 mentions=(ravi,)))
        assert "**Responsible** (1): churn model retraining" in json.dumps(answer_card(await response.json()),
                                                                        ensure_ascii=False)

        # A question typed in the action's dialog wins over the message's words.
        response = await w.post(t.message_action(alice, ASK_OWNER, ML_TEAM, ravi, "lunch at one?",
                                                 data={"question": "who owns churn retraining?"}))
        assert "churn model retraining" in json.dumps(answer_card(await response.json()), ensure_ascii=False)

        # A message about nothing on the chart: how to ask, in the same card shape.
        response = await w.post(t.message_action(alice, ASK_OWNER, ML_TEAM, ravi, "lunch at one? &amp; <b>bring</b>"))
        hint = json.dumps(answer_card(await response.json()), ensure_ascii=False)
        assert "I found no RACI activity in that." in hint

        # Any other command or invoke is not Meridian's: 501, as before.
        response = await w.post(t.message_action(alice, "somethingElse", ML_TEAM, ravi, "who owns churn retraining?"))
        assert response.status == 501
        assert len(w.connector.calls) == sent
