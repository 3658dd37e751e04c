"""The team file (DESIGN §6): loaded with validation that names the file, the line and the reason.

The YAML is composed into nodes first so every value keeps its line; errors are
collected, not raised one at a time, so a person fixes a file in one pass. Sections
owned by capabilities (``raci``, ``retros``, ``sources``, ``digests``) are ``TeamSection``s
the caller passes in (the app's, filled at bootstrap), so every section is validated
before anything is written, whatever was imported first.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from bot.kernel.calendars import (
    TEAM_DAY,
    CalendarInputError,
    HolidayCalendar,
    read_code,
    read_country,
    read_subdivision,
)
from bot.kernel.dates import join_ooo, read_ooo
from bot.kernel.domain import WEEKDAYS, DateRange, Hours, Member, Standup
from bot.kernel.teamyaml import YamlProblems, read_yaml
from bot.kernel.timekeeping import (
    TimeInputError,
    parse_date,
    parse_duration,
    parse_hhmm,
    parse_hours,
    validate_zone,
)

Path_ = tuple[str | int, ...]

CORE_KEYS = {"workspace", "members", "standups", "holidays"}
MEMBER_KEYS = {"id", "name", "tz", "hours", "workdays", "ooo", "holidays", "quiet", "accounts", "admin", "status_ooo",
               "delegate"}
HOLIDAY_KEYS = {"country", "subdivision", "extra", "removals"}
STANDUP_KEYS = {"name", "channel", "remind_at", "days", "members", "questions", "nudge_after", "cutoff", "tz",
                "mention_missing", "paused", "escalate_after"}
ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}$")


class TeamFileError(ValueError):
    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


@dataclass
class TeamFile:
    path: str
    workspace: str
    members: list[Member]
    standups: list[Standup]
    raw: dict[str, Any]
    lines: dict[Path_, int] = field(repr=False)
    holidays: HolidayCalendar | None = None
    """The team's default holiday calendar (top-level ``holidays:``)."""

    def where(self, *path: str | int) -> str:
        """``file:line`` of the closest located ancestor of ``path``."""
        p: Path_ = tuple(path)
        while p and p not in self.lines:
            p = p[:-1]
        return f"{self.path}:{self.lines.get(p, 1)}"


@dataclass(frozen=True)
class TeamSection:
    """A top-level key of the team file that a capability owns.

    ``validate`` returns every problem as ``file:line: reason`` (it runs whenever the key is
    present, after the members and stand-ups are known to be sound); ``apply`` writes the
    section through the capability's own store and runs inside the import's one transaction.
    """

    name: str
    validate: Callable[[TeamFile], list[str]]
    apply: Callable[[TeamFile], None] | None = None
    apply_when_absent: bool = False
    """Run ``apply`` for a file without the key too (a setting that goes back to its default when removed)."""


def parse_yaml(text: str, path: str) -> tuple[Any, dict[Path_, int]]:
    """Plain data and each value's line (``bot.kernel.teamyaml``), or every problem as ``path:line: reason``."""
    try:
        return read_yaml(text)
    except YamlProblems as err:
        raise TeamFileError([f"{path}:{line}: {reason}" for line, reason in err.problems]) from None


_DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _day(word: str) -> str | None:
    """``mon``, ``Monday``, ``tues``, ``thurs``: a weekday written as its name or a start of it (3+ letters)."""
    word = word.strip().lower()
    for short, full in zip(WEEKDAYS, _DAY_NAMES, strict=True):
        if len(word) >= 3 and full.startswith(word):
            return short
    return None


def _days(value: Any) -> frozenset[str]:
    """Days as the team file and ``/standup setup`` read them: ``[mon, tue]``, ``mon,wed``, ``mon-fri``, ``sun-thu``."""
    if isinstance(value, str):
        value = [v for v in re.split(r"[,\s]+", value) if v]
    if not isinstance(value, list) or not value:
        raise TimeInputError("days must be a list like [mon, tue, wed, thu, fri]")
    days: list[str] = []
    bad: list[str] = []
    for item in value:
        text = str(item).strip().lower()
        if text == "weekdays":
            days.extend(WEEKDAYS[:5])
            continue
        ends = text.split("-", 1) if "-" in text else [text]
        found = [_day(e) for e in ends]
        bad.extend(e for e, d in zip(ends, found, strict=True) if d is None)
        if len(found) == 2 and found[0] and found[1]:
            i, j = WEEKDAYS.index(found[0]), WEEKDAYS.index(found[1])
            days.extend(WEEKDAYS[k % 7] for k in range(i, j + 1 if j >= i else j + 8))
        elif len(found) == 1 and found[0]:
            days.append(found[0])
    if bad:
        raise TimeInputError(f"unknown day {', '.join(bad)}; use mon tue wed thu fri sat sun")
    return frozenset(days)


