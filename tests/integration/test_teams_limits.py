"""Teams' limits through ``/api/messages`` and the local Bot Connector, with authentication on.

The connector refuses, as Teams does, an activity over 28 KB as sent (413) — and any card that
is not a valid Adaptive Card 1.5 — so a test passes only when Meridian split or shortened what
it had to say. Forms are submitted the way Teams delivers them (a ``message`` with a ``value``),
and a value the card would not have allowed never reaches the core.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import aiohttp

from bot.kernel.app import Action, Meridian
from bot.kernel.commands import Reply
from bot.kernel.messages import Actions, Button, Form, FormInput, Header, Message
from tests.emulators.teams import ACTIVITY_LIMIT, Call
from tests.integration.teams_world import TeamsWorld, a_day_begins

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
ML_TEAM = "19:ml-team@thread.tacv2"
TEAM = f"""
workspace: {TENANT}
members:
  - {{id: alice, name: Alice, tz: America/New_York, admin: true, accounts: {{teams: "29:alice"}}}}
  - {{id: ravi, name: Ravi, tz: Asia/Kolkata, accounts: {{teams: aad-ravi}}}}
standups:
  - {{name: daily, channel: "#ml-team", remind_at: "09:30"}}
"""
DAY = datetime(2027, 3, 15).date()
JAPANESE = ("モデルの再学習を終え、評価指標を確認しました。" * 131)[:3000]  # 9 KB in UTF-8, 18 KB as sent
assert len(JAPANESE) == 3000


def shown_text(calls: list[Call]) -> str:
    return "".join(c.shown for c in calls)


async def ravis_reminder(w: TeamsWorld) -> tuple[Any, Any, Call]:
    """Alice adds Meridian to the team, Ravi installs it; Ravi's 09:30 reminder arrives."""
    w.load(TEAM)
    t, _alice, ravi, reminder = await a_day_begins(w, TENANT, ML_TEAM)
    return t, ravi, reminder


async def test_three_long_japanese_answers_reach_the_thread_in_parts_that_teams_accepts(sqlite_store: Any) -> None:
    async with TeamsWorld(sqlite_store, datetime(2027, 3, 15, 0, 0, tzinfo=UTC)) as w:
        t, ravi, reminder = await ravis_reminder(w)
        await w.send(t.press(ravi, reminder, "Answer"))
        form = w.connector.calls[-1]
        await w.send(t.press(ravi, form, "Submit", q0=JAPANESE, q1=JAPANESE, q2=JAPANESE))

        header = next(c for c in w.connector.delivered("send", ML_TEAM))
        thread = w.connector.delivered("reply", f"{ML_TEAM};messageid={header.answered_id}")
        assert len(thread) >= 3, "one answer of 58 KB as sent is several activities"
        assert all(c.size <= ACTIVITY_LIMIT for c in w.connector.calls)
        assert shown_text(thread).count(JAPANESE) == 3  # every character, in order, once per answer
        assert "(continued, 2 of" in thread[1].body["text"]
        assert w.store.get_run(TENANT, "daily", "ravi", DAY).answers == (JAPANESE, JAPANESE, JAPANESE)

        # Editing the answers: the form keeps every input, with the earlier answers cut to fit, and says so.
        await w.send(t.press(ravi, reminder, "Answer"))
        edit = w.connector.calls[-1]
        assert edit.inputs == ["q0", "q1", "q2"] and edit.size <= ACTIVITY_LIMIT
        assert "shortened" in edit.card_text
        assert w.connector.rejected() == []


async def test_sixty_buttons_go_out_as_a_post_and_its_continuations_in_the_thread(sqlite_store: Any) -> None:
    async with TeamsWorld(sqlite_store, datetime(2027, 3, 15, 9, 0, tzinfo=UTC)) as w:
        w.load(TEAM)
        t = w.tenant(TENANT)
        alice = w.connector.add_user("29:alice", "Alice", "aad-alice", tenant=TENANT)
        await w.send(t.installed_in_team(alice))
        pressed: list[Action] = []

        async def note(_app: Meridian, act: Action) -> Reply | None:
            pressed.append(act)
            return Reply(Message.text(f"You picked {act.value}."))

        w.app.on_action("slot.", note)
        buttons = tuple(Button(f"Tuesday {9 + i // 6}:{i % 6}0 UTC, room {i}", "slot.pick", f"slot-{i:02d}|" + "r" * 400)
                        for i in range(60))
        posted = await w.app.outbox.post("test:slots", TENANT, "#general", Message((Header("Pick a slot"),
                                                                                   Actions(buttons)), "slots"))
        assert posted is not None
        parts = [c for c in w.connector.delivered() if "Pick a slot" in c.card_text or "Tuesday" in c.card_text]
        assert parts[0].kind == "send" and parts[0].answered_id == posted.message_id
        continuations = [c for c in parts if c.kind == "reply"]
        assert continuations and all(c.conversation == f"{t.team_id};messageid={posted.message_id}"
                                     for c in continuations)
        assert all(c.size <= ACTIVITY_LIMIT for c in parts)
        titles = [line for c in parts for line in c.card_text.splitlines() if line.startswith("Tuesday")]
        assert titles == [b.label for b in buttons]

        last_card = continuations[-1]
        await w.send(t.press(alice, last_card, buttons[-1].label))
        assert [a.value for a in pressed] == [buttons[-1].value]
        assert w.connector.rejected() == []


