"""Creating and changing a stand-up, from ``/standup setup NAME key=value …`` or from the setup form.

Both ways end in ``apply_setup``: the same checks, the same errors, and a replan so the
new reminder times take effect at once.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from bot.kernel.commands import CommandError, Invocation, Reply
from bot.kernel.domain import WEEKDAYS, Standup
from bot.kernel.members import People, PersonNotFound
from bot.kernel.messages import Form, FormInput, Message
from bot.kernel.teamfile import ID_RE, standup_setting
from bot.kernel.timekeeping import TimeInputError
from bot.standups.model import find_standup, standup_key

if TYPE_CHECKING:
    from bot.kernel.app import Action, Meridian

SETUP_KEYS = ("channel", "at", "days", "questions", "cutoff", "nudge", "tz", "members", "mentions", "escalate")
SETTING_OF = {"at": "remind_at", "days": "days", "questions": "questions", "cutoff": "cutoff", "nudge": "nudge_after",
              "tz": "tz", "escalate": "escalate_after"}
"""Options the team file also has, by the team-file key: both are checked by ``standup_setting``."""
FIELDS = {**SETTING_OF, "members": "members", "mentions": "mention_missing", "channel": "channel"}


def require_admin(inv: Invocation) -> None:
    if not inv.member.is_admin:
        raise CommandError("Only workspace admins can change a stand-up's setup.")


def parse_on_off(text: str, what: str) -> bool:
    """``on``/``off`` (or yes/no, true/false); anything else is a mistake, not a silent ``off``."""
    word = text.strip().lower()
    if word in {"on", "yes", "true"}:
        return True
    if word in {"off", "no", "false"}:
        return False
    raise CommandError(f"`{what}` is on or off, not `{text.strip()}`.")


def parse_participants(app: Meridian, workspace: str, text: str) -> tuple[str, ...] | None:
    """``all`` (``None``), or the member ids of the people listed — by id, ``@id``, name or email."""
    if text == "all":
        return None
    people = People(app.store.list_members(workspace))
    ids: list[str] = []
    for word in re.split(r"[,\s]+", text):
        if not word:
            continue
        found = people.find(word)
        if isinstance(found, PersonNotFound):
            raise CommandError(str(found))
        if found.id not in ids:
            ids.append(found.id)
    return tuple(ids)


def _setting(app: Meridian, workspace: str, key: str, value: str) -> Any:
    """One ``key=value`` of ``/standup setup``, checked exactly as the team file checks the same setting."""
    if key == "nudge" and value in {"off", "0"}:
        return timedelta(0)
    if key in SETTING_OF:
        raw: Any = value
        if key == "questions":
            raw = [q.strip() for q in re.split(r"\s*\|\s*|\n", value) if q.strip()]
        if key == "escalate":
            raw = 0 if value.strip().lower() in {"never", "off"} else int(value) if value.strip().isdigit() else value
        try:
            return standup_setting(SETTING_OF[key], raw)
        except TimeInputError as err:
            raise CommandError(f"`{key}={value}`: {str(err).rstrip('.')}.") from None
    if key == "members":
        return parse_participants(app, workspace, value)
    if key == "mentions":
        return parse_on_off(value, "mentions")
    return value


def apply_setup(app: Meridian, workspace: str, name: str, options: dict[str, str], channel: str | None) -> Standup:
    existing = app.store.get_standup(workspace, name)
    if existing is None and not ID_RE.match(name):
        raise CommandError(f"`{name}` cannot name a stand-up: a stand-up needs a short name (letters, digits, - _ .).")
    s = existing or Standup(workspace=workspace, name=name, channel=channel or "#general")
    for key, value in options.items():
        s = replace(s, **{FIELDS.get(key, key): _setting(app, workspace, key, value)})
    app.store.upsert_standup(s)
    app.store.cancel_pending(workspace, standup_key(s, ""))
    app.engine.replan()
    return s


def setup_form(app: Meridian, inv: Invocation) -> Form:
    s = app.store.get_standup(inv.workspace, find_standup(app, inv).name) if app.store.list_standups(inv.workspace) \
        else None
    return Form("Stand-up setup", "standup.setup.submit", (
        FormInput("name", "Name", initial=s.name if s else "daily"),
        FormInput("channel", "Channel", initial=s.channel if s else (inv.channel or ""), kind="channel"),
        FormInput("at", "Reminder time (each person's own clock)", initial=f"{s.remind_at:%H:%M}" if s else "09:30"),
        FormInput("days", "Days", initial=",".join(d for d in WEEKDAYS if s and d in s.days) or "mon,tue,wed,thu,fri"),
        FormInput("questions", "Questions (one per line)", multiline=True,
                  initial="\n".join(s.questions) if s else "\n".join(Standup("", "", "").questions)),
        FormInput("members", "Participants (member ids, or all)",
                  initial="all" if not s or s.members is None else ",".join(s.members)),
    ))


async def setup_from_form(app: Meridian, act: Action) -> Reply:
    if not act.member.is_admin:
        return Reply(Message.text("Only workspace admins can change a stand-up's setup."))
    name = act.values.get("name", "").strip()
    if not name:
        return Reply(Message.text("The stand-up needs a name."))
    options = {k: v for k, v in act.values.items() if k in SETUP_KEYS and v.strip()}
    try:
        s = apply_setup(app, act.workspace, name, options, act.channel)
    except CommandError as err:
        return Reply(Message.text(str(err)))
    return Reply(Message.text(f"Saved {s.name} in {s.channel}."))
