"""Teams' message action "Ask who owns this": a message's text in, the RACI answer out as a card.

The app package declares it as a messaging-extension action command (``context: ["message"]``,
``fetchTask: false``, one optional parameter), so Teams shows a small dialog and, on Submit, sends
the bot an ``invoke`` named ``composeExtension/submitAction`` whose ``value`` holds the command id,
the dialog's ``data`` and the ``messagePayload`` the action was picked on. That message's body is
HTML (``<div>``, ``<p>``, ``<at id="0">Ravi</at>`` with the person in ``mentions``): it is turned
back into the words a person typed here, people as ``@member-id``, before the core sees it.

The answer goes back as the invoke's response: a card result (``composeExtension.type = "result"``)
that Teams puts in the person's compose box, theirs to send into the thread or to discard, so
nobody is pinged by the card itself (people are names in it, not mentions).
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping
from typing import Any

from adapters.teams.render import CARD_TYPE, Rendered

SUBMIT_ACTION = "composeExtension/submitAction"
ASK_OWNER = "askOwner"
"""The command id of "Ask who owns this" in the package and in the invoke."""
QUESTION = "question"
"""The dialog's one (optional) parameter: a question typed instead of the message's own words."""

_MENTION = re.compile(r"<at\b[^>]*\bid\s*=\s*[\"']?(\d+)[\"']?[^>]*>(.*?)</at>", re.IGNORECASE | re.DOTALL)
_BREAK = re.compile(r"<br\s*/?>|</(?:p|div|li|h[1-6]|tr|blockquote)>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]*>")

def mapping(value: Any) -> dict[str, Any]:
    """A JSON object, or an empty one for anything else (a payload field Teams left out or sent as null)."""
    return value if isinstance(value, dict) else {}


MemberOf = Callable[[str], str | None]
"""A mentioned person's Entra object id (as a message payload names them) → their member id, if known."""


def _mentioned(payload: Mapping[str, Any]) -> dict[str, tuple[str, str]]:
    """Mention number → (Entra object id or app id, display name), from the payload's ``mentions``."""
    found: dict[str, tuple[str, str]] = {}
    mentions = payload.get("mentions")
    for mention in mentions if isinstance(mentions, list) else []:
        if not isinstance(mention, dict):
            continue
        who = mapping(mention.get("mentioned"))
        identity = mapping(who.get("user")) or mapping(who.get("application"))
        found[str(mention.get("id"))] = (str(identity.get("id") or ""), str(mention.get("mentionText") or ""))
    return found


def message_text(payload: Mapping[str, Any], member_of: MemberOf) -> str:
    """The words of the message an action was picked on, as typed: tags gone, entities read, people as
    ``@member-id`` (someone Meridian has never met by their name)."""
    body = mapping(payload.get("body"))
    content = str(body.get("content") or "")
    if str(body.get("contentType") or "html").lower() != "html":
        return content.strip()
    mentioned = _mentioned(payload)

    def person(match: re.Match[str]) -> str:
        entra_id, name = mentioned.get(match.group(1), ("", ""))
        member = member_of(entra_id) if entra_id else None
        shown = name or html.unescape(_TAG.sub("", match.group(2)))
        return f"@{member}" if member else shown

    text = _MENTION.sub(person, content)
    text = html.unescape(_TAG.sub("", _BREAK.sub("\n", text))).replace("\xa0", " ")
    lines = [" ".join(line.split()) for line in text.splitlines()]
    return "\n".join(line for line in lines if line)


def card_result(rendered: Rendered, title: str) -> dict[str, Any]:
    """The invoke's answer: the card, for the person's compose box, with the short preview Teams lists it by."""
    preview = {"contentType": "application/vnd.microsoft.card.thumbnail",
               "content": {"title": title[:80], "text": rendered.summary[:200]}}
    return {"composeExtension": {"type": "result", "attachmentLayout": "list",
                                 "attachments": [{"contentType": CARD_TYPE, "content": rendered.card,
                                                  "preview": preview}]}}
