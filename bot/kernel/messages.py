"""The neutral rich-message model.

Use cases build these; each chat adapter renders them (Block Kit, Adaptive Cards,
terminal text). Every bare ``str`` inside a message is *user-safe literal text*:
renderers escape it for their platform, so user input can never turn into markup,
a mention or a ``@channel`` ping. Formatting and mentions exist only as the typed
spans below, which is the one place where the core asks for markup.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

MAX_USER_TEXT = 3000
"""How much of one piece of user text is shown inline; the rest is kept, not shown."""


@dataclass(frozen=True)
class Mention:
    """A reference to a member that renderers turn into a platform mention."""

    member_id: str
    name: str


@dataclass(frozen=True)
class Strong:
    text: str
    style: Literal["strong"] = "strong"


@dataclass(frozen=True)
class Code:
    text: str
    style: Literal["code"] = "code"


@dataclass(frozen=True)
class Link:
    url: str
    label: str


Inline = str | Mention | Strong | Code | Link
Rich = tuple[Inline, ...]


def rich(*parts: Inline) -> Rich:
    return tuple(parts)


@dataclass(frozen=True)
class Header:
    text: str
    kind: Literal["header"] = "header"


@dataclass(frozen=True)
class Section:
    text: Rich
    fields: tuple[Rich, ...] = ()
    kind: Literal["section"] = "section"


@dataclass(frozen=True)
class Context:
    text: Rich
    kind: Literal["context"] = "context"


@dataclass(frozen=True)
class Divider:
    kind: Literal["divider"] = "divider"


@dataclass(frozen=True)
class Button:
    label: str
    action_id: str
    value: str = ""
    style: Literal["primary", "danger"] | None = None
    url: str | None = None
    """A link button (a runbook): the platform opens the page; a press may still reach the core, which ignores it."""
    opens_form: bool = False
    """The press answers with a form: a platform that shows forms as dialogs opens one straight from the button
    (a Teams task module) instead of posting the form into the chat."""


@dataclass(frozen=True)
class Actions:
    buttons: tuple[Button, ...]
    kind: Literal["actions"] = "actions"


@dataclass(frozen=True)
class Image:
    url: str
    alt: str
    kind: Literal["image"] = "image"


Block = Header | Section | Context | Divider | Actions | Image


@dataclass(frozen=True)
class Attachment:
    """A file sent with a message (a calendar file, a CSV export)."""

    filename: str
    content: str
    mime: str = "text/plain"


@dataclass(frozen=True)
class Message:
    """One chat message: blocks for rich clients, ``fallback`` for notifications and plain clients."""

    blocks: tuple[Block, ...]
    fallback: str
    attachments: tuple[Attachment, ...] = ()

    @staticmethod
    def text(*parts: Inline) -> Message:
        """A message that is a single paragraph."""
        return Message(blocks=(Section(rich(*parts)),), fallback=plain(rich(*parts)))

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, sort_keys=True)

    @staticmethod
    def from_json(raw: str) -> Message:
        return message_from_dict(json.loads(raw))


@dataclass(frozen=True)
class FormInput:
    """One input of a form (a Slack modal, a Teams task module, a console prompt)."""

    input_id: str
    label: str
    multiline: bool = False
    initial: str = ""
    optional: bool = False
    placeholder: str = ""
    options: tuple[str, ...] = ()
    kind: Literal["text", "select", "multiselect", "time", "channel", "users"] = "text"


@dataclass(frozen=True)
class Form:
    title: str
    callback_id: str
    inputs: tuple[FormInput, ...]
    submit_label: str = "Submit"
    metadata: dict[str, str] = field(default_factory=dict)


def truncate_user_text(text: str, limit: int = MAX_USER_TEXT) -> str:
    """Shorten text for display only; the full text stays in storage."""
    if len(text) <= limit:
        return text
    hidden = len(text) - limit
    return f"{text[:limit]}… ({hidden:,} more characters not shown)"


def plain(parts: Rich) -> str:
    """Plain-text reading of rich text, used for fallbacks and the console."""
    out: list[str] = []
    for part in parts:
        if isinstance(part, str):
            out.append(part)
        elif isinstance(part, Mention):
            out.append(f"@{part.name}")
        elif isinstance(part, Strong | Code):
            out.append(part.text)
        else:
            out.append(f"{part.label} ({part.url})")
    return "".join(out)


def _inline_from(raw: Any) -> Inline:
    if isinstance(raw, str):
        return raw
    if "member_id" in raw:
        return Mention(raw["member_id"], raw["name"])
    if "url" in raw:
        return Link(raw["url"], raw["label"])
    return Strong(raw["text"]) if raw.get("style") == "strong" else Code(raw["text"])


def _rich_from(raw: Any) -> Rich:
    return tuple(_inline_from(p) for p in raw)


def message_from_dict(raw: dict[str, Any]) -> Message:
    blocks: list[Block] = []
    for b in raw["blocks"]:
        kind = b["kind"]
        if kind == "header":
            blocks.append(Header(b["text"]))
        elif kind == "section":
            blocks.append(Section(_rich_from(b["text"]), tuple(_rich_from(f) for f in b["fields"])))
        elif kind == "context":
            blocks.append(Context(_rich_from(b["text"])))
        elif kind == "divider":
            blocks.append(Divider())
        elif kind == "actions":
            blocks.append(Actions(tuple(Button(**btn) for btn in b["buttons"])))
        elif kind == "image":
            blocks.append(Image(b["url"], b["alt"]))
    return Message(
        blocks=tuple(blocks),
        fallback=raw["fallback"],
        attachments=tuple(Attachment(**a) for a in raw.get("attachments", ())),
    )


def plural(count: int, one: str, many: str | None = None) -> str:
    """``1 activity``, ``2 activities``: a count with its noun in the right number."""
    return f"{count:,} {one if count == 1 else many or one + 's'}"
