"""What a request to ``/slack/events`` must be before bolt sees it: signed, then well formed.

The signature is checked first, on the raw bytes, exactly as Slack computes it
(``v0=`` HMAC-SHA256 of ``v0:{timestamp}:{body}`` with the signing secret, the timestamp
within five minutes — the rule of ``slack_sdk.signature.SignatureVerifier``, which bolt's
own verification uses). Until then nothing of the body is read: a request that is not
Slack's gets 401 whatever it holds. A signed request whose body is not one of Slack's
shapes (bad JSON, a ``payload=`` that is not a JSON object, no workspace) gets 400 with
one line, never a traceback, and nothing is stored for it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

MAX_SKEW_SECONDS = 60 * 5
"""Slack's replay window: a request signed longer ago than this is refused."""

INTERACTIVE_TYPES = frozenset({"block_actions", "view_submission", "view_closed", "block_suggestion", "shortcut",
                               "message_action", "interactive_message", "dialog_submission", "dialog_suggestion",
                               "dialog_cancellation", "workflow_step_edit"})
"""Payload types that arrive as ``payload=`` on the interactivity URL; each names the person who acted."""

WITHOUT_WORKSPACE = frozenset({"url_verification"})
"""The one signed request that belongs to no workspace: the Events API's URL check."""

OBJECT_FIELDS = ("event", "view", "user", "container", "message", "assistant_thread", "state")
"""Top-level fields that, when present, Slack always sends as objects (bolt reads into them)."""
ID_FIELDS = ("team", "enterprise", "channel")
"""Fields Slack sends as an object with an ``id``, or (in some payloads) as the id itself."""
EVENT_OBJECT_FIELDS = ("item", "message", "previous_message", "function", "assistant_thread")
TEXT_FIELDS = ("type", "command", "callback_id", "action_id", "trigger_id", "event_id", "team_id", "enterprise_id",
               "user_id", "channel_id", "text", "response_url")

_TIMESTAMP = re.compile(r"[0-9]{1,12}")


class SlackRequestError(Exception):
    """A refused request: its HTTP status and one line saying why."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def expected_signature(secret: str, timestamp: str, raw: bytes) -> str:
    base = b"v0:" + timestamp.encode("ascii") + b":" + raw
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def verify_signature(secret: str, raw: bytes, headers: Mapping[str, str], now: float) -> None:
    """Raise a 401 unless ``raw`` carries a current signature made with ``secret``."""
    timestamp = headers.get("X-Slack-Request-Timestamp", "")
    given = headers.get("X-Slack-Signature", "")
    if not secret or not _TIMESTAMP.fullmatch(timestamp) or not given.isascii():
        raise SlackRequestError(401, "invalid request")
    if abs(now - int(timestamp)) > MAX_SKEW_SECONDS:
        raise SlackRequestError(401, "invalid request")
    if not hmac.compare_digest(expected_signature(secret, timestamp, raw).encode(), given.encode()):
        raise SlackRequestError(401, "invalid request")


def parse_body(raw: bytes, content_type: str | None) -> dict[str, Any]:
    """The body as bolt will read it (``slack_bolt.request.internals.parse_body``), or a 400."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise SlackRequestError(400, "the body is not UTF-8") from None
    if not text:
        raise SlackRequestError(400, "the body is empty")
    try:
        if content_type == "application/json" or text.startswith("{"):
            body: Any = json.loads(text)
        elif "payload" in text:
            payload = dict(parse_qsl(text, keep_blank_values=True)).get("payload")
            body = json.loads(payload) if payload is not None else {}
        else:
            body = dict(parse_qsl(text, keep_blank_values=True))
    except ValueError:
        raise SlackRequestError(400, "the body is not valid JSON or form data") from None
    if not isinstance(body, dict):
        raise SlackRequestError(400, "the body must be a JSON object or form fields")
    return body


def _text(value: Any) -> bool:
    return isinstance(value, str) and value != ""


def check_types(body: Mapping[str, Any]) -> None:
    """Each field Slack defines has the type Slack gives it, wherever the request is going."""
    for name in TEXT_FIELDS:
        if name in body and body[name] is not None and not isinstance(body[name], str):
            raise SlackRequestError(400, f"{name} must be text")
    for name in OBJECT_FIELDS:
        if name in body and not isinstance(body[name], dict):
            raise SlackRequestError(400, f"{name} must be an object")
    for name in ID_FIELDS:
        if body.get(name) is not None and not isinstance(body[name], dict | str):
            raise SlackRequestError(400, f"{name} must be an object or an id")
    for name in ("authorizations", "actions"):
        if name in body and not _is_list_of_dicts(body[name]):
            raise SlackRequestError(400, f"{name} must be a list of objects")
    for action in body.get("actions") or []:
        if not all(isinstance(action.get(f, ""), str) for f in ("action_id", "block_id", "value")):
            raise SlackRequestError(400, "an action's action_id, block_id and value are text")
    event = body.get("event") or {}
    if not isinstance(event.get("type", ""), str):
        raise SlackRequestError(400, "an event's type must be text")
    for name in EVENT_OBJECT_FIELDS:
        if name in event and not isinstance(event[name], dict):
            raise SlackRequestError(400, f"event.{name} must be an object")
    view = body.get("view")
    if view is not None and not _is_view(view):
        raise SlackRequestError(400, "the view is not a Slack view")


def check_shape(body: Mapping[str, Any], workspace: str) -> None:
    """A 400 for a signed body that is none of Slack's request shapes, or that names no workspace."""
    check_types(body)
    kind = body.get("type")
    if body.get("ssl_check") == "1" or kind in WITHOUT_WORKSPACE:
        return
    if not workspace:
        raise SlackRequestError(400, "the request names no workspace (team_id)")
    if "command" in body:
        if not (_text(body.get("command")) and str(body["command"]).startswith("/") and _text(body.get("user_id"))):
            raise SlackRequestError(400, "a slash command needs a command and a user_id")
        return
    if kind == "event_callback":
        event = body.get("event")
        if not isinstance(event, dict) or not _text(event.get("type")):
            raise SlackRequestError(400, "an event callback needs an event with a type")
        return
    if kind in INTERACTIVE_TYPES:
        user = body.get("user")
        if not isinstance(user, dict) or not _text(user.get("id")):
            raise SlackRequestError(400, f"a {kind} payload needs the user who acted")
        if kind.startswith("view_") and "view" not in body:
            raise SlackRequestError(400, f"a {kind} payload needs its view")


def _is_list_of_dicts(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, dict) for v in value)


def _is_view(view: Any) -> bool:
    if not isinstance(view, dict) or not isinstance(view.get("callback_id", ""), str):
        return False
    state = view.get("state", {})
    if not isinstance(state, dict):
        return False
    values = state.get("values", {})
    return isinstance(values, dict) and all(
        isinstance(block, dict) and all(isinstance(entry, dict) for entry in block.values())
        for block in values.values())
