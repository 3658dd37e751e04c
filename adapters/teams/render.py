"""Neutral messages and forms as Adaptive Cards 1.5: the only place that knows the card format.

Every bare string is user-safe literal text (``bot.kernel.messages``), so it is escaped here:
``&``, ``<`` and ``>`` become entities (no ``<at>`` mention, no markup) and the
characters Teams' Markdown acts on are backslash-escaped (no ``[link](…)``, no
emphasis). A ``Mention`` becomes a real Teams mention — ``<at>Name</at>`` plus an entity
naming the user — only when the member has a Teams identity; otherwise it is the
plain ``@Name``. Nothing else can mention anyone.

Teams refuses an activity over about 28 KB, counted on the JSON the connector sends,
where every non-ASCII character is a six-byte ``\\uXXXX`` escape (Japanese text weighs
twice its UTF-8 size). So, as on Slack, a message is split rather than refused:
``cards`` packs the message's blocks into as many cards as it takes, a block too big
for one card (a long answer, sixty buttons) is cut into several first, and the chat
port sends every card after the first as a continuation. A form cannot be split (its
Submit carries every input), so an oversized one is shortened instead: long earlier
answers are cut, with a note saying so.

Forms also carry, in their Submit's data, what each input may hold (``checks``): Teams
clients enforce ``isRequired``, ``maxLength`` and the choices only as far as each client
does, and a submission is a plain activity, so ``refusal`` checks the values again
before the core sees them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from urllib.parse import quote

from botbuilder.schema import Activity, ActivityTypes
from botbuilder.schema import Attachment as CardAttachment

from bot.kernel.messages import (
    Actions,
    Attachment,
    Block,
    Button,
    Code,
    Context,
    Divider,
    Form,
    FormInput,
    Header,
    Image,
    Inline,
    Link,
    Mention,
    Message,
    Rich,
    Section,
    Strong,
    rich,
)

CARD_TYPE = "application/vnd.microsoft.card.adaptive"
CARD_VERSION = "1.5"
SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
DIALOG_KEY = "teams_form"
"""Data key naming a form kept for a dialog (``adapters.teams.dialogs``): on a button that opens it, on its Submit."""
RESERVED_DATA_KEYS = frozenset({"action_id", "value", "metadata", "msteams", "checks", DIALOG_KEY})
"""Keys of ``Action.Submit`` data that are not form inputs."""

ACTIVITY_LIMIT = 28_000
"""Bytes of serialized activity Teams accepts (its documented limit is about 28 KB)."""
ENVELOPE = 2_000
"""Room kept for what is added when the activity is addressed: ids, the service URL, names."""
CARD_LIMIT = ACTIVITY_LIMIT - ENVELOPE
MAX_TEXT_INPUT = 3000
"""An ``Input.Text``'s ``maxLength``; no submitted value may be longer, whatever the card said."""
MAX_FALLBACK = 1000
MAX_LABEL = 200
MAX_INPUT_LABEL = 100
MAX_OPTION_TITLE = 75
MAX_CHOICES = 100
TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")

_MARKDOWN = re.compile(r"([\\`*_\[\]~])")
_SAFE_URL = re.compile(r"^(https?://|mailto:)", re.IGNORECASE)


@dataclass
class Rendered:
    """One outgoing activity's content: the card, the plain fallback and the mention entities."""

    card: dict[str, Any]
    text: str
    entities: list[dict[str, Any]] = field(default_factory=list)
    summary: str = ""


def outgoing(rendered: Rendered) -> Activity:
    """The message activity carrying the card (addressed later, by the turn or the chat port)."""
    return Activity(type=ActivityTypes.message, text=rendered.text, text_format="markdown",
                    summary=rendered.summary[:200] or None,
                    attachments=[CardAttachment(content_type=CARD_TYPE, content=rendered.card)])


def activity_size(activity: Activity) -> int:
    """Bytes of the activity as the connector sends it: msrest's ``json.dumps``, ASCII with ``\\u`` escapes."""
    return len(json.dumps(activity.serialize()).encode())