async def test_a_stand_up_form_refuses_a_missing_or_too_long_answer_and_stores_nothing(sqlite_store: Any) -> None:
    async with TeamsWorld(sqlite_store, datetime(2027, 3, 15, 0, 0, tzinfo=UTC)) as w:
        t, ravi, reminder = await ravis_reminder(w)
        await w.send(t.press(ravi, reminder, "Answer"))
        form = w.connector.calls[-1]

        await w.send(t.press(ravi, form, "Submit", q0="x" * 3001, q1="Evaluate v7", q2=""))
        refused = w.connector.calls[-1]
        assert refused.conversation == "a:personal-29:ravi"
        assert refused.shown == ("“What did you get done since last time?” is 3,001 characters long; the most it can "
                                 "hold is 3,000. Nothing was saved: shorten it and submit again.")
        await w.send(t.press(ravi, form, "Submit", q0="  ", q1="Evaluate v7"))
        assert w.connector.calls[-1].shown.startswith("“What did you get done since last time?” is required.")

        assert w.store.get_run(TENANT, "daily", "ravi", DAY).status != "answered"
        assert not w.connector.delivered("reply", ML_TEAM) and not [
            c for c in w.connector.calls if c.conversation and c.conversation.startswith(f"{ML_TEAM};")]
        await w.send(t.press(ravi, form, "Submit", q0="Trained churn v7", q1="Evaluate v7"))
        assert w.store.get_run(TENANT, "daily", "ravi", DAY).status == "answered"


async def test_a_choice_or_a_time_the_card_did_not_offer_is_refused_before_the_core(sqlite_store: Any) -> None:
    async with TeamsWorld(sqlite_store, datetime(2027, 3, 15, 9, 0, tzinfo=UTC)) as w:
        w.load(TEAM)
        t = w.tenant(TENANT)
        alice = w.connector.add_user("29:alice", "Alice", "aad-alice", tenant=TENANT)
        await w.send(t.installed_personally(alice))
        taken: list[Action] = []

        async def take(_app: Meridian, act: Action) -> Reply | None:
            taken.append(act)
            return Reply(Message.text("Saved."))

        w.app.on_action("pick.", take)
        form = Form("Retro slot", "pick.submit", (
            FormInput("slot", "Slot", kind="select", options=("14:00", "16:00")),
            FormInput("days", "Days", kind="multiselect", options=("mon", "tue", "wed"), initial="mon"),
            FormInput("at", "Reminder time", kind="time", initial="09:30"),
            FormInput("owner", "Owner", kind="select"),  # nothing to choose from: typed instead
        ))
        alice_member = w.store.get_member(TENANT, "alice")
        assert alice_member is not None and await w.chat.open_form(alice_member, form, None)
        # The form waits behind a dialog button; a client without dialogs posts the press, and gets the form.
        await w.send(t.press(alice, w.connector.calls[-1], "Open the form"))
        card = w.connector.calls[-1]
        owner = next(el for el in card.card["body"] if el.get("id") == "owner")
        assert owner["type"] == "Input.Text"

        for typed, says in (({"slot": "03:00"}, "“03:00” is not one of the choices for “Slot”"),
                            ({"slot": "14:00", "days": "mon,sun"}, "“sun” is not one of the choices for “Days”"),
                            ({"slot": "14:00", "at": "9.30"}, "“Reminder time” must be a time as HH:MM"),
                            ({"slot": "14:00", "owner": ""}, "“Owner” is required.")):
            await w.send(t.press(alice, card, "Submit", **{"owner": "alice", **typed}))
            assert w.connector.calls[-1].shown.startswith(says), w.connector.calls[-1].shown
        assert taken == []

        await w.send(t.press(alice, card, "Submit", slot="16:00", days="mon,wed", at="17:45", owner="alice"))
        (act,) = taken
        assert act.values == {"slot": "16:00", "days": "mon,wed", "at": "17:45", "owner": "alice"}
        assert w.connector.calls[-1].shown == "Saved." and w.connector.rejected() == []


async def test_the_local_connector_refuses_what_teams_refuses(sqlite_store: Any) -> None:
    """The guard every other test relies on: no token, an invalid card or an oversized activity never passes."""
    async with TeamsWorld(sqlite_store, datetime(2027, 3, 15, 9, 0, tzinfo=UTC)) as w:
        url = f"{w.connector.url}v3/conversations/a:personal-29:ravi/activities"
        bot = {"Authorization": f"Bearer {w.issuer.bot_token(w.app_id)}"}
        card = {"type": "AdaptiveCard", "version": "1.5", "body": [{"type": "TextBlock", "text": "hi"}]}

        def activity(content: dict[str, Any], text: str = "") -> dict[str, Any]:
            return {"type": "message", "text": text,
                    "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive", "content": content}]}

        async with aiohttp.ClientSession() as http:
            cases = [
                ({}, activity(card), 401),
                ({"Authorization": f"Bearer {w.issuer.channel_token(w.app_id, w.connector.url)}"}, activity(card), 401),
                (bot, activity({**card, "body": [{"type": "TextBlock"}]}), 400),  # a TextBlock needs its text
                (bot, activity({**card, "msteams": {"width": "Half"}}), 400),
                (bot, activity({**card, "body": [{"type": "Input.ChoiceSet", "id": "x", "isRequired": True,
                                                  "choices": []}]}), 400),
                (bot, activity(card, "字" * 5000), 413),  # 30 KB as sent
                (bot, activity({**card, "msteams": {"width": "Full"}}), 201),
            ]
            for headers, body, status in cases:
                async with http.post(url, json=body, headers=headers) as response:
                    assert response.status == status, (body, await response.text())