def _questions(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or not all(isinstance(q, str) and q.strip() for q in value):
        raise TimeInputError("questions must be a non-empty list of text")
    return tuple(value)


MAX_ESCALATE_AFTER = 60


def _working_days(value: Any) -> int:
    """``escalate_after``: a whole number of working days, 0 for never (``true``/``"2"`` are refused, not guessed)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_ESCALATE_AFTER:
        shown = f'"{value}"' if isinstance(value, str) else str(value)
        raise TimeInputError(f"escalate_after must be a whole number of working days from 0 (never) to "
                             f"{MAX_ESCALATE_AFTER}, not {shown[:40]}")
    return value


STANDUP_SETTINGS: dict[str, Callable[[Any], Any]] = {
    "remind_at": lambda v: parse_hhmm(_str(v, "remind_at")),
    "days": _days,
    "cutoff": lambda v: parse_hhmm(_str(v, "cutoff")),
    "nudge_after": lambda v: parse_duration(_str(v, "nudge_after")),
    "tz": lambda v: validate_zone(_str(v, "tz")),
    "questions": _questions,
    "escalate_after": _working_days,
}
"""The stand-up settings both the team file and ``/standup setup`` check, by their team-file key."""


def standup_setting(key: str, value: Any) -> Any:
    """One stand-up setting read as the team file reads it; a ``TimeInputError`` carries the file's message."""
    try:
        return STANDUP_SETTINGS[key](value)
    except TimeInputError as e:
        raise TimeInputError(str(e).replace("`", "")) from None


def yes_no(value: Any, what: str) -> bool:
    """A YAML boolean (``true``/``false``, ``yes``/``no``, ``on``/``off`` unquoted), and nothing else.

    ``bool("false")`` is ``True``: a quoted ``"false"`` once made a member an admin, so text,
    numbers and anything else are refused instead of guessed at."""
    if isinstance(value, bool):
        return value
    shown = f'"{value}"' if isinstance(value, str) else str(value)
    raise TimeInputError(f"{what} must be true or false, written without quotes, not {shown[:40]}")


def _str(value: Any, what: str) -> str:
    if value is None or isinstance(value, list | dict):
        raise TimeInputError(f"{what} must be text")
    return str(value)


def load_team(path: str | Path, sections: Sequence[TeamSection]) -> TeamFile:
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as err:
        raise TeamFileError([f"{p}: cannot read the team file: {err.strerror}"]) from None
    return parse_team(decode_text(data, str(p)), str(p), sections)


def decode_text(data: bytes, path: str) -> str:
    """UTF-8 (a byte-order mark is allowed), or ``path:line: reason`` naming the first byte that is not."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[:err.start].count(b"\n") + 1
        column = err.start - (data.rfind(b"\n", 0, err.start) + 1) + 1
        raise TeamFileError([f"{path}:{line}: the file is not UTF-8 text (byte 0x{data[err.start]:02x} at "
                             f"column {column}); save it as UTF-8"]) from None


def parse_team(text: str, path: str, sections: Sequence[TeamSection]) -> TeamFile:
    raw, lines = parse_yaml(text, path)
    errors: list[str] = []
    tf = TeamFile(path, "", [], [], raw if isinstance(raw, dict) else {}, lines)

    def err(where: Path_, message: str) -> None:
        errors.append(f"{tf.where(*where)}: {message}")

    if not isinstance(raw, dict):
        raise TeamFileError([f"{path}:1: the team file must be a mapping with workspace and members"])
    known = CORE_KEYS | {section.name for section in sections}
    for key in raw:
        if key not in known:
            err((key,), f"unknown key `{key}` (known: {', '.join(sorted(known))})")
    workspace = raw.get("workspace")
    if not isinstance(workspace, str) or not ID_RE.match(workspace):
        err(("workspace",), "workspace must be a short name like acme-ml")
        workspace = "workspace"
    tf.workspace = workspace
    if "holidays" in raw:
        tf.holidays = _holidays(raw["holidays"], ("holidays",), err, None)
    members_raw = raw.get("members")
    if not isinstance(members_raw, list) or not members_raw:
        err(("members",), "members must be a non-empty list")
        members_raw = []
    seen: set[str] = set()
    for i, m in enumerate(members_raw):
        member = _member(workspace, m, ("members", i), err, tf.holidays)
        if member is None:
            continue
        if member.id in seen:
            err(("members", i, "id"), f"member id `{member.id}` appears twice")
        seen.add(member.id)
        tf.members.append(member)
    for problem_at, problem in delegate_problems(tf.members):
        err(("members", problem_at, "delegate"), problem)
    standups_raw = raw.get("standups") or []
    if not isinstance(standups_raw, list):
        err(("standups",), "standups must be a list of stand-ups")
        standups_raw = []
    for i, s in enumerate(standups_raw):
        standup = _standup(workspace, s, ("standups", i), err, seen)
        if standup is not None:
            if any(x.name == standup.name for x in tf.standups):
                err(("standups", i, "name"), f"stand-up `{standup.name}` appears twice")
            tf.standups.append(standup)
    if errors:
        raise TeamFileError(errors)
    for section in sections:
        if section.name in raw:
            errors.extend(section.validate(tf))
    if errors:
        raise TeamFileError(errors)
    return tf


def _holidays(raw: Any, at: Path_, err: Callable[[Path_, str], None],
              team: HolidayCalendar | None) -> HolidayCalendar | None:
    """A ``holidays:`` value (the team's when ``team`` is ``None``, else a member's, over the team's).

    Forms: ``GB``, ``IN-KA`` or ``none``; or ``{country, subdivision, extra, removals}``. A member's mapping
    takes what it leaves out from the team's (``{subdivision: NSW}`` keeps the team's country). The team's
    ``extra`` days are the whole team's days off, so every member keeps them; its ``removals`` are days
    worked despite the team's country calendar, so they go with that calendar."""
    if isinstance(raw, str):
        try:
            own = read_code(raw)
        except CalendarInputError as e:
            err(at, str(e))
            return None
        return _over(team, own.country, own.subdivision, (), frozenset(), same=False) if team else own
    if not isinstance(raw, dict):
        err(at, "holidays must be a country code like GB or IN-KA, none, or a mapping like "
                "{country: IN, subdivision: KA}")
        return None
    ok = True
    for key in raw:
        if key not in HOLIDAY_KEYS:
            err((*at, key), f"unknown key `{key}` for holidays (known: {', '.join(sorted(HOLIDAY_KEYS))})")
            ok = False
    country = team.country if team is not None else None
    same = "country" not in raw
    subdivision = team.subdivision if team is not None and same else None
    try:
        if "country" in raw:
            text = _str(raw["country"], "country")
            country = None if text.strip().casefold() == "none" else read_country(text)
    except (CalendarInputError, TimeInputError) as e:
        err((*at, "country"), str(e))
        return None
    try:
        if "subdivision" in raw:
            if country is None:
                raise CalendarInputError("a subdivision needs a country, like {country: IN, subdivision: KA}")
            subdivision = read_subdivision(country, _str(raw["subdivision"], "subdivision"))
    except (CalendarInputError, TimeInputError) as e:
        err((*at, "subdivision"), str(e))
        return None
    extra: list[tuple[date, str]] = []
    for j, item in enumerate(_list(raw.get("extra"), (*at, "extra"), err, "extra")):
        where = (*at, "extra", j)
        if isinstance(item, dict):
            unknown = set(item) - {"date", "name"}
            if unknown or "date" not in item or isinstance(item.get("name"), list | dict | bool):
                err(where, "each extra day is a date, or {date: 2027-12-24, name: Company day}")
                ok = False
                continue
            day_raw, name = item["date"], str(item.get("name") or TEAM_DAY)
        else:
            day_raw, name = item, TEAM_DAY
        try:
            extra.append((parse_date(_str(day_raw, "extra")), name))
        except TimeInputError as e:
            err(where, str(e))
            ok = False
    removals: set[date] = set()
    for j, item in enumerate(_list(raw.get("removals"), (*at, "removals"), err, "removals")):
        try:
            removals.add(parse_date(_str(item, "removals")))
        except TimeInputError as e:
            err((*at, "removals", j), str(e))
            ok = False
    if not ok:
        return None
    if team is None:
        return HolidayCalendar(country, subdivision, tuple(extra), frozenset(removals))
    return _over(team, country, subdivision, tuple(extra), frozenset(removals), same=same)


def _over(team: HolidayCalendar, country: str | None, subdivision: str | None, extra: tuple[tuple[date, str], ...],
          removals: frozenset[date], same: bool) -> HolidayCalendar:
    """A member's calendar over the team's: the team's days off always, its removals only with its country."""
    kept = team.removals if same or country == team.country else frozenset()
    return HolidayCalendar(country, subdivision, (*team.extra, *(e for e in extra if e not in team.extra)),
                           kept | removals)


def _list(raw: Any, at: Path_, err: Callable[[Path_, str], None], what: str) -> list[Any]:
    if raw is None:
        return []
    if isinstance(raw, str | date):
        return [raw]
    if not isinstance(raw, list):
        err(at, f"{what} must be a list of dates, like [2027-12-24]")
        return []
    return raw


def _member(workspace: str, raw: Any, at: Path_, err: Callable[[Path_, str], None],
            team_holidays: HolidayCalendar | None = None) -> Member | None:
    if not isinstance(raw, dict):
        err(at, "each member must be a mapping with id, name and tz")
        return None
    ok = True
    for key in raw:
        if key not in MEMBER_KEYS:
            err((*at, key), f"unknown key `{key}` for a member (known: {', '.join(sorted(MEMBER_KEYS))})")
            ok = False
    mid = raw.get("id")
    if not isinstance(mid, str) or not ID_RE.match(mid):
        err((*at, "id"), "id must be a short name of letters, digits, ., _ or -")
        return None
    name = raw.get("name") or mid
    if isinstance(name, list | dict | bool) or "\n" in str(name):
        err((*at, "name"), "name must be one line of text")
        ok = False
    fields: dict[str, Any] = {"workspace": workspace, "id": mid, "name": str(name)}
    try:
        fields["tz"] = validate_zone(_str(raw.get("tz", "UTC"), "tz"))
    except TimeInputError as e:
        err((*at, "tz"), str(e).replace("`", ""))
        ok = False
    if "hours" in raw:
        try:
            start, end = parse_hours(_str(raw["hours"], "hours"))
            fields["hours"] = Hours(start, end)
        except TimeInputError as e:
            err((*at, "hours"), str(e))
            ok = False
    if "quiet" in raw:
        try:
            start, end = parse_hours(_str(raw["quiet"], "quiet"))
            fields["quiet"] = Hours(start, end)
        except TimeInputError as e:
            err((*at, "quiet"), f"quiet: {e}")
            ok = False
    if "workdays" in raw:
        try:
            fields["workdays"] = _days(raw["workdays"])
        except TimeInputError as e:
            err((*at, "workdays"), str(e))
            ok = False
    ooo: tuple[DateRange, ...] = ()
    ooo_raw = raw.get("ooo") or []
    if not isinstance(ooo_raw, list):
        ooo_raw = [ooo_raw] if isinstance(ooo_raw, str | date) else None
    if ooo_raw is None:
        err((*at, "ooo"), 'ooo must be a list of dates or ranges, like ["2026-12-24..2027-01-02"]')
        ok = False
    for j, r in enumerate(ooo_raw or []):
        try:
            ooo, _joined = join_ooo(ooo, read_ooo(_str(r, "ooo"), None))
        except TimeInputError as e:
            err((*at, "ooo", j), str(e))
            ok = False
    fields["ooo"] = ooo
    if "holidays" in raw:
        calendar = _holidays(raw["holidays"], (*at, "holidays"), err, team_holidays)
        ok = ok and calendar is not None
        fields["holidays"] = calendar
    else:
        fields["holidays"] = team_holidays
    accounts = raw.get("accounts") or {}
    if not isinstance(accounts, dict):
        err((*at, "accounts"), "accounts must map a system to an id, like {slack: U04NOOR}")
        ok = False
    elif not all(isinstance(v, str | int) and not isinstance(v, bool) and str(v) for v in accounts.values()):
        err((*at, "accounts"), "each account must be an id, like {slack: U04NOOR}")
        ok = False
    else:
        fields["accounts"] = {str(k): str(v) for k, v in accounts.items()}
    if raw.get("delegate") is not None:
        delegate = raw["delegate"]
        if not isinstance(delegate, str) or not ID_RE.match(delegate.lstrip("@")):
            err((*at, "delegate"), "delegate must be the id of another member, like ravi")
            ok = False
        else:
            fields["delegate"] = delegate.lstrip("@")
    try:
        fields["is_admin"] = yes_no(raw.get("admin", False), "admin")
    except TimeInputError as e:
        err((*at, "admin"), str(e))
        ok = False
    try:
        fields["status_ooo"] = yes_no(raw.get("status_ooo", True), "status_ooo")
    except TimeInputError as e:
        err((*at, "status_ooo"), str(e))
        ok = False
    return Member(**fields) if ok else None


def delegate_problems(members: Sequence[Member]) -> list[tuple[int, str]]:
    """Each member whose ``delegate`` is unknown, themselves, or leads back to them, by index.

    A cycle is reported once, at the first member on it, naming the whole circle."""
    by_id = {m.id: m for m in members}
    found: list[tuple[int, str]] = []
    reported: set[str] = set()
    for i, m in enumerate(members):
        if m.delegate is None:
            continue
        if m.delegate == m.id:
            found.append((i, f"{m.id} cannot be their own delegate; name someone who covers for them, or leave it out"))
        elif m.delegate not in by_id:
            close = difflib.get_close_matches(m.delegate, list(by_id), n=3, cutoff=0.6)
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            found.append((i, f"delegate `{m.delegate}` is not a member of this team{hint}"))
        elif m.id not in reported:
            circle = [m.id]
            step = by_id[m.delegate]
            while step.id not in circle and step.delegate in by_id and step.delegate != step.id:
                circle.append(step.id)
                step = by_id[step.delegate or ""]
            if step.id == m.id:
                reported.update(circle)
                found.append((i, "delegates go round in a circle (" + " → ".join([*circle, m.id]) +
                               "); someone on it must delegate outside it, or not at all"))
    return found


def _standup(workspace: str, raw: Any, at: Path_, err: Callable[[Path_, str], None],
             member_ids: set[str]) -> Standup | None:
    if not isinstance(raw, dict):
        err(at, "each stand-up must be a mapping with name and channel")
        return None
    ok = True
    for key in raw:
        if key not in STANDUP_KEYS:
            err((*at, key), f"unknown key `{key}` for a stand-up (known: {', '.join(sorted(STANDUP_KEYS))})")
            ok = False
    name, channel = raw.get("name"), raw.get("channel")
    if not isinstance(name, str) or not ID_RE.match(name):
        err((*at, "name"), "a stand-up needs a short name")
        return None
    if not isinstance(channel, str) or not channel:
        err((*at, "channel"), "a stand-up needs a channel, like \"#ml-team\"")
        return None
    fields: dict[str, Any] = {"workspace": workspace, "name": name, "channel": channel}
    for key in STANDUP_SETTINGS:
        if key in raw:
            try:
                fields[key] = standup_setting(key, raw[key])
            except TimeInputError as e:
                err((*at, key), str(e))
                ok = False
    members = raw.get("members", "all")
    if members != "all":
        if not isinstance(members, list):
            err((*at, "members"), "members must be `all` or a list of member ids")
            ok = False
        else:
            unknown = [str(m) for m in members if str(m) not in member_ids]
            if unknown:
                err((*at, "members"), f"unknown member {', '.join(unknown)}")
                ok = False
            fields["members"] = tuple(str(m) for m in members)
    for key, target in (("mention_missing", "mention_missing"), ("paused", "paused")):
        try:
            fields[target] = yes_no(raw.get(key, False), key)
        except TimeInputError as e:
            err((*at, key), str(e))
            ok = False
    return Standup(**fields) if ok else None
