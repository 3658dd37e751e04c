"""Out of office from where people already say it: their chat status.

A person who sets a vacation or sick status (Slack's ``:palm_tree:`` "Vacationing", ``:face_with_thermometer:``
"Out sick", or words such as "OOO") is out of office while it lasts: no stand-up reminder, listed as away
with the reason, no DM Meridian starts. The chat adapter translates the platform's profile into a
``ChatStatus`` (on Slack from ``user_change`` events and ``users.info``) and calls ``follow_status``; the
absence is stored on the member (``Member.status_away``), so ``Member.is_away`` stays the one answer to
"is this person away that day".

Which statuses count is the team's (``ooo_status:`` in the team file, defaults below); whether they count
for a person is theirs (``/meridian status-ooo off``, or ``status_ooo: false`` on the member). A status
without an expiry counts while it is set, for at most a year (the ``ooo`` limit), and the person is told
once by DM, so a forgotten palm tree does not silence their reminders unnoticed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot.kernel.commands import CommandError, Invocation, Reply, Subcommand
from bot.kernel.domain import Member, StatusAway, short_day
from bot.kernel.messages import Code, Message
from bot.kernel.ports import ChatStatus
from bot.kernel.teamfile import TeamFile, TeamSection
from bot.kernel.timekeeping import local_date

if TYPE_CHECKING:
    from bot.kernel.app import Meridian

DEFAULT_EMOJI: tuple[str, ...] = (":palm_tree:", ":beach_with_umbrella:", ":face_with_thermometer:")
"""Slack's vacation and sick presets (🌴 Vacationing, 🤒 Out sick) and the beach. Not ✈️: people work while
travelling; a team that means "away" by it adds it in ``ooo_status``."""
DEFAULT_TEXT: tuple[str, ...] = ("OOO", "out of office", "vacation", "vacationing", "on leave", "PTO", "out sick",
                                 "off sick", "sick leave")
"""Words that mean away, matched whole and case-insensitively (``ooo until monday`` counts; ``Gooonies`` not)."""
SETTING_KEY = "ooo_status"
TEXT_LIMIT = 100
"""Slack keeps at most 100 characters of a status text; longer text from elsewhere is cut to that."""

_EMOJI_NAME = re.compile(r"^:?([a-z0-9_+'\-]+)(?:::skin-tone-\d)?:?$")


def emoji_name(text: str) -> str | None:
    """``:palm_tree:``, ``palm_tree`` or ``:+1::skin-tone-3:`` as the plain name, or ``None`` for anything else."""
    found = _EMOJI_NAME.match(text.strip().lower())
    return found.group(1) if found else None


@dataclass(frozen=True)
class StatusRules:
    """Which statuses mean out of office in one workspace."""

    emoji: tuple[str, ...] = DEFAULT_EMOJI
    text: tuple[str, ...] = DEFAULT_TEXT

    def matches(self, status: ChatStatus) -> bool:
        name = emoji_name(status.emoji)
        if name is not None and name in {emoji_name(e) for e in self.emoji}:
            return True
        words = status.text.casefold()
        return any(_phrase(t).search(words) for t in self.text if t.strip())

    def to_data(self) -> dict[str, list[str]]:
        return {"emoji": list(self.emoji), "text": list(self.text)}


def _phrase(text: str) -> re.Pattern[str]:
    """``out of office`` as whole words, any spacing between them."""
    words = [re.escape(w) for w in text.casefold().split()]
    return re.compile(r"(?<!\w)" + r"\s+".join(words) + r"(?!\w)")


def rules_for(app: Meridian, workspace: str) -> StatusRules:
    data = app.store.kv_get(workspace, SETTING_KEY)
    if not isinstance(data, dict):
        return StatusRules()
    return StatusRules(tuple(data.get("emoji", DEFAULT_EMOJI)), tuple(data.get("text", DEFAULT_TEXT)))


# --- following a status ------------------------------------------------------------------------------
KEPT = timedelta(days=400)
"""Ended absences are kept this long after their last day (stats and reports look back at most a year)."""


def current(member: Member, now: datetime) -> StatusAway | None:
    """The absence the person's status says now (the newest, unless it has ended)."""
    held = member.status_away[-1] if member.status_away else None
    return held if held is not None and (held.until is None or held.until > now) else None


