"""Neutral messages and forms to Block Kit, and Block Kit form state back to plain values.

This is the only place that knows Block Kit and Slack's ``mrkdwn``. Every bare ``str``
of a neutral message is user text: it is escaped here (``&``, ``<``, ``>``) so it can
never become a link, a user mention, ``<!channel>``, ``<!here>`` or a user-group ping.
Mentions become ``<@U…>`` only through the member's Slack account.

Slack's limits are met by splitting, not failing: a section longer than 3,000
characters becomes several sections, more than 10 fields become several sections, and
more than 50 blocks become several messages; the caller posts every message after the
first as a reply in the first one's thread. Attached files (a CSV export, a calendar
file) are uploaded as files by the chat port; ``attachment_blocks`` is their inline form
when an upload is refused.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.kernel.messages import (
    Actions,
    Attachment,
    Block,
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
)

MAX_BLOCKS = 50
MAX_HOME_BLOCKS = 100
MAX_SECTION_TEXT = 3000
MAX_FIELDS = 10
MAX_FIELD_TEXT = 2000
MAX_HEADER = 150
MAX_CONTEXT_ELEMENTS = 10
MAX_BUTTONS = 25
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2000
MAX_FALLBACK = 3000
MAX_MODAL_TITLE = 24
MAX_OPTION_TEXT = 75
MAX_OPTION_VALUE = 150
MAX_OPTIONS = 100

SLACK_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
SAFE_URL = re.compile(r"^(https?://|mailto:)", re.IGNORECASE)

MentionResolver = Callable[[str], "str | None"]
"""Member id → that member's Slack user id, or ``None`` when they have none."""


def no_mentions(_member_id: str) -> str | None:
    return None


