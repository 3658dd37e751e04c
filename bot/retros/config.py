"""The team file's ``retros:`` section: read, checked with file:line errors, turned into ``Retro``s.

Rotation settings are checked with the planner's own parsers (``bot.retros.rotation``) so the
file is refused for exactly the reasons the planner would fail later.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from bot.kernel.teamfile import ID_RE, TeamFile
from bot.kernel.timekeeping import TimeInputError, parse_instant, validate_zone
from bot.retros.model import CATEGORIES, DEFAULT_PROMPTS, Retro
from bot.retros.rotation import RotationError, parse_candidates, parse_duration, parse_every

RETRO_KEYS = {"name", "channel", "every", "duration", "starts", "members", "candidates", "thread_lead", "open_before",
              "prompts", "night_cap", "max_votes", "async", "tz", "facilitator"}
ASYNC_KEYS = {"opens", "closes"}
_CANDIDATE = re.compile(r"^([01]?\d|2[0-3]):[0-5]\d$")


def _instant(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, date):
        return datetime.combine(value, time(0), tzinfo=UTC)
    return parse_instant(str(value))


def _duration(value: Any, what: str) -> timedelta:
    from bot.kernel.timekeeping import parse_duration as parse_span

    return parse_span(str(value)) if value is not None else timedelta(0)


def _lead(value: Any, what: str) -> timedelta:
    """How long before the meeting its thread opens: a positive duration of at most four weeks."""
    lead = _duration(value, what)
    if not timedelta(0) < lead <= timedelta(weeks=4):
        raise ValueError(f"{what} must be between 1m and 4w, like 48h or 2d")
    return lead


def _candidate(value: Any) -> str:
    """A candidate is a UTC time of day on the occurrence's own date; anything that names a date is refused."""
    if isinstance(value, int) and not isinstance(value, bool):  # YAML 1.1 reads 14:00 as 840 (base 60)
        value = f"{value // 60:02d}:{value % 60:02d}"
    text = str(value).strip()
    if _CANDIDATE.match(text):
        return f"{int(text.split(':')[0]):02d}:{text.split(':')[1]}"
    if re.match(r"^\d{4}-\d{2}-\d{2}", text) or re.match(r"^(2[4-9]|[3-9]\d):\d\d$", text) or "+" in text:
        raise RotationError(f"candidate `{text}` is outside the occurrence's date: candidates are UTC times of "
                            "day (HH:MM, 00:00-23:59) tried on each occurrence's own date")
    raise RotationError(f"candidate `{text}` is not a UTC time of day; write it as HH:MM, like \"14:00\"")


def _candidates(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise ValueError('candidates must be a non-empty list of UTC times like ["06:00", "14:00"]')
    times = [_candidate(c) for c in value]
    parse_candidates(times)
    return tuple(sorted(set(times)))


def _date(value: Any) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"{value} is not a date; write it as YYYY-MM-DD, like 2027-01-04") from None


def _prompts(value: Any) -> tuple[tuple[str, str], ...]:
    if value is None:
        return DEFAULT_PROMPTS
    if not isinstance(value, dict) or not value:
        raise ValueError("prompts must map categories to questions, like {well: \"What went well?\"}")
    out = []
    for key, question in value.items():
        if key not in CATEGORIES:
            raise ValueError(f"unknown prompt category `{key}` (known: {', '.join(CATEGORIES)})")
        if not isinstance(question, str) or not question.strip():
            raise ValueError(f"the `{key}` prompt needs a question")
        out.append((str(key), question.strip()))
    return tuple(out)


def _small_int(value: Any, what: str, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"{what} must be a whole number of at least {low}")
    return value


