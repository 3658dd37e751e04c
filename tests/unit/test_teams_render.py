"""Neutral messages as Adaptive Cards: structure, escaping and mentions."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.teams.render import (
    ACTIVITY_LIMIT,
    CARD_LIMIT,
    DIALOG_KEY,
    ENVELOPE,
    Rendered,
    activity_size,
    card,
    cards,
    dialog_form,
    escape,
    form_card,
    form_opener,
    one_card,
    outgoing,
    refusal,
    submitted,
)
from bot.kernel.messages import (
    Actions,
    Button,
    Code,
    Context,
    Divider,
    Form,
    FormInput,
    Header,
    Image,
    Link,
    Mention,
    Message,
    Section,
    Strong,
    rich,
)
from tests.emulators.teams import card_errors


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


# --- Teams' 28 KB limit ------------------------------------------------------------------------

JAPANESE = ("モデルの再学習を終え、評価指標を確認しました。" * 131)[:3000]  # 9 KB in UTF-8, 18 KB as sent


def sent_size(rendered: Rendered) -> int:
    return activity_size(outgoing(rendered))


def all_text(parts: list[Rendered]) -> str:
    return "".join(tb["text"] for p in parts for tb in text_blocks(p.card))


def test_three_long_japanese_answers_are_split_into_cards_that_each_fit() -> None:
    message = Message((Header("daily — Mon 15 Mar 2027"),
                       *(Section(rich(Strong(q), "\n", JAPANESE)) for q in ("Done", "Next", "Blockers"))),
                      fallback="Ravi's stand-up")
    assert len(json.dumps(card(message).card).encode()) > 50_000  # one card would be 58 KB as sent
    parts = cards(message)
    assert len(parts) == 3
    assert all(sent_size(p) <= CARD_LIMIT and card_errors(p.card) == [] for p in parts)
    assert all_text(parts).count(escape(JAPANESE)) == 3  # nothing lost, nothing repeated
    assert parts[0].text == "Ravi's stand-up" and parts[2].text == escape("(continued, 3 of 3)")


def test_one_answer_longer_than_a_card_is_cut_between_cards_without_losing_a_character() -> None:
    huge = "要件" * 6000  # 12,000 characters: 72 KB as sent
    parts = cards(Message.text("Notes: ", Strong("important"), " ", huge, " — end"))
    assert len(parts) >= 3 and all(sent_size(p) <= CARD_LIMIT for p in parts)
    assert all_text(parts) == escape("Notes: ") + "**important**" + escape(" " + huge + " — end")


def test_sixty_buttons_become_several_cards_with_every_button() -> None:
    buttons = tuple(Button(f"Slot {i}: Tuesday 14:00–15:00 UTC", "retro.slot", f"sprint-retro|2027-03-{i:02d}|" + "x" * 400)
                    for i in range(60))
    message = Message((Header("Pick a slot"), Actions(buttons)), fallback="slots")
    assert sent_size(card(message)) > ACTIVITY_LIMIT
    parts = cards(message)
    assert len(parts) >= 2 and all(sent_size(p) <= CARD_LIMIT and card_errors(p.card) == [] for p in parts)
    titles = [a["title"] for p in parts for el in p.card["body"] if el["type"] == "ActionSet" for a in el["actions"]]
    assert titles == [b.label for b in buttons]


def test_an_update_is_one_card_that_says_it_was_shortened() -> None:
    message = Message(tuple(Section(rich(JAPANESE)) for _ in range(4)), fallback="long")
    rendered = one_card(message)
    assert sent_size(rendered) <= CARD_LIMIT and card_errors(rendered.card) == []
    assert "Shortened" in text_blocks(rendered.card)[-1]["text"]


def test_a_form_too_big_for_teams_keeps_every_input_and_cuts_the_earlier_answers() -> None:
    form = Form("daily — Mon 15 Mar", "standup.submit",
                tuple(FormInput(f"q{i}", f"Question {i}", multiline=True, initial=JAPANESE) for i in range(3)))
    rendered = form_card(form)
    assert sent_size(rendered) <= CARD_LIMIT and card_errors(rendered.card) == []
    inputs = [el for el in rendered.card["body"] if el["type"] == "Input.Text"]
    assert [el["id"] for el in inputs] == ["q0", "q1", "q2"]
    assert all(JAPANESE.startswith(el["value"]) and len(el["value"]) < len(JAPANESE) for el in inputs)
    assert "shortened" in rendered.card["body"][1]["text"]


def test_a_choice_with_nothing_to_choose_is_typed_instead() -> None:
    form = Form("Setup", "x.submit", (FormInput("who", "Who", kind="select"),))
    (_, who) = form_card(form).card["body"]
    assert who["type"] == "Input.Text" and who["isRequired"] is True and card_errors(form_card(form).card) == []


# --- what a submitted form may hold -----------------------------------------------------------

PICK = Form("Retro slot", "retro.pick", (
    FormInput("slot", "Slot", kind="select", options=("14:00", "16:00")),
    FormInput("days", "Days", kind="multiselect", options=("mon", "tue", "wed")),
    FormInput("at", "Reminder time", kind="time", initial="09:30"),
    FormInput("note", "Note", optional=True),
))


def submit(**values: str) -> dict[str, Any]:
    data = next(a for a in form_card(PICK).card["actions"] if a["title"] == "Submit")["data"]
    return {**data, "slot": "14:00", "days": "mon,tue", "at": "09:30", "note": "", **values}


@pytest.mark.parametrize(("values", "expected"), [
    ({"slot": "03:00"}, "“03:00” is not one of the choices for “Slot” (14:00, 16:00)."),
    ({"days": "mon,sun"}, "“sun” is not one of the choices for “Days” (mon, tue, wed)."),
    ({"at": "9.30"}, "“Reminder time” must be a time as HH:MM (for example 09:30), not “9.30”."),
    ({"at": "24:00"}, "“Reminder time” must be a time as HH:MM"),
    ({"slot": ""}, "“Slot” is required."),
    ({"note": "n" * 3001}, "“Note” is 3,001 characters long; the most it can hold is 3,000."),
    ({"sneaked": "s" * 5000}, "“sneaked” is 5,000 characters long; the most it can hold is 3,000."),
])
def test_a_submitted_value_the_card_would_not_allow_is_refused_in_one_line(values: dict[str, str],
                                                                           expected: str) -> None:
    refused = refusal(submit(**values))
    assert refused is not None and refused.startswith(expected) and "Nothing was saved" in refused
    assert "\n" not in refused


def test_values_the_card_allows_pass() -> None:
    assert refusal(submit()) is None
    assert refusal(submit(days="wed", note="fine", at="23:59")) is None
    assert refusal({"action_id": "standup.answer", "value": "daily|2027-03-15"}) is None  # a button: no inputs


# --- the property: every card valid, every activity within the limit ----------------------------

MULTIBYTE = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=400) | \
    st.sampled_from(["", "a" * 5000, "日本語の長い回答" * 700, "🚀" * 3000, "<at>x</at> **y** [z](http://e)" * 150])
INLINE = MULTIBYTE | st.builds(Strong, MULTIBYTE) | st.builds(Code, MULTIBYTE) | \
    st.builds(Mention, st.sampled_from(["ravi", "noor"]), MULTIBYTE.map(lambda t: t[:200])) | \
    st.builds(Link, st.sampled_from(["https://mlflow.example/#/runs/1", "javascript:x"]), MULTIBYTE)
RICH = st.lists(INLINE, max_size=6).map(tuple)
BLOCK = st.one_of(
    st.builds(Header, MULTIBYTE),
    st.builds(Section, RICH, st.lists(RICH, max_size=12).map(tuple)),
    st.builds(Context, RICH),
    st.just(Divider()),
    st.builds(Actions, st.lists(st.builds(Button, MULTIBYTE, st.just("retro.vote"),
                                          st.text(max_size=300), st.sampled_from([None, "primary", "danger"])),
                                min_size=1, max_size=70).map(tuple)),
    st.builds(Image, st.sampled_from(["https://charts.example/a.png", "ftp://x"]), MULTIBYTE),
)
MESSAGES = st.builds(Message, st.lists(BLOCK, max_size=40).map(tuple), MULTIBYTE)
FORMS = st.builds(
    Form, MULTIBYTE, st.just("x.submit"),
    st.lists(st.builds(FormInput, st.sampled_from([f"i{n}" for n in range(12)]), MULTIBYTE, st.booleans(),
                       MULTIBYTE, st.booleans(), MULTIBYTE, st.lists(MULTIBYTE.map(lambda t: t[:100]), max_size=120)
                       .map(tuple), st.sampled_from(["text", "select", "multiselect", "time", "users"])),
             max_size=12, unique_by=lambda i: i.input_id).map(tuple))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(message=MESSAGES)
def test_every_card_of_any_message_is_valid_and_every_activity_fits(message: Message) -> None:
    parts = cards(message, {"ravi": "29:ravi"})
    for part in parts:
        assert card_errors(part.card) == []
        assert sent_size(part) <= CARD_LIMIT <= ACTIVITY_LIMIT - ENVELOPE
    assert sent_size(one_card(message, {"ravi": "29:ravi"})) <= CARD_LIMIT


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(form=FORMS)
def test_every_form_card_is_valid_and_fits(form: Form) -> None:
    rendered = form_card(form)
    assert card_errors(rendered.card) == [] and sent_size(rendered) <= CARD_LIMIT
    # What the card shows before anyone types is never refused for its length, its choices or its time.
    data = next(a for a in rendered.card["actions"] if a["title"] == "Submit")["data"]
    shown = {el["id"]: el.get("value", "") for el in rendered.card["body"] if el["type"].startswith("Input.")}
    refused = refusal({**data, **shown})
    assert refused is None or "is required" in refused


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(form=FORMS, error=st.text(max_size=3000))
def test_every_dialog_of_a_form_is_valid_and_fits_with_any_refusal_shown(form: Form, error: str) -> None:
    """A dialog's answer is an invoke response: the same 28 KB as an activity, with the card inside ``task``."""
    rendered = form_card(form, dialog="k3y", error=error or None)
    answer = dialog_form(rendered, form.title)
    card_attachment = answer["task"]["value"]["card"]
    assert card_errors(card_attachment["content"]) == []
    assert len(json.dumps(answer).encode()) <= CARD_LIMIT
    (submit,) = rendered.card["actions"]
    data = submit["data"]
    assert data[DIALOG_KEY] == "k3y" and submitted({**data, "q": "x"}) is not None
    assert DIALOG_KEY not in submitted({**data, "q": "x"})[2]  # the key is never read as an input
    opener = form_opener(form, "k3y")
    assert card_errors(opener.card) == [] and sent_size(opener) <= CARD_LIMIT


def test_a_button_that_opens_a_form_asks_teams_for_a_dialog() -> None:
    message = Message((Actions((Button("Answer", "standup.answer", "daily|2027-03-15", "primary", opens_form=True),
                                Button("Skip today", "standup.skip", "daily|2027-03-15"))),), fallback="x")
    answer, skip = card(message).card["body"][0]["actions"]
    assert answer["data"]["msteams"] == {"type": "task/fetch"} and "msteams" not in skip["data"]
    assert submitted(answer["data"]) == ("standup.answer", "daily|2027-03-15", {}, {})


def test_a_link_button_opens_its_page_beside_submit_buttons() -> None:
    message = Message((Actions((Button("I'm on it", "alert.onit", "k", "primary"),
                                Button("Runbook", "alert.runbook", "k", url="https://runbooks.example/latency"))),),
                      fallback="alert")
    content = card(message).card
    assert card_errors(content) == []
    assert content["body"][0]["actions"][1] == {"type": "Action.OpenUrl", "title": "Runbook",
                                                "url": "https://runbooks.example/latency"}
