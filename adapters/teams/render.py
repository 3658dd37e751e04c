"""Neutral messages and forms as Adaptive Cards 1.5: the only place that knows the card format.

Every bare string is user-safe literal text (``bot.kernel.messages``), so it is escaped here:
``&``, ``<`` and ``>`` become entities (no ``<at>`` mention, no markup) and the
characters Teams' Markdown acts on are backslash-escaped (no ``[link](…)``, no
emphasis). A ``Mention`` becomes a real Teams mention — ``<at>Name</at>`` plus an entity
naming the user — only when the member has a Teams identity; otherwise it is the
plain ``@Name``. Nothing else can mention anyone.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from bot.kernel.messages import (
    Actions,
    Attachment,
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
    Rich,
    Section,
    Strong,
)

CARD_TYPE = "application/vnd.microsoft.card.adaptive"
CARD_VERSION = "1.5"
SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
RESERVED_DATA_KEYS = frozenset({"action_id", "value", "metadata", "msteams"})
"""Keys of ``Action.Submit`` data that are not form inputs."""

_MARKDOWN = re.compile(r"([\\`*_\[\]~])")
_SAFE_URL = re.compile(r"^(https?://|mailto:)", re.IGNORECASE)


@dataclass
class Rendered:
    """One outgoing activity's content: the card, the plain fallback and the mention entities."""

    card: dict[str, Any]
    text: str
    entities: list[dict[str, Any]] = field(default_factory=list)