def escape(text: str) -> str:
    """User text made literal for Slack: the three control characters become entities."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _url(url: str) -> str:
    return escape(url.replace("|", "%7C").replace(" ", "%20"))


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def inline(part: Inline, resolve: MentionResolver) -> str:
    """One span of rich text as ``mrkdwn``."""
    if isinstance(part, str):
        return escape(part)
    if isinstance(part, Mention):
        account = resolve(part.member_id)
        if account and SLACK_USER_ID.match(account):
            return f"<@{account}>"
        return f"*{escape(part.name)}*"
    if isinstance(part, Strong):
        return f"*{escape(part.text)}*" if part.text.strip() else escape(part.text)
    if isinstance(part, Code):
        return f"`{escape(part.text.replace('`', 'ˋ'))}`" if part.text else ""
    if isinstance(part, Link):
        if not SAFE_URL.match(part.url):
            return escape(f"{part.label} ({part.url})")
        return f"<{_url(part.url)}|{escape(part.label)}>"
    raise TypeError(f"not an inline span: {part!r}")


def mrkdwn(parts: Rich, resolve: MentionResolver = no_mentions) -> str:
    return "".join(inline(p, resolve) for p in parts)


_WIDTH = {"&": 5, "<": 4, ">": 4}


def _fits(text: str, limit: int) -> int:
    """How many leading characters of ``text`` stay within ``limit`` once escaped."""
    size = 0
    for n, ch in enumerate(text):
        size += _WIDTH.get(ch, 1)
        if size > limit:
            return max(1, n)
    return len(text)


def _pieces(parts: Rich, resolve: MentionResolver, limit: int) -> list[str]:
    """Rendered spans, with long plain text cut where it can be (a line end, then a space)."""
    out: list[str] = []
    for part in parts:
        if not isinstance(part, str):
            out.append(_cut(inline(part, resolve), limit))
            continue
        rest = part
        while rest:
            if len(escape(rest)) <= limit:
                out.append(escape(rest))
                break
            take = _fits(rest, limit)
            window = rest[:take]
            cut = max(window.rfind("\n"), window.rfind(" "))
            take = cut + 1 if cut > take // 2 else take
            out.append(escape(rest[:take]))
            rest = rest[take:]
    return out


def split_text(parts: Rich, resolve: MentionResolver, limit: int = MAX_SECTION_TEXT) -> list[str]:
    """Rich text as ``mrkdwn`` chunks of at most ``limit`` characters, never cutting markup apart."""
    chunks: list[str] = []
    current = ""
    for piece in _pieces(parts, resolve, limit):
        if current and len(current) + len(piece) > limit:
            chunks.append(current)
            current = ""
        current += piece
    if current or not chunks:
        chunks.append(current)
    return chunks


def _text_obj(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text or " ", "verbatim": True}


def _plain(text: str, limit: int) -> dict[str, Any]:
    return {"type": "plain_text", "text": _cut(text, limit) or " ", "emoji": True}


def _section(block: Section, resolve: MentionResolver) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    has_text = any(p for p in block.text)
    if has_text or not block.fields:
        out.extend({"type": "section", "text": _text_obj(chunk)} for chunk in split_text(block.text, resolve))
    fields = [_text_obj(_cut(mrkdwn(f, resolve), MAX_FIELD_TEXT)) for f in block.fields]
    for start in range(0, len(fields), MAX_FIELDS):
        group = fields[start:start + MAX_FIELDS]
        if start == 0 and out and "fields" not in out[-1]:
            out[-1]["fields"] = group
        else:
            out.append({"type": "section", "fields": group})
    return out


def _context(block: Context, resolve: MentionResolver) -> list[dict[str, Any]]:
    return [{"type": "context", "elements": [_text_obj(chunk)]} for chunk in split_text(block.text, resolve)]


MAX_BUTTON_URL = 3000
"""Block Kit's limit on a button's ``url``."""


def _actions(block: Actions) -> list[dict[str, Any]]:
    buttons: list[dict[str, Any]] = []
    for b in block.buttons:
        button: dict[str, Any] = {"type": "button", "text": _plain(b.label, MAX_BUTTON_TEXT),
                                  "action_id": b.action_id[:255], "value": b.value[:MAX_BUTTON_VALUE]}
        if b.style:
            button["style"] = b.style
        if b.url:
            button["url"] = b.url[:MAX_BUTTON_URL]
        buttons.append(button)
    seen: dict[str, int] = {}
    for button in buttons:  # Slack wants action ids unique within a block
        n = seen.get(button["action_id"], 0)
        seen[button["action_id"]] = n + 1
        if n:
            button["action_id"] = f"{button['action_id']}#{n}"
    return [{"type": "actions", "elements": buttons[i:i + MAX_BUTTONS]} for i in range(0, len(buttons), MAX_BUTTONS)]


def block_kit(blocks: tuple[Block, ...], resolve: MentionResolver = no_mentions) -> list[dict[str, Any]]:
    """Neutral blocks as Block Kit blocks, each within its own limits (the count is not limited here)."""
    out: list[dict[str, Any]] = []
    for block in blocks:
        if isinstance(block, Header):
            out.append({"type": "header", "text": _plain(block.text, MAX_HEADER)})
        elif isinstance(block, Section):
            out.extend(_section(block, resolve))
        elif isinstance(block, Context):
            out.extend(_context(block, resolve))
        elif isinstance(block, Divider):
            out.append({"type": "divider"})
        elif isinstance(block, Actions):
            out.extend(_actions(block))
        elif isinstance(block, Image) and SAFE_URL.match(block.url):
            out.append({"type": "image", "image_url": block.url, "alt_text": _cut(block.alt, 2000) or " "})
    return out


@dataclass(frozen=True)
class SlackMessage:
    """The arguments of one ``chat.postMessage``: notification text and blocks."""

    text: str
    blocks: list[dict[str, Any]]


def attachment_blocks(attachment: Attachment) -> list[dict[str, Any]]:
    """A file shown inline as a code block (split to fit): the fallback when Slack refuses an upload."""
    fence = "```"
    room = MAX_SECTION_TEXT - 2 * len(fence) - 2
    body = attachment.content.replace(fence, "ˋˋˋ") or " "
    out: list[dict[str, Any]] = [{"type": "context", "elements": [_text_obj(f"📎 *{escape(attachment.filename)}*")]}]
    for chunk in _pieces((body,), no_mentions, room):
        out.append({"type": "section", "text": _text_obj(f"{fence}\n{chunk}\n{fence}")})
    return out


def render(message: Message, resolve: MentionResolver = no_mentions, inline_files: bool = False) -> list[SlackMessage]:
    """One or more Slack messages; every one after the first goes in the first one's thread.

    Attachments are left out (the chat port uploads them) unless ``inline_files`` asks for them as code blocks.
    """
    blocks = block_kit(message.blocks, resolve)
    for attachment in message.attachments if inline_files else ():
        blocks.extend(attachment_blocks(attachment))
    text = _cut(escape(message.fallback), MAX_FALLBACK) or " "
    if not blocks:
        return [SlackMessage(text, [])]
    groups = [blocks[i:i + MAX_BLOCKS] for i in range(0, len(blocks), MAX_BLOCKS)]
    out = [SlackMessage(text, groups[0])]
    total = len(groups)
    out.extend(SlackMessage(f"(continued, {n + 1} of {total})", group) for n, group in enumerate(groups[1:], 1))
    return out


def home_view(message: Message, resolve: MentionResolver = no_mentions) -> dict[str, Any]:
    """The App Home tab: one view of at most 100 blocks (the rest is left off with a note)."""
    blocks = block_kit(message.blocks, resolve)
    if len(blocks) > MAX_HOME_BLOCKS:
        blocks = [*blocks[: MAX_HOME_BLOCKS - 1],
                  {"type": "context", "elements": [_text_obj("(more not shown; use the slash commands)")]}]
    return {"type": "home", "blocks": blocks}


# --- forms -----------------------------------------------------------------------------

def _option(text: str) -> dict[str, Any]:
    return {"text": _plain(text, MAX_OPTION_TEXT), "value": text[:MAX_OPTION_VALUE]}


def _element(field: FormInput) -> dict[str, Any]:
    aid = field.input_id
    if field.kind in {"select", "multiselect"} and field.options:
        options = [_option(o) for o in field.options[:MAX_OPTIONS]]
        element: dict[str, Any] = {"type": "static_select" if field.kind == "select" else "multi_static_select",
                                   "action_id": aid, "options": options}
        chosen = {v.strip() for v in field.initial.split(",") if v.strip()}
        initial = [o for o in options if o["value"] in chosen]
        if initial and field.kind == "select":
            element["initial_option"] = initial[0]
        elif initial:
            element["initial_options"] = initial
    elif field.kind == "time":
        element = {"type": "timepicker", "action_id": aid}
        if re.match(r"^\d\d:\d\d$", field.initial):
            element["initial_time"] = field.initial
    elif field.kind == "channel":
        element = {"type": "conversations_select", "action_id": aid,
                   "filter": {"include": ["public", "private"], "exclude_bot_users": True}}
        if field.initial:
            element["initial_conversation"] = field.initial
        else:
            element["default_to_current_conversation"] = True
    elif field.kind == "users":
        element = {"type": "multi_users_select", "action_id": aid}
        users = [u.strip() for u in field.initial.split(",") if SLACK_USER_ID.match(u.strip())]
        if users:
            element["initial_users"] = users
    else:
        element = {"type": "plain_text_input", "action_id": aid, "multiline": field.multiline, "max_length": 3000}
        if field.initial:
            element["initial_value"] = field.initial[:3000]
    if field.placeholder and element["type"] in {"plain_text_input", "static_select", "multi_static_select",
                                                  "conversations_select", "multi_users_select"}:
        element["placeholder"] = _plain(field.placeholder, 150)
    return element


def modal(form: Form) -> dict[str, Any]:
    """A form as a modal view; its inputs come back keyed by ``input_id`` (see ``form_values``)."""
    blocks = [{"type": "input", "block_id": f.input_id, "label": _plain(f.label, 2000),
               "optional": f.optional, "element": _element(f)} for f in form.inputs[:100]]
    return {"type": "modal", "callback_id": form.callback_id[:255], "title": _plain(form.title, MAX_MODAL_TITLE),
            "submit": _plain(form.submit_label, MAX_MODAL_TITLE), "close": _plain("Cancel", MAX_MODAL_TITLE),
            "private_metadata": json.dumps(form.metadata)[:3000], "blocks": blocks}


def _state_value(state: dict[str, Any], member_id_of: Callable[[str], str]) -> str:
    kind = state.get("type")
    if kind == "static_select":
        return str((state.get("selected_option") or {}).get("value", ""))
    if kind == "multi_static_select":
        return ",".join(str(o.get("value", "")) for o in state.get("selected_options") or [])
    if kind == "timepicker":
        return str(state.get("selected_time") or "")
    if kind in {"conversations_select", "channels_select"}:
        return str(state.get("selected_conversation") or state.get("selected_channel") or "")
    if kind in {"multi_users_select", "users_select"}:
        users = state.get("selected_users") or ([state["selected_user"]] if state.get("selected_user") else [])
        return ",".join(member_id_of(u) for u in users)
    return str(state.get("value") or "")


def _same(user_id: str) -> str:
    return user_id


def form_values(view: dict[str, Any], member_id_of: Callable[[str], str] = _same) -> dict[str, str]:
    """A submitted view's values as ``{input_id: text}``; several choices are joined with commas,
    and people picked in a users input are given as member ids (``member_id_of``)."""
    values: dict[str, str] = {}
    for block_id, actions in (view.get("state") or {}).get("values", {}).items():
        for action_id, state in actions.items():
            values[action_id or block_id] = _state_value(state, member_id_of)
    return values


def form_metadata(view: dict[str, Any]) -> dict[str, str]:
    try:
        raw = json.loads(view.get("private_metadata") or "{}")
    except json.JSONDecodeError:
        return {}
    return {str(k): str(v) for k, v in raw.items()} if isinstance(raw, dict) else {}
