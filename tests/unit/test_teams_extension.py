"""A message action's ``messagePayload`` read back as the words a person typed, whatever Teams (or anyone) sends."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.teams.extension import message_text

KNOWN = {"aad-ravi": "ravi"}


def payload(content: Any, mentions: Any = None, content_type: Any = "html") -> dict[str, Any]:
    return {"body": {"contentType": content_type, "content": content}, "mentions": mentions}


def test_html_becomes_lines_of_words_and_people_become_members_or_names() -> None:
    mentions = [{"id": 0, "mentionText": "Ravi", "mentioned": {"user": {"id": "aad-ravi", "displayName": "Ravi"}}},
                {"id": 1, "mentionText": "Sam Stranger", "mentioned": {"user": {"id": "aad-sam"}}},
                {"id": 2, "mentionText": "Hook", "mentioned": {"application": {"id": "app-1"}}}]
    content = ('<div><p>who owns <b>churn&nbsp;retraining</b>?&nbsp;<at id="0">Ravi</at> &amp; '
               '<at id="1">Sam Stranger</at></p><p>asked by <at id="2">Hook</at><br/>&lt;script&gt;</p></div>')
    assert message_text(payload(content, mentions), KNOWN.get) == \
        "who owns churn retraining? @ravi & Sam Stranger\nasked by Hook\n<script>"
    assert message_text(payload("plain <b>text</b>", content_type="text"), KNOWN.get) == "plain <b>text</b>"


@pytest.mark.parametrize("odd", [None, 7, "x", [], {"body": None}, {"body": {"content": None}},
                                 {"body": {"content": '<at id="9">Nobody</at> hi'}, "mentions": "nope"},
                                 {"body": {"content": '<at id="0">A</at>'}, "mentions": [None, {"id": 0}]}])
def test_a_payload_of_the_wrong_shape_is_read_as_what_it_holds(odd: Any) -> None:
    shaped = odd if isinstance(odd, dict) else {"body": odd}
    assert isinstance(message_text(shaped, KNOWN.get), str)


@given(st.text(max_size=2000), st.lists(st.dictionaries(st.sampled_from(["id", "mentionText", "mentioned"]),
                                                        st.one_of(st.none(), st.integers(), st.text(max_size=5))),
                                        max_size=3))
def test_any_html_and_mentions_are_read_without_raising(content: str, mentions: list[dict[str, Any]]) -> None:
    assert isinstance(message_text(payload(content, mentions), KNOWN.get), str)