@lru_cache(maxsize=256)
def _wrapper_size(text: str, summary: str) -> int:
    """Bytes of the activity around its card: the card is one JSON value inside it, so sizes add up."""
    return activity_size(outgoing(Rendered({}, text, [], summary))) - len(b"{}")


def sent_size(rendered: Rendered) -> int:
    """``activity_size(outgoing(rendered))``, without building the activity (packing measures often)."""
    return _wrapper_size(rendered.text, rendered.summary) + len(json.dumps(rendered.card).encode())


def fits(rendered: Rendered, limit: int = CARD_LIMIT) -> bool:
    return sent_size(rendered) <= limit


def escape(text: str) -> str:
    """User text as literal Teams Markdown: nothing in it can link, format or mention."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MARKDOWN.sub(r"\\\1", text)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


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
        shown = " ".join(m.name.split()) or m.member_id  # a mention's text is one line (Teams' schema)
        tag = f"<at>{escape(shown)}</at>"
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
    action: dict[str, Any] = {"type": "Action.Submit", "title": _cut(title, MAX_LABEL) or " ", "data": data}
    if style:
        action["style"] = style
    return action


_BUTTON_STYLE = {"primary": "positive", "danger": "destructive"}


TASK_FETCH = {"type": "task/fetch"}
"""``msteams`` of a Submit's data that makes Teams open a dialog (``task/fetch`` invoke) instead of posting it."""


def _button(b: Button) -> dict[str, Any]:
    if b.url:
        return {"type": "Action.OpenUrl", "title": _cut(b.label, MAX_LABEL), "url": b.url}
    data: dict[str, Any] = {"action_id": b.action_id, "value": b.value}
    if b.opens_form:
        data["msteams"] = dict(TASK_FETCH)
    return _submit(b.label, data, _BUTTON_STYLE.get(b.style or ""))


def _attachment_note(att: Attachment) -> dict[str, Any]:
    return _text_block(escape(f"📎 {_cut(att.filename, MAX_LABEL)} ({len(att.content.encode()):,} bytes)"),
                       isSubtle=True)


def _element(block: Block, inline: _Inline) -> dict[str, Any] | None:
    if isinstance(block, Header):
        return _text_block(escape(block.text), size="Large", weight="Bolder")
    if isinstance(block, Section):
        items = [_text_block(inline.rich(block.text))] if block.text else []
        if block.fields:
            items.append({"type": "FactSet", "facts": [_fact(inline, f) for f in block.fields]})
        if not items:
            return None
        return items[0] if len(items) == 1 else {"type": "Container", "items": items}
    if isinstance(block, Context):
        return _text_block(inline.rich(block.text), size="Small", isSubtle=True)
    if isinstance(block, Actions):
        if not block.buttons:
            return None
        return {"type": "ActionSet", "actions": [_button(b) for b in block.buttons]}
    if isinstance(block, Image):
        url = _url(block.url)
        alt = _cut(block.alt, MAX_LABEL)
        return {"type": "Image", "url": url, "altText": alt} if url and len(url) <= 2048 else _text_block(escape(alt))
    return None


def _card(blocks: tuple[Block, ...], attachments: tuple[Attachment, ...], text: str, summary: str,
          accounts: Mapping[str, str]) -> Rendered:
    inline = _Inline(accounts)
    body: list[dict[str, Any]] = []
    separate = False
    for block in blocks:
        if isinstance(block, Divider):
            separate = True
            continue
        element = _element(block, inline)
        if element is None:
            continue
        if separate and body:
            element["separator"] = True
            element["spacing"] = "Medium"
        separate = False
        body.append(element)
    body.extend(_attachment_note(a) for a in attachments)
    content: dict[str, Any] = {"type": "AdaptiveCard", "$schema": SCHEMA, "version": CARD_VERSION, "body": body,
                               "msteams": {"width": "Full"}}
    entities = list(inline.entities.values())
    if entities:
        content["msteams"]["entities"] = entities
    return Rendered(content, text, entities, summary)


