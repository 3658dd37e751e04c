"""RACI questions asked in words: what they are about, and what is not a question at all."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.raci.lookup import ActivityIndex
from bot.raci.question import answer_question


@pytest.mark.parametrize(("question", "about"), [
    ("who owns churn retraining?", "churn retraining"),
    ("Who is responsible for the feature store?", "feature store"),
    ("who's on data labelling now?", "data labelling"),
    ("who’s accountable for drift alerts", "drift alerts"),
    ("whose is churn retraining?", "churn retraining"),
    ("who is the owner of the model registry?", "model registry"),
    ("who do I ask about   model registry ?", "model registry"),
    ("hey who runs our eval harness??", "eval harness"),
    ("what does @ravi own?", "@ravi"),
])
def test_a_question_is_read_as_what_it_is_about(question: str, about: str) -> None:
    assert answer_question(question) == about


@pytest.mark.parametrize("text", ["hello there", "who", "who owns ?", "thanks!", "", "standup", "who knew"])
def test_anything_else_is_not_a_question(text: str) -> None:
    assert answer_question(text) is None


@given(st.text(max_size=300))
def test_any_text_is_either_not_a_question_or_about_something_shorter_and_never_raises(text: str) -> None:
    about = answer_question(text)
    assert about is None or (about.strip() and len(about) <= len(text))


# --- a whole message: the activity it is about ------------------------------------------------

CHART = ActivityIndex([
    ("churn model retraining", ()),
    ("churn model monitoring", ()),
    ("feature store", ("fs",)),
    ("feature store v2", ()),
    ("label review", ()),
])


@pytest.mark.parametrize(("message", "about"), [
    ("The churn retraining run failed again last night, anyone looking?", "churn model retraining"),
    ("can't reach the Feature-Store from the notebook", "feature store"),
    ("migrating to feature store v2 next sprint", "feature store v2"),  # the longest name written out wins
    ("Label reviw is blocked: no one has capacity", "label review"),  # a typo inside a run of words
])
def test_a_message_is_read_for_the_one_activity_it_is_about(message: str, about: str) -> None:
    assert CHART.about(message).activity == about


def test_a_message_naming_two_activities_offers_both_and_guesses_neither() -> None:
    match = CHART.about("label review waits on the feature store")
    assert match.activity is None and set(match.suggestions) == {"label review", "feature store"}


@pytest.mark.parametrize("message", ["the model is great", "retraining", "thanks all, see you tomorrow", ""])
def test_a_single_common_word_or_chatter_names_nothing(message: str) -> None:
    match = CHART.about(message)
    assert match.activity is None and match.suggestions == () and not match.empty


@given(st.text(max_size=6000))
def test_any_message_is_read_without_raising_and_bounded(text: str) -> None:
    match = CHART.about(text)
    assert match.activity is None or match.activity in CHART.names