def parse_retros(tf: TeamFile) -> tuple[list[Retro], list[str]]:
    """Every retro of the file, and every problem with it (``file:line: reason``)."""
    retros: list[Retro] = []
    errors: list[str] = []
    member_ids = {m.id for m in tf.members}
    raw = tf.raw.get("retros")
    if raw is None:
        return [], []
    if not isinstance(raw, list):
        return [], [f"{tf.where('retros')}: retros must be a list of retros"]
    for i, entry in enumerate(raw):
        def err(key: str | None, reason: str, i: int = i) -> None:
            errors.append(f"{tf.where('retros', i, key) if key else tf.where('retros', i)}: {reason}")

        if not isinstance(entry, dict):
            err(None, "each retro must be a mapping with name, channel, every and starts (or async)")
            continue
        before = len(errors)
        for key in entry:
            if key not in RETRO_KEYS:
                err(key, f"unknown key `{key}` for a retro (known: {', '.join(sorted(RETRO_KEYS))})")
        name, channel = entry.get("name"), entry.get("channel")
        if not isinstance(name, str) or not ID_RE.match(name):
            err("name", "a retro needs a short name, like sprint-retro")
            continue
        if any(r.name == name for r in retros):
            err("name", f"retro `{name}` appears twice")
        if not isinstance(channel, str) or not channel:
            err("channel", "a retro needs a channel, like \"#ml-team\"")
            continue
        fields: dict[str, Any] = {"workspace": tf.workspace, "name": name, "channel": channel}

        def check(key: str, parse: Callable[[Any], Any], target: str | None = None,
                  entry: dict[str, Any] = entry, fields: dict[str, Any] = fields,
                  err: Callable[..., None] = err) -> None:
            if key not in entry:
                return
            try:
                fields[target or key] = parse(entry[key])
            except (RotationError, TimeInputError, ValueError) as e:
                err(key, str(e).replace("`", "") if isinstance(e, TimeInputError) else str(e))

        is_async = "async" in entry
        if is_async:
            spec = entry["async"]
            if not isinstance(spec, dict) or set(spec) - ASYNC_KEYS or not set(spec) >= ASYNC_KEYS:
                err("async", "async needs exactly opens and closes, like {opens: 2027-01-11T09:00Z, "
                             "closes: 2027-01-15T17:00Z}")
            else:
                try:
                    opens, closes = _instant(spec["opens"]), _instant(spec["closes"])
                    if closes <= opens:
                        err("async", "an async retro must close after it opens")
                    fields.update(opens=opens, closes=closes, every=None)
                except TimeInputError as e:
                    err("async", str(e).replace("`", ""))
            for key in ("every", "starts", "candidates", "night_cap"):
                if key in entry:
                    err(key, f"`{key}` belongs to retros with a meeting; an async retro has only opens and closes")
        else:
            for key in ("every", "starts"):
                if key not in entry:
                    err(None, f"retro `{name}` needs `{key}` (or `async: {{opens, closes}}` for a retro "
                              "without a meeting)")
            check("every", lambda v: (parse_every(str(v)), str(v))[1])
            check("starts", _date)
            check("candidates", _candidates)
            check("night_cap", lambda v: _small_int(v, "night_cap", 0))
        check("duration", lambda v: (parse_duration(str(v)), str(v))[1])
        if "thread_lead" in entry and "open_before" in entry:
            err("open_before", "give thread_lead or its older spelling open_before, not both")
        check("open_before", lambda v: _lead(v, "open_before"))
        check("thread_lead", lambda v: _lead(v, "thread_lead"), target="open_before")
        check("prompts", _prompts)
        check("max_votes", lambda v: _small_int(v, "max_votes", 1))
        check("tz", lambda v: validate_zone(str(v)))
        members = entry.get("members", "all")
        if members != "all":
            if not isinstance(members, list) or not members:
                err("members", "members must be `all` or a list of member ids")
            else:
                unknown = [str(m) for m in members if str(m) not in member_ids]
                if unknown:
                    err("members", f"unknown member {', '.join(unknown)}")
                fields["members"] = tuple(str(m) for m in members)
        if "facilitator" in entry:
            facilitator = entry["facilitator"]
            if not isinstance(facilitator, str) or facilitator not in member_ids:
                err("facilitator", f"facilitator must be the id of a member, like {next(iter(sorted(member_ids)), 'ravi')}"
                                   + (f"; `{facilitator}` is not one" if isinstance(facilitator, str) else ""))
            elif isinstance(fields.get("members"), tuple) and facilitator not in fields["members"]:
                err("facilitator", f"facilitator `{facilitator}` is not one of this retro's members")
            else:
                fields["facilitator"] = facilitator
        if len(errors) == before:
            retros.append(Retro(**fields))
    return retros, errors


def validate(tf: TeamFile) -> list[str]:
    return parse_retros(tf)[1]