def card(message: Message, accounts: Mapping[str, str] | None = None) -> Rendered:
    """The whole message as one Adaptive Card, however big (``cards`` is what is sent)."""
    fallback = _cut(message.fallback, MAX_FALLBACK)
    return _card(message.blocks, message.attachments, escape(fallback), fallback, accounts or {})


# --- fitting Teams' size limit ---------------------------------------------------------------

Fit = Callable[[Block], bool]


def _rich_units(parts: Rich, wrap: Callable[[Rich], Block], fit: Fit) -> list[Block]:
    """Rich text cut into pieces that each fit in a card alone (``wrap`` makes a block of a piece)."""
    pieces: list[Block] = []
    current: list[Inline] = []
    queue: list[Inline] = [p if isinstance(p, str) or fit(wrap((p,))) else _plain_of(p) for p in parts]
    while queue:
        part = queue.pop(0)
        if fit(wrap((*current, part))):
            current.append(part)
            continue
        if not isinstance(part, str):  # a small span that does not fit beside the text before it
            pieces.append(wrap(tuple(current)))
            current = [part]
            continue
        low, high = 0, len(part)  # the longest head of this text that still fits beside what is there
        while low < high:
            mid = (low + high + 1) // 2
            if fit(wrap((*current, part[:mid]))):
                low = mid
            else:
                high = mid - 1
        if low == 0 and not current:
            low = 1  # cannot happen within the limits above, but never loop forever
        if low:
            current.append(part[:low])
        pieces.append(wrap(tuple(current)))
        current = []
        if part[low:]:
            queue.insert(0, part[low:])
    if current:
        pieces.append(wrap(tuple(current)))
    return pieces


def _plain_of(part: Inline) -> str:
    if isinstance(part, str):
        return part
    if isinstance(part, Mention):
        return f"@{part.name}"
    if isinstance(part, Link):
        return f"{part.label} ({part.url})"
    return part.text


def _size(data: Any) -> int:
    return len(json.dumps(data).encode())


SEPARATED = _size({"separator": True, "spacing": "Medium"})
"""What a divider before an element adds to it (an upper bound of its share of the card)."""


def _cost(block: Block, accounts: Mapping[str, str]) -> int:
    """Bytes the block adds to a card: its element, the comma before it, a separator, its mention entities.

    Sizes add up because the card is one JSON document (``json.dumps`` escapes each string once, where it is);
    mentions used twice in one card are listed once, so the sum is never less than the truth.
    """
    inline = _Inline(accounts)
    element = _element(block, inline)
    if element is None:
        return 0
    return _size(element) + 2 + SEPARATED + sum(_size(e) + 2 for e in inline.entities.values())


def _units(block: Block, fit: Fit, room: int) -> list[Block]:
    """The block as one or more blocks that each fit in a card by itself (``room``: bytes for one element)."""
    if fit(block):
        return [block]
    if isinstance(block, Header):
        low, high = 0, len(block.text)
        while low < high:
            mid = (low + high + 1) // 2
            low, high = (mid, high) if fit(Header(block.text[:mid] + "…")) else (low, mid - 1)
        return [Header(block.text[:low] + "…")]
    if isinstance(block, Context):
        return _rich_units(block.text, Context, fit)
    if isinstance(block, Section):
        out: list[Block] = _rich_units(block.text, Section, fit) if block.text else []
        group: list[Rich] = []
        for f in block.fields:
            if fit(Section((), (*group, f))):
                group.append(f)
                continue
            if group:
                out.append(Section((), tuple(group)))
                group = []
            if fit(Section((), (f,))):
                group = [f]
            else:  # one field bigger than a card: its text, cut
                out.extend(_rich_units(f, Section, fit))
        if group:
            out.append(Section((), tuple(group)))
        return out
    if isinstance(block, Actions):
        pressed: list[Block] = []
        buttons: list[Button] = []
        used, space = 0, room - _size({"type": "ActionSet", "actions": []}) - SEPARATED
        for b in block.buttons:
            cost = _size(_button(b)) + 2
            if buttons and used + cost > space:
                pressed.append(Actions(tuple(buttons)))
                buttons, used = [], 0
            buttons.append(b)
            used += cost
        return [*pressed, Actions(tuple(buttons))] if buttons else pressed
    return [block]