def absence(app: Meridian, member: Member, status: ChatStatus) -> StatusAway | None:
    """What ``status`` means for ``member`` now: an absence, or ``None`` (no status, another kind, expired,
    or the person does not want their status to count). A status already followed keeps the day it began."""
    now = app.now()
    if not member.status_ooo or not status.is_set or (status.expires is not None and status.expires <= now):
        return None
    if not rules_for(app, member.workspace).matches(status):
        return None
    text = " ".join(status.text.split())[:TEXT_LIMIT]
    emoji = status.shown or status.emoji
    held = current(member, now)
    since = held.since if held is not None and (held.emoji, held.text) == (emoji, text) else local_date(now, member.tz)
    return StatusAway(emoji, text, since, status.expires, status.platform)


def _history(member: Member, now: datetime, new: StatusAway | None) -> tuple[StatusAway, ...]:
    """The absences to keep when the current one gives way to ``new``: the current one ends now (the days it
    covered stay excused), one that covered no day yet is dropped, and none older than ``KEPT`` is kept."""
    held = current(member, now)
    today = local_date(now, member.tz)
    kept = [a for a in member.status_away if a is not held and a.until is not None
            and a.until.date() >= (now - KEPT).date()]
    if held is not None and held.since < today and (new is None or new.since != held.since):
        kept.append(replace(held, until=now))  # a new end for the same absence (extended) replaces it instead
    return (*kept, *((new,) if new is not None else ()))


async def follow_status(app: Meridian, member: Member, status: ChatStatus | None) -> Member:
    """The one way a chat status becomes, changes or stops being an absence (``None``: the platform said
    nothing about statuses, so nothing changes). Reminders are planned again for the days it frees."""
    if status is None:
        return member
    now = app.now()
    new = absence(app, member, status)
    if new == current(member, now):
        return member
    updated = _record(app, member, _history(member, now, new))
    if new is not None and new.until is None:
        await _tell_no_expiry(app, updated, new)
    return updated


def end_status(app: Meridian, member: Member) -> Member:
    """The person's status stops counting from now (``status-ooo off``); days already away stay excused."""
    if current(member, app.now()) is None:
        return member
    return _record(app, member, _history(member, app.now(), None))


def _record(app: Meridian, member: Member, absences: tuple[StatusAway, ...]) -> Member:
    app.store.set_member_status(member.workspace, member.id, absences)
    app.engine.replan()
    return replace(member, status_away=absences)


async def _tell_no_expiry(app: Meridian, member: Member, status: StatusAway) -> None:
    """Once per status: it has no end, so say what Meridian does with it and how to change that. Sent at
    once (not held for working hours): the person has just set it, and is about to be away."""
    where = f"{status.platform.capitalize()} status" if status.platform else "status"
    last = short_day(status.last_day(), status.since)
    message = Message.text(
        f"Your {where} ", status.label(), " has no end date, so Meridian counts you as out of office until you "
        f"clear it (at the latest until {last}): no stand-up reminders, and you are listed as away. To come back "
        "on a given day, set the status to clear then; to keep your reminders whatever your status says, type ",
        Code("/meridian status-ooo off"), ".")
    await app.outbox.dm(f"status.no-expiry:{member.workspace}:{member.id}:{status.since.isoformat()}:"
                        f"{status.label()[:80]}", member.workspace, member.id, message)


# --- /meridian status-ooo ---------------------------------------------------------------------------
async def cmd_status_ooo(app: Meridian, inv: Invocation, args: list[str]) -> Reply:
    member = inv.member
    choice = " ".join(args).strip().lower()
    if not choice:
        return Reply(_describe(app, member))
    if choice not in {"on", "off"}:
        raise CommandError(f"`{' '.join(args)[:40]}` is neither `on` nor `off`.")
    wanted = choice == "on"
    updated = replace(member, status_ooo=wanted)
    app.store.upsert_member(updated)
    if not wanted:
        end_status(app, updated)
        return Reply(Message.text("Your chat status no longer counts as out of office: you get your reminders "
                                  "whatever it says. Type ", Code("/meridian status-ooo on"), " to undo."))
    profile = await app.chat_for(inv.workspace).profile(updated)
    if profile is not None:
        updated = await follow_status(app, updated, profile.status)
    today = local_date(app.now(), updated.tz)
    now_away = current(updated, app.now()) is not None and updated.is_away(today)
    tail = f" It does now: {updated.away_reason(today)}." if now_away else ""
    return Reply(Message.text("A vacation or sick status counts as out of office again." + tail))


