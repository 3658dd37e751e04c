"""RACI questions asked in words: what they are about, and what is not a question at all."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

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