def cards(message: Message, accounts: Mapping[str, str] | None = None, limit: int = CARD_LIMIT) -> list[Rendered]:
    """The message as cards whose activities each fit in ``limit`` bytes; every one after the first continues it."""
    accounts = accounts or {}
    whole = card(message, accounts)
    if fits(whole, limit):
        return [whole]
    fallback = _cut(message.fallback, MAX_FALLBACK)
    text, more = escape(fallback), escape("(continued, 9999 of 9999)")  # as long as any continuation says

    def render(blocks: tuple[Block, ...], attachments: tuple[Attachment, ...] = (), first: bool = True) -> Rendered:
        return _card(blocks, attachments, text if first else more, fallback, accounts)

    def fit(block: Block) -> bool:  # alone in a card, whether it ends up first or in a continuation
        return fits(render((block,)), limit) and fits(render((block,), first=False), limit)

    empty = max(sent_size(render(())), sent_size(render((), first=False)))
    room = limit - empty - _size({"entities": []}) - 2
    units = [u for block in message.blocks for u in _units(block, fit, room)]
    groups: list[list[Block]] = [[]]
    used = 0
    for unit in units:
        cost = _cost(unit, accounts)
        if groups[-1] and used + cost > room:
            groups.append([])
            used = 0
        groups[-1].append(unit)
        used += cost
    notes = sum(_size(_attachment_note(a)) + 2 for a in message.attachments)
    if notes and used + notes > room:
        groups.append([])
    def fitted(group: tuple[Block, ...], attachments: tuple[Attachment, ...], first: bool) -> list[Rendered]:
        """The group's card; or, should the estimate ever have been short, the group in halves."""
        rendered = render(group, attachments, first)
        if len(group) < 2 or fits(rendered, limit):
            return [rendered]
        half = len(group) // 2
        return [*fitted(group[:half], (), first), *fitted(group[half:], attachments, False)]

    out = [c for n, group in enumerate(groups)
           for c in fitted(tuple(group), message.attachments if n == len(groups) - 1 else (), n == 0)]
    total = len(out)
    for n, rendered in enumerate(out[1:], 2):
        rendered.text = escape(f"(continued, {n} of {total})")
    return out


def one_card(message: Message, accounts: Mapping[str, str] | None = None, limit: int = CARD_LIMIT) -> Rendered:
    """The message in a single card (an update replaces one activity): what does not fit is left off, said so."""
    note = Context(rich("(Shortened: the rest did not fit in one Teams message.)"))
    parts = cards(message, accounts, limit - 600)
    if len(parts) == 1:
        return parts[0]
    first = parts[0]
    first.card["body"].append(_text_block(escape(_plain_of_rich(note.text)), size="Small", isSubtle=True))
    return first


def _plain_of_rich(parts: Rich) -> str:
    return "".join(_plain_of(p) for p in parts)


# --- forms -----------------------------------------------------------------------------------

def _input(spec: FormInput) -> dict[str, Any]:
    label = _cut(spec.label, MAX_INPUT_LABEL)
    base: dict[str, Any] = {"id": spec.input_id, "label": label, "isRequired": not spec.optional}
    if not spec.optional:
        base["errorMessage"] = f"{_cut(label, 40)} is required"
    options = list(dict.fromkeys(o for o in spec.options if o))[:MAX_CHOICES]
    if spec.kind in {"select", "multiselect"} and options:
        choices = [{"title": _cut(o, MAX_OPTION_TITLE) or " ", "value": o} for o in options]
        base.update({"type": "Input.ChoiceSet", "choices": choices, "isMultiSelect": spec.kind == "multiselect",
                     "style": "compact"})
        chosen = [v for v in spec.initial.split(",") if v in options]
        if chosen:
            base["value"] = ",".join(chosen[:1] if spec.kind == "select" else chosen)
        return base
    if spec.kind == "time":
        base["type"] = "Input.Time"
        if TIME.match(spec.initial):
            base["value"] = spec.initial
        return base
    # Text, and a choice with nothing to choose from (as on Slack: typed instead of a list that cannot be answered).
    base.update({"type": "Input.Text", "isMultiline": spec.multiline, "maxLength": MAX_TEXT_INPUT})
    if spec.initial:
        base["value"] = spec.initial[:MAX_TEXT_INPUT]
    if spec.placeholder:
        base["placeholder"] = _cut(spec.placeholder, MAX_LABEL)
    return base