def _describe(app: Meridian, member: Member) -> Message:
    rules = rules_for(app, member.workspace)
    emoji = ", ".join(rules.emoji) or "none"
    words = ", ".join(f'"{t}"' for t in rules.text) or "none"
    held = current(member, app.now())
    now = f" Your status counts now: {held.label()}." if held is not None else ""
    head = "Out of office from your chat status (Slack): "
    if not member.status_ooo:
        return Message.text(head, "off (", Code("/meridian status-ooo on"), " turns it on). ",
                            f"Emoji that count: {emoji}; words: {words}.")
    return Message.text(head, f"on. Emoji that count: {emoji}; words: {words}.{now} ",
                        Code("/meridian status-ooo off"), " keeps your reminders whatever your status says.")


# --- the team file's ooo_status: ------------------------------------------------------------------------
def validate_section(tf: TeamFile) -> list[str]:
    raw = tf.raw.get(SETTING_KEY)
    errors: list[str] = []
    if not isinstance(raw, dict):
        return [f"{tf.where(SETTING_KEY)}: {SETTING_KEY} must be a mapping like "
                "{emoji: [\":palm_tree:\"], text: [OOO, vacation]}"]
    for key in raw:
        if key not in {"emoji", "text"}:
            errors.append(f"{tf.where(SETTING_KEY, key)}: unknown key `{key}` for {SETTING_KEY} (known: emoji, text)")
    for key in ("emoji", "text"):
        if key not in raw:
            continue
        items = raw[key]
        if not isinstance(items, list):
            errors.append(f"{tf.where(SETTING_KEY, key)}: {key} must be a list, like "
                          + ('[":palm_tree:", ":airplane:"]' if key == "emoji" else "[OOO, vacation]"))
            continue
        for i, item in enumerate(items):
            where = tf.where(SETTING_KEY, key, i)
            if not isinstance(item, str) or not item.strip():
                errors.append(f"{where}: each {key} entry must be text")
            elif key == "emoji" and emoji_name(item) is None:
                errors.append(f"{where}: `{item[:40]}` is not an emoji name; write Slack's name, like \":palm_tree:\"")
            elif key == "text" and len(item) > TEXT_LIMIT:
                errors.append(f"{where}: a status text is at most {TEXT_LIMIT} characters")
    return errors


def section_rules(raw: dict[str, Any]) -> StatusRules:
    """The rules a valid ``ooo_status:`` gives; a list it leaves out keeps the default."""
    emoji: Sequence[str] = raw.get("emoji", DEFAULT_EMOJI)
    text: Sequence[str] = raw.get("text", DEFAULT_TEXT)
    return StatusRules(tuple(f":{emoji_name(e)}:" for e in emoji), tuple(" ".join(t.split()) for t in text))


class StatusOutOfOffice:
    """Out of office from the chat status (see the module's docstring)."""

    name = "status-ooo"

    def install(self, app: Meridian) -> None:
        app.add_section(TeamSection(SETTING_KEY, validate_section, lambda tf: self.apply(app, tf),
                                    apply_when_absent=True))
        app.extend_family("meridian", Subcommand(
            "status-ooo", "status-ooo [on|off]", "whether a vacation or sick chat status counts as out of office",
            cmd_status_ooo))

    @staticmethod
    def apply(app: Meridian, tf: TeamFile) -> None:
        """The file's lists, or the defaults again when it has no ``ooo_status:``; a member the file sets to
        ``status_ooo: false`` stops being away by their status from now."""
        for listed in tf.members:
            held = app.store.get_member(tf.workspace, listed.id)
            if not listed.status_ooo and held is not None:
                end_status(app, held)
        raw = tf.raw.get(SETTING_KEY)
        if raw is None:
            app.store.kv_delete(tf.workspace, SETTING_KEY)
        else:
            app.store.kv_set(tf.workspace, SETTING_KEY, section_rules(raw).to_data())
