"""Neutral messages as Adaptive Cards: structure, escaping and mentions."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from adapters.teams.render import card, escape, form_card, submitted
from bot.kernel.messages import (
    Actions,
    Button,
    Code,
    Context,
    Divider,
    Form,
    FormInput,
    Header,
    Link,
    Mention,
    Message,
    Section,
    Strong,
    rich,
)


def text_blocks(content: dict) -> list[dict]:
    out = []
    for el in content["body"]:
        out.extend(el["items"] if el["type"] == "Container" else [el])
    return [el for el in out if el["type"] == "TextBlock"]


def test_blocks_become_text_blocks_fact_sets_and_submit_buttons() -> None:
    message = Message((
        Header("📋 daily — Mon 15 Mar 2027"),
        Section(rich("Owner of ", Strong("churn model")), fields=(rich(Strong("R"), ": Ravi"), rich("no title"))),
        Divider(),
        Context(rich("Open until 17:00 your time.")),
        Actions((Button("Answer", "standup.answer", "daily|2027-03-15", "primary"),
                 Button("Skip today", "standup.skip", "daily|2027-03-15"))),
    ), fallback="daily stand-up")
    rendered = card(message)
    content = rendered.card
    assert content["type"] == "AdaptiveCard" and content["version"] == "1.5"
    header, section_box, context, actions = content["body"]
    assert header == {"type": "TextBlock", "text": "📋 daily — Mon 15 Mar 2027", "wrap": True, "size": "Large",
                      "weight": "Bolder"}
    assert section_box["items"][0]["text"] == "Owner of **churn model**"
    assert section_box["items"][1] == {"type": "FactSet", "facts": [{"title": "R", "value": "Ravi"},
                                                                    {"title": "", "value": "no title"}]}
    assert context["separator"] is True and context["isSubtle"] is True
    assert actions["actions"] == [
        {"type": "Action.Submit", "title": "Answer", "style": "positive",
         "data": {"action_id": "standup.answer", "value": "daily|2027-03-15"}},
        {"type": "Action.Submit", "title": "Skip today", "data": {"action_id": "standup.skip",
                                                                  "value": "daily|2027-03-15"}}]
    assert all(tb["wrap"] for tb in text_blocks(content))
    assert rendered.text == "daily stand-up" and rendered.entities == []


def test_a_mention_is_real_only_for_members_with_a_teams_account() -> None:
    message = Message.text(Mention("ravi", "Ravi"), " and ", Mention("noor", "Noor <admin>"), " and ",
                           Mention("ravi", "Ravi"))
    rendered = card(message, {"ravi": "29:ravi"})
    assert text_blocks(rendered.card)[0]["text"] == "<at>Ravi</at> and @Noor &lt;admin&gt; and <at>Ravi</at>"
    assert rendered.card["msteams"]["entities"] == [
        {"type": "mention", "text": "<at>Ravi</at>", "mentioned": {"id": "29:ravi", "name": "Ravi"}}]


def test_links_only_to_the_web_and_code_only_when_it_cannot_break_out() -> None:
    message = Message.text(Link("https://mlflow.example/#/runs/1 (x)", "run [1]"), " ", Link("javascript:alert(1)", "x"),
                           " ", Code("/standup help"), " ", Code("a`b <at>"))
    text = text_blocks(card(message).card)[0]["text"]
    assert text.startswith("[run \\[1\\]](https://mlflow.example/#/runs/1%20%28x%29) x ")
    assert "javascript" not in text
    assert text.endswith("`/standup help` a\\`b &lt;at&gt;")


@given(st.text(max_size=200))
def test_no_user_text_survives_as_markup(text: str) -> None:
    rendered = card(Message.text(text, Strong(text)))
    body = json.dumps(rendered.card) + rendered.text
    for dangerous in ("<", ">"):
        assert dangerous not in escape(text)
    assert "<at>" not in body and rendered.entities == [] and "entities" not in rendered.card["msteams"]
    # every Markdown-active character is escaped: none is left bare
    escaped = escape(text)
    i = 0
    while i < len(escaped):
        if escaped[i] == "\\":
            i += 2
            continue
        assert escaped[i] not in "[]*_`~"
        i += 1


def test_a_form_is_a_card_with_inputs_whose_submit_carries_the_callback_and_metadata() -> None:
    form = Form("daily — Mon 15 Mar", "standup.submit", (
        FormInput("q0", "What did you get done?", multiline=True, initial="Trained <v7>"),
        FormInput("q2", "Anything blocking you?", optional=True),
        FormInput("days", "Days", kind="multiselect", options=("mon", "tue")),
        FormInput("at", "Time", kind="time", initial="09:30"),
    ), metadata={"standup": "daily", "day": "2027-03-15"})
    content = form_card(form).card
    title, q0, q2, days, at = content["body"]
    assert title["text"] == "daily — Mon 15 Mar"
    assert q0 == {"type": "Input.Text", "id": "q0", "label": "What did you get done?", "isRequired": True,
                  "errorMessage": "What did you get done? is required", "isMultiline": True, "maxLength": 3000,
                  "value": "Trained <v7>"}
    assert q2["isRequired"] is False and "errorMessage" not in q2
    assert days["type"] == "Input.ChoiceSet" and days["isMultiSelect"] is True
    assert at == {"type": "Input.Time", "id": "at", "label": "Time", "isRequired": True,
                  "errorMessage": "Time is required", "value": "09:30"}
    assert content["actions"][0]["data"] == {
        "action_id": "standup.submit", "metadata": {"standup": "daily", "day": "2027-03-15"},
        "checks": {"q0": {"label": "What did you get done?", "required": True, "maxLength": 3000},
                   "q2": {"label": "Anything blocking you?", "required": False, "maxLength": 3000},
                   "days": {"label": "Days", "required": True, "choices": ["mon", "tue"], "multi": True},
                   "at": {"label": "Time", "required": True, "time": True}}}


def test_submitted_data_splits_into_action_value_inputs_and_metadata() -> None:
    data = {"action_id": "standup.submit", "metadata": {"standup": "daily"}, "q0": "done", "q1": 3, "q2": None,
            "msteams": {"type": "messageBack"}}
    assert submitted(data) == ("standup.submit", "", {"q0": "done", "q1": "3", "q2": ""}, {"standup": "daily"})
    assert submitted({"value": "x"}) is None
    assert submitted({"action_id": "standup.answer", "value": "daily|2027-03-15"}) == (
        "standup.answer", "daily|2027-03-15", {}, {})