def _check(element: dict[str, Any]) -> dict[str, Any]:
    """What one input may hold, as the Submit's data carries it back."""
    check: dict[str, Any] = {"label": _cut(element["label"], 40), "required": element["isRequired"]}
    if element["type"] == "Input.ChoiceSet":
        check.update({"choices": [c["value"] for c in element["choices"]], "multi": element["isMultiSelect"]})
    elif element["type"] == "Input.Time":
        check["time"] = True
    else:
        check["maxLength"] = element["maxLength"]
    return check


def form_card(form: Form, limit: int = CARD_LIMIT, *, dialog: str | None = None, error: str | None = None) -> Rendered:
    """A form as a card with inputs; its Submit sends the values with the form's callback, metadata and checks.

    ``dialog`` is the key of the form kept for a Teams dialog (its Submit names it, so a refused value can be
    shown in the same dialog); ``error`` is why the last submission was refused, shown above the inputs.
    A form too big for one activity keeps every input: its longest initial values are cut first, with a note;
    should that not do, its biggest lists of choices become typed inputs (the core checks what is typed).
    """
    inputs = [_input(i) for i in form.inputs]
    title = _cut(form.title, MAX_LABEL)

    def render(note: str | None = None) -> Rendered:
        body: list[dict[str, Any]] = [_text_block(escape(title), size="Medium", weight="Bolder")]
        if error:
            body.append(_text_block(escape(_cut(error, MAX_FALLBACK)), color="Attention", weight="Bolder"))
        if note:
            body.append(_text_block(escape(note), size="Small", isSubtle=True))
        body.extend(inputs)
        data: dict[str, Any] = {"action_id": form.callback_id, "metadata": dict(form.metadata),
                                "checks": {el["id"]: _check(el) for el in inputs}}
        if dialog:
            data[DIALOG_KEY] = dialog
        content = {"type": "AdaptiveCard", "$schema": SCHEMA, "version": CARD_VERSION, "body": body,
                   "actions": [_submit(form.submit_label, data, "positive")], "msteams": {"width": "Full"}}
        return Rendered(content, escape(title), summary=title)

    rendered = render()
    note = "Some earlier text was too long to show here and was shortened; what you submit replaces it."
    while not fits(rendered, limit):
        longest = max((el for el in inputs if el.get("value")), key=lambda el: len(el["value"]), default=None)
        chooser = max((el for el in inputs if el["type"] == "Input.ChoiceSet"), key=_size, default=None)
        if longest is not None and (chooser is None or _size(longest["value"]) > 2_000):
            longest["value"] = longest["value"][: len(longest["value"]) * 2 // 3]
        elif chooser is not None:
            inputs[inputs.index(chooser)] = _typed(chooser)
        else:
            break
        rendered = render(note)
    return rendered


def _typed(chooser: dict[str, Any]) -> dict[str, Any]:
    """A list of choices too long for the card, as a text input."""
    typed = {k: v for k, v in chooser.items() if k in {"id", "label", "isRequired", "errorMessage"}}
    return {**typed, "type": "Input.Text", "isMultiline": False, "maxLength": MAX_TEXT_INPUT,
            "placeholder": "Type your choice" + ("s, separated by commas" if chooser["isMultiSelect"] else "")}


# --- submissions -----------------------------------------------------------------------------

def submitted(data: Mapping[str, Any]) -> tuple[str, str, dict[str, str], dict[str, str]] | None:
    """``(action_id, value, values, metadata)`` from the data of a card action, or ``None`` if it is not ours."""
    action_id = data.get("action_id")
    if not isinstance(action_id, str) or not action_id:
        return None
    raw_metadata = data.get("metadata")
    metadata: Mapping[str, Any] = raw_metadata if isinstance(raw_metadata, dict) else {}
    values = {k: _as_text(v) for k, v in data.items() if k not in RESERVED_DATA_KEYS}
    return action_id, _as_text(data.get("value", "")), values, {str(k): _as_text(v) for k, v in metadata.items()}


def refusal(data: Mapping[str, Any]) -> str | None:
    """Why a submitted form's values cannot be taken, in one line for the person; ``None`` when they can.

    The checks are the ones the card declared (required, choices, ``maxLength``, ``HH:MM``); no value of any
    submission may be longer than a text input allows, whatever its data says.
    """
    raw = data.get("checks")
    checks: Mapping[str, Any] = raw if isinstance(raw, dict) else {}
    values = {k: _as_text(v) for k, v in data.items() if k not in RESERVED_DATA_KEYS}
    for key, value in values.items():
        if len(value) > MAX_TEXT_INPUT:
            label = _label(checks.get(key), key)
            return (f"“{label}” is {len(value):,} characters long; the most it can hold is {MAX_TEXT_INPUT:,}. "
                    "Nothing was saved: shorten it and submit again.")
    for key, check in checks.items():
        if not isinstance(check, dict):
            continue
        problem = _problem(_label(check, key), check, values.get(key, ""))
        if problem:
            return problem + " Nothing was saved: fix it and submit again."
    return None


def _label(check: Any, key: str) -> str:
    label = check.get("label") if isinstance(check, dict) else None
    return _cut(str(label), 80) if label else key


def _problem(label: str, check: Mapping[str, Any], value: str) -> str | None:
    if not value.strip():
        return f"“{label}” is required." if check.get("required") else None
    max_length = check.get("maxLength")
    if isinstance(max_length, int) and len(value) > max_length:
        return f"“{label}” is {len(value):,} characters long; the most it can hold is {max_length:,}."
    if check.get("time") and not TIME.match(value):
        return f"“{label}” must be a time as HH:MM (for example 09:30), not “{_cut(value, 40)}”."
    choices = check.get("choices")
    if isinstance(choices, list):
        picked = value.split(",") if check.get("multi") else [value]
        wrong = [v for v in picked if v not in choices]
        if wrong:
            return (f"“{_cut(wrong[0], 40)}” is not one of the choices for “{label}” "
                    f"({', '.join(_cut(str(c), 40) for c in choices[:10])}{'…' if len(choices) > 10 else ''}).")
    return None


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else str(value)


# --- dialogs (task modules) --------------------------------------------------------------------

MAX_DIALOG_TITLE = 60
MAX_DIALOG_MESSAGE = 500


def form_opener(form: Form, key: str) -> Rendered:
    """A form asked for by a typed command, as a card with one button that opens it in a dialog.

    Teams opens a dialog only from something the person pressed, so the form waits behind ``Open the form``;
    a client without dialogs delivers the press as a plain Submit, and the form comes into the chat instead.
    """
    title = _cut(form.title, MAX_LABEL)
    body = [_text_block(escape(title), size="Medium", weight="Bolder"),
            _text_block("Press the button to fill in the form.", isSubtle=True)]
    data = {"msteams": dict(TASK_FETCH), DIALOG_KEY: key}
    content = {"type": "AdaptiveCard", "$schema": SCHEMA, "version": CARD_VERSION, "body": body,
               "actions": [_submit("Open the form", data, "positive")], "msteams": {"width": "Full"}}
    return Rendered(content, escape(f"{title}: open the form"), summary=title)


def dialog_form(rendered: Rendered, title: str) -> dict[str, Any]:
    """The answer to ``task/fetch`` (or a ``task/submit`` to show again): a dialog holding the form's card."""
    card = {"contentType": CARD_TYPE, "content": rendered.card}
    return {"task": {"type": "continue", "value": {"title": _cut(title, MAX_DIALOG_TITLE), "card": card}}}


def dialog_message(text: str) -> dict[str, Any]:
    """The answer that closes a dialog with one line for the person (Teams shows it, then the chat)."""
    return {"task": {"type": "message", "value": _cut(" ".join(text.split()), MAX_DIALOG_MESSAGE) or "Done."}}
