"""Block Kit rendering: escaping, mentions, and Slack's size limits met by splitting."""

from __future__ import annotations

import json

from adapters.slack.blocks import (
    MAX_BLOCKS,
    escape,
    form_metadata,
    form_values,
    home_view,
    modal,
    mrkdwn,
    render,
    split_text,
)
from bot.kernel.messages import (
    Actions,
    Attachment,
    Button,
    Code,
    Context,
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

SLACK_IDS = {"ravi": "U0RAVI"}


def resolve(member_id: str) -> str | None:
    return SLACK_IDS.get(member_id)


def all_text(rendered: object) -> str:
    return json.dumps(rendered)


def test_user_text_cannot_ping_a_channel_a_group_or_a_person() -> None:
    hostile = "<!channel> <!here> <!everyone> <!subteam^S123|@ml> <@U999> <https://evil.example|click> & done"
    msg = Message((Section(rich(hostile), fields=(rich(hostile),)), Context(rich(hostile))), fallback=hostile)
    (out,) = render(msg, resolve)
    dumped = all_text([out.text, out.blocks])
    for control in ("<!channel>", "<!here>", "<!everyone>", "<!subteam", "<@U999>", "<https://"):
        assert control not in dumped
    assert out.blocks[0]["text"]["text"].startswith("&lt;!channel&gt; &lt;!here&gt;")
    assert "&amp; done" in out.text


def test_mentions_use_the_members_slack_account_or_fall_back_to_a_bold_name() -> None:
    text = mrkdwn(rich(Mention("ravi", "Ravi"), " and ", Mention("noor", "Noor <!here>")), resolve)
    assert text == "<@U0RAVI> and *Noor &lt;!here&gt;*"


def test_a_forged_slack_account_id_is_not_trusted_as_a_mention() -> None:
    assert mrkdwn(rich(Mention("x", "X")), lambda _m: "U1> <!channel") == "*X*"


def test_strong_code_and_links_are_markup_around_escaped_text() -> None:
    text = mrkdwn(rich(Strong("a<b"), " ", Code("x`y&z"), " ", Link("https://ex.example/a?b=1&c=2", "run <1>")))
    assert text == "*a&lt;b* `xˋy&amp;z` <https://ex.example/a?b=1&amp;c=2|run &lt;1&gt;>"


def test_a_link_that_is_not_http_is_shown_as_text() -> None:
    assert mrkdwn(rich(Link("javascript:alert(1)", "x"))) == "x (javascript:alert(1))"


def test_long_section_text_is_split_into_sections_within_3000_characters_without_cutting_entities() -> None:
    long = ("word & <thing> " * 600).strip()
    msg = Message((Section(rich(long)),), fallback="long")
    (out,) = render(msg)
    texts = [b["text"]["text"] for b in out.blocks]
    assert len(texts) > 1
    assert all(len(t) <= 3000 for t in texts)
    joined = "".join(texts)
    assert joined == escape(long)
    for t in texts:
        assert t.count("&") == t.count("&amp;") + t.count("&lt;") + t.count("&gt;")


def test_markup_spans_are_never_split_across_sections() -> None:
    parts = rich("x" * 2995, Strong("bold words"), "tail")
    chunks = split_text(parts, lambda _m: None)
    assert chunks[0] == "x" * 2995
    assert chunks[1].startswith("*bold words*")


def test_more_than_ten_fields_become_several_sections() -> None:
    fields = tuple(rich(f"f{i}") for i in range(23))
    (out,) = render(Message((Section(rich("title"), fields=fields),), fallback="t"))
    assert [len(b.get("fields", [])) for b in out.blocks] == [10, 10, 3]
    assert out.blocks[0]["text"]["text"] == "title"


def test_more_than_fifty_blocks_become_thread_continuations() -> None:
    blocks = tuple(Section(rich(f"line {i}")) for i in range(120))
    parts = render(Message(blocks, fallback="report"))
    assert [len(p.blocks) for p in parts] == [50, 50, 20]
    assert all(len(p.blocks) <= MAX_BLOCKS for p in parts)
    assert parts[0].text == "report"
    assert parts[2].text == "(continued, 3 of 3)"
    assert parts[2].blocks[-1]["text"]["text"] == "line 119"


def test_header_buttons_and_context_follow_block_kit_shapes() -> None:
    msg = Message((Header("Stand-up " * 30), Context(rich("ctx")),
                   Actions((Button("Answer", "standup.answer", "v", "primary"), Button("Skip", "standup.skip")))),
                  fallback="f")
    (out,) = render(msg)
    header, context, actions = out.blocks
    assert header["type"] == "header" and len(header["text"]["text"]) <= 150
    assert context == {"type": "context", "elements": [{"type": "mrkdwn", "text": "ctx", "verbatim": True}]}
    assert [e["action_id"] for e in actions["elements"]] == ["standup.answer", "standup.skip"]
    assert actions["elements"][0]["style"] == "primary"


def test_the_home_tab_is_one_view_of_at_most_100_blocks() -> None:
    view = home_view(Message(tuple(Section(rich(str(i))) for i in range(150)), fallback="home"))
    assert view["type"] == "home" and len(view["blocks"]) == 100


def test_a_form_becomes_a_modal_and_its_submission_comes_back_by_input_id() -> None:
    form = Form("Daily stand-up for the ML team", "standup.answer",
                (FormInput("q0", "Yesterday?", multiline=True, initial="plan from last time"),
                 FormInput("days", "Days", kind="multiselect", options=("mon", "tue", "wed"), initial="mon,wed"),
                 FormInput("at", "Time", kind="time", initial="09:30"),
                 FormInput("channel", "Channel", kind="channel"),
                 FormInput("people", "Participants", kind="users", initial="U1AA,alice")),
                metadata={"standup": "ml-daily"})
    view = modal(form)
    assert view["callback_id"] == "standup.answer" and len(view["title"]["text"]) <= 24
    q0, days, at, channel, people = view["blocks"]
    assert q0["element"]["initial_value"] == "plan from last time" and q0["element"]["multiline"]
    assert [o["value"] for o in days["element"]["initial_options"]] == ["mon", "wed"]
    assert at["element"]["initial_time"] == "09:30"
    assert channel["element"]["default_to_current_conversation"] is True
    assert people["element"]["initial_users"] == ["U1AA"]

    submitted = {**view, "state": {"values": {
        "q0": {"q0": {"type": "plain_text_input", "value": "shipped <it>"}},
        "days": {"days": {"type": "multi_static_select", "selected_options": [{"value": "mon"}, {"value": "tue"}]}},
        "at": {"at": {"type": "timepicker", "selected_time": "10:15"}},
        "channel": {"channel": {"type": "conversations_select", "selected_conversation": "C123"}},
        "people": {"people": {"type": "multi_users_select", "selected_users": ["U1", "U2"]}},
    }}}
    assert form_values(submitted) == {"q0": "shipped <it>", "days": "mon,tue", "at": "10:15",
                                      "channel": "C123", "people": "U1,U2"}
    named = form_values(submitted, lambda u: {"U1": "ravi"}.get(u, u))
    assert named["people"] == "ravi,U2"
    assert form_metadata(submitted) == {"standup": "ml-daily"}


def test_an_attached_file_is_shown_inline_escaped_and_split_only_when_asked() -> None:
    csv = "activity,R\n" + "".join(f"task {i} <!here>,ravi\n" for i in range(400))
    msg = Message((Section(rich("Your export")),), fallback="export",
                  attachments=(Attachment("raci.csv", csv, "text/csv"),))
    assert [b["type"] for p in render(msg) for b in p.blocks] == ["section"], "files are uploaded, not inlined"
    parts = render(msg, inline_files=True)
    blocks = [b for p in parts for b in p.blocks]
    assert "raci.csv" in blocks[1]["elements"][0]["text"]
    code = [b["text"]["text"] for b in blocks[2:]]
    assert len(code) > 1 and all(len(t) <= 3000 and t.startswith("```") for t in code)
    assert "<!here>" not in json.dumps(blocks)
    assert "".join(t.removeprefix("```\n").removesuffix("\n```") for t in code) == escape(csv)