def escape(text: str) -> str:
    """User text as literal Teams Markdown: nothing in it can link, format or mention."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MARKDOWN.sub(r"\\\1", text)


def _url(url: str) -> str | None:
    """Only web and mail links, with the characters that would end the Markdown link encoded."""
    if not _SAFE_URL.match(url):
        return None
    return quote(url, safe=":/?#@!$&'*+,;=%-._~")


class _Inline:
    """Renders rich text, collecting the mention entities it used (``accounts``: member id → Teams user id)."""

    def __init__(self, accounts: Mapping[str, str]) -> None:
        self.accounts = accounts
        self.entities: dict[str, dict[str, Any]] = {}

    def rich(self, parts: Rich) -> str:
        return "".join(self.part(p) for p in parts)

    def part(self, part: Any) -> str:
        if isinstance(part, str):
            return escape(part)
        if isinstance(part, Mention):
            return self.mention(part)
        if isinstance(part, Strong):
            return f"**{escape(part.text)}**" if part.text.strip() else escape(part.text)
        if isinstance(part, Code):
            return self.code(part.text)
        if isinstance(part, Link):
            url = _url(part.url)
            label = escape(part.label or part.url)
            return f"[{label}]({url})" if url else label
        return ""

    @staticmethod
    def code(text: str) -> str:
        # A code span shows its content raw, so only text that cannot close it or carry markup goes in one.
        if not text or any(c in text for c in "`<>&\n"):
            return escape(text)
        return f"`{text}`"

    def mention(self, m: Mention) -> str:
        user_id = self.accounts.get(m.member_id)
        if not user_id:
            return escape(f"@{m.name}")
        tag = f"<at>{escape(m.name)}</at>"
        self.entities.setdefault(tag, {"type": "mention", "text": tag, "mentioned": {"id": user_id, "name": m.name}})
        return tag


def _text_block(text: str, **style: Any) -> dict[str, Any]:
    return {"type": "TextBlock", "text": text, "wrap": True, **style}


def _fact(inline: _Inline, rich_text: Rich) -> dict[str, str]:
    """A field reads as a fact when it starts with its bold title (``Owner: Alice``)."""
    if rich_text and isinstance(rich_text[0], Strong):
        rest = list(rich_text[1:])
        if rest and isinstance(rest[0], str):
            rest[0] = rest[0].lstrip(":").lstrip()
        return {"title": escape(rich_text[0].text), "value": inline.rich(tuple(rest)) or " "}
    return {"title": "", "value": inline.rich(rich_text) or " "}


def _submit(title: str, data: dict[str, Any], style: str | None = None) -> dict[str, Any]:
    action: dict[str, Any] = {"type": "Action.Submit", "title": title, "data": data}
    if style:
        action["style"] = style
    return action


_BUTTON_STYLE = {"primary": "positive", "danger": "destructive"}


def _attachment_note(att: Attachment) -> dict[str, Any]:
    return _text_block(escape(f"📎 {att.filename} ({len(att.content.encode()):,} bytes)"), isSubtle=True)


def card(message: Message, accounts: Mapping[str, str] | None = None) -> Rendered:
    """An Adaptive Card for the message, with the fallback and mention entities for the activity."""
    inline = _Inline(accounts or {})
    body: list[dict[str, Any]] = []
    separate = False
    for block in message.blocks:
        element: dict[str, Any] | None = None
        if isinstance(block, Header):
            element = _text_block(escape(block.text), size="Large", weight="Bolder")
        elif isinstance(block, Section):
            items = [_text_block(inline.rich(block.text))] if block.text else []
            if block.fields:
                items.append({"type": "FactSet", "facts": [_fact(inline, f) for f in block.fields]})
            element = items[0] if len(items) == 1 else {"type": "Container", "items": items}
        elif isinstance(block, Context):
            element = _text_block(inline.rich(block.text), size="Small", isSubtle=True)
        elif isinstance(block, Divider):
            separate = True
            continue
        elif isinstance(block, Actions):
            element = {"type": "ActionSet", "actions": [
                _submit(b.label, {"action_id": b.action_id, "value": b.value}, _BUTTON_STYLE.get(b.style or ""))
                for b in block.buttons]}
        elif isinstance(block, Image):
            url = _url(block.url)
            element = {"type": "Image", "url": url, "altText": block.alt} if url else _text_block(escape(block.alt))
        if element is None:
            continue
        if separate and body:
            element["separator"] = True
            element["spacing"] = "Medium"
        separate = False
        body.append(element)
    body.extend(_attachment_note(a) for a in message.attachments)
    content: dict[str, Any] = {"type": "AdaptiveCard", "$schema": SCHEMA, "version": CARD_VERSION, "body": body,
                               "msteams": {"width": "Full"}}
    entities = list(inline.entities.values())
    if entities:
        content["msteams"]["entities"] = entities
    return Rendered(content, escape(message.fallback), entities)


def _input(spec: FormInput) -> dict[str, Any]:
    base: dict[str, Any] = {"id": spec.input_id, "label": spec.label, "isRequired": not spec.optional}
    if not spec.optional:
        base["errorMessage"] = f"{spec.label} is required"
    if spec.kind in {"select", "multiselect"}:
        base.update({"type": "Input.ChoiceSet", "choices": [{"title": o, "value": o} for o in spec.options],
                     "isMultiSelect": spec.kind == "multiselect", "style": "compact"})
        if spec.initial:
            base["value"] = spec.initial
        return base
    if spec.kind == "time":
        base["type"] = "Input.Time"
        if spec.initial:
            base["value"] = spec.initial
        return base
    base.update({"type": "Input.Text", "isMultiline": spec.multiline, "maxLength": 3000})
    if spec.initial:
        base["value"] = spec.initial
    if spec.placeholder:
        base["placeholder"] = spec.placeholder
    return base


def form_card(form: Form) -> Rendered:
    """A form as a card with inputs; its Submit sends the values with the form's callback and metadata."""
    body: list[dict[str, Any]] = [_text_block(escape(form.title), size="Medium", weight="Bolder")]
    body.extend(_input(i) for i in form.inputs)
    data = {"action_id": form.callback_id, "metadata": dict(form.metadata)}
    content = {"type": "AdaptiveCard", "$schema": SCHEMA, "version": CARD_VERSION, "body": body,
               "actions": [_submit(form.submit_label, data, "positive")], "msteams": {"width": "Full"}}
    return Rendered(content, escape(form.title))


def submitted(data: Mapping[str, Any]) -> tuple[str, str, dict[str, str], dict[str, str]] | None:
    """``(action_id, value, values, metadata)`` from the data of a card action, or ``None`` if it is not ours."""
    action_id = data.get("action_id")
    if not isinstance(action_id, str) or not action_id:
        return None
    raw_metadata = data.get("metadata")
    metadata: Mapping[str, Any] = raw_metadata if isinstance(raw_metadata, dict) else {}
    values = {k: _as_text(v) for k, v in data.items() if k not in RESERVED_DATA_KEYS}
    return action_id, _as_text(data.get("value", "")), values, {str(k): _as_text(v) for k, v in metadata.items()}


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else str(value)
