"""RACI as CSV: the wide matrix and the long list, read forgivingly and refused precisely.

People keep RACI charts in spreadsheets, and spreadsheets export in many small
variations: a byte-order mark, ``;`` instead of ``,`` (European locales), cells such as
"A/R", "R, A" or "AR", people named by id, name or email, and letters typed on a
Cyrillic keyboard that look Latin. All of that is accepted. Anything else is reported
with its row and column, every problem at once, and nothing is written unless the
whole file is clean.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from bot.kernel.domain import Member
from bot.kernel.members import People, PersonNotFound, normalise
from bot.raci.model import (
    MAX_NAME_LENGTH,
    ROLE_ORDER,
    Activity,
    Assignment,
    Role,
    RuleViolation,
    clean_name,
    validate,
)

MAX_IMPORT_BYTES = 1_000_000
MAX_ROWS = 50_000

_LOOKALIKES = str.maketrans({
    "А": "A", "а": "a", "С": "C", "с": "c", "І": "I", "і": "i", "Ӏ": "I", "ӏ": "i",  # Cyrillic
    "Α": "A", "α": "a", "Ι": "I", "ι": "i",  # Greek
})
_ROLE_WORDS: dict[str, Role] = {
    "R": Role.R, "A": Role.A, "C": Role.C, "I": Role.I,
    "RESPONSIBLE": Role.R, "ACCOUNTABLE": Role.A, "CONSULTED": Role.C, "INFORMED": Role.I,
}
_EMPTY = {"", "-", "–", "—", "N/A", "NA", "."}
_CELL_SPLIT = re.compile(r"[\s/,;+&|]+")

_ACTIVITY_HEADERS = {"activity", "activities", "task", "process", "deliverable", "name"}
_PERSON_HEADERS = {"person", "member", "who", "people", "user", "email", "assignee"}
_ROLE_HEADERS = {"role", "raci", "letter", "roles"}
_EXTRA_HEADERS = {"aliases": "aliases", "alias": "aliases", "aka": "aliases",
                  "description": "description", "about": "description", "channel": "channel"}


@dataclass(frozen=True)
class Problem:
    """One refused part of an import, with where it is as a spreadsheet shows it."""

    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message


@dataclass
class CsvImport:
    shape: Literal["wide", "long", "unknown"]
    activities: list[Activity] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    columns: set[str] = field(default_factory=set)
    """Which of ``aliases``, ``description`` and ``channel`` the file has; the others are left as stored."""

    @property
    def ok(self) -> bool:
        return not self.problems


def column_letter(column: int) -> str:
    """Spreadsheet column name for a 1-based index: 1 → A, 27 → AA."""
    letters = ""
    while column > 0:
        column, rest = divmod(column - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def cell_at(row: int, column: int, header: str = "") -> str:
    named = f" ({header})" if header else ""
    return f"row {row}, column {column_letter(column)}{named}"


def parse_cell(text: str) -> list[Role] | str:
    """The letters in one cell, or why it is not a role: "A/R", "R, A", "AR", "а" (Cyrillic) all work."""
    cleaned = unicodedata.normalize("NFKC", text).translate(_LOOKALIKES).strip().upper()
    if cleaned in _EMPTY:
        return []
    parts = [p for p in _CELL_SPLIT.split(cleaned) if p]
    if len(parts) == 1 and len(parts[0]) > 1 and set(parts[0]) <= set("RACI"):
        parts = list(parts[0])
    roles: list[Role] = []
    for part in parts:
        role = _ROLE_WORDS.get(part)
        if role is None:
            return f"`{text.strip()}` is not a role; use R, A, C or I (A/R for both), or leave it blank."
        if role not in roles:
            roles.append(role)
    return roles


def decode(data: bytes | str, max_bytes: int = MAX_IMPORT_BYTES) -> str | Problem:
    size = len(data.encode("utf-8")) if isinstance(data, str) else len(data)
    if size > max_bytes:
        return Problem("", f"The file is {size / 1_000_000:.1f} MB; an import takes at most "
                           f"{max_bytes / 1_000_000:.1f} MB. Split it into smaller files.")
    if isinstance(data, str):
        return data.removeprefix("\ufeff")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            pass
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return Problem("", "The file is not UTF-8 text; save it from your spreadsheet as “CSV UTF-8”.")


def sniff_separator(text: str) -> str:
    """``;`` for European spreadsheets, tab for pasted tables, ``,`` otherwise: whichever the header uses most."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    outside_quotes = re.sub(r'"[^"]*"', "", first)
    counts = {sep: outside_quotes.count(sep) for sep in (",", ";", "\t")}
    best = max(counts, key=lambda s: counts[s])
    return best if counts[best] else ","


def _rows(text: str) -> list[tuple[int, list[str]]]:
    """Records with their 1-based row numbers; blank records are dropped but keep their numbers."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sniff_separator(text))
    return [(n, row) for n, row in enumerate(reader, 1) if any(cell.strip() for cell in row)]


def _header_kind(cell: str) -> str:
    key = normalise(cell)
    if key in _ROLE_HEADERS:
        return "role"
    if key in _PERSON_HEADERS:
        return "person"
    if key in _ACTIVITY_HEADERS:
        return "activity"
    return _EXTRA_HEADERS.get(key, "")


@dataclass
class _Draft:
    """An activity being assembled, with where each of its parts came from."""

    name: str
    rows: list[int]
    assignments: list[Assignment] = field(default_factory=list)
    places: dict[Assignment, list[str]] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()
    description: str = ""
    channel: str | None = None

    def assign(self, member_id: str, role: Role, where: str) -> None:
        a = Assignment(member_id, role)
        self.places.setdefault(a, []).append(where)
        self.assignments.append(a)

    def activity(self, workspace: str) -> Activity:
        return Activity(workspace, self.name, tuple(self.assignments), self.aliases, self.description, self.channel)


def read_raci_csv(data: bytes | str, workspace: str, members: Sequence[Member],
                  max_bytes: int = MAX_IMPORT_BYTES) -> CsvImport:
    """Read either shape; ``ok`` only when every row and cell is usable and every activity obeys the rules."""
    text = decode(data, max_bytes)
    if isinstance(text, Problem):
        return CsvImport("unknown", problems=[text])
    rows = _rows(text)
    if not rows:
        return CsvImport("unknown", problems=[Problem("", "The file is empty.")])
    if len(rows) > MAX_ROWS:
        return CsvImport("unknown", problems=[Problem("", f"The file has {len(rows):,} rows; "
                                                          f"an import takes at most {MAX_ROWS:,}.")])
    kinds = [_header_kind(c) for c in rows[0][1]]
    people = People(members)
    if "role" in kinds and "person" in kinds:
        result = _read_long(rows, kinds, people)
    else:
        result = _read_wide(rows, kinds, people)
    drafts, problems = result
    shape: Literal["wide", "long"] = "long" if "role" in kinds and "person" in kinds else "wide"
    label = {m.id: m.name for m in members}
    for draft in drafts:
        problems.extend(_rule_problems(draft, workspace, lambda i: label.get(i, i)))
    activities = [d.activity(workspace) for d in drafts] if not problems else []
    return CsvImport(shape, activities, problems, {k for k in kinds if k in {"aliases", "description", "channel"}})


def _name_problem(name: str) -> str | None:
    if not normalise(name):
        return "the activity name is empty."
    if len(name) > MAX_NAME_LENGTH:
        return f"an activity name of {len(name):,} characters is longer than the {MAX_NAME_LENGTH} allowed."
    return None


def _read_wide(rows: list[tuple[int, list[str]]], kinds: list[str],
               people: People) -> tuple[list[_Draft], list[Problem]]:
    header_row, header = rows[0]
    problems: list[Problem] = []
    columns: dict[int, str] = {}
    extras: dict[int, str] = {}
    for col, cell in enumerate(header[1:], 2):
        if kinds[col - 1] in {"aliases", "description", "channel"}:
            extras[col] = kinds[col - 1]
            continue
        if not cell.strip():
            continue
        who = people.find(cell)
        if isinstance(who, PersonNotFound):
            problems.append(Problem(cell_at(header_row, col, cell.strip()), who.reason))
        else:
            columns[col] = who.id
    drafts: dict[str, _Draft] = {}
    for row_no, row in rows[1:]:
        name = clean_name(row[0]) if row else ""
        bad_name = _name_problem(name)
        if bad_name:
            problems.append(Problem(cell_at(row_no, 1), bad_name))
            continue
        key = normalise(name)
        if key in drafts:
            problems.append(Problem(cell_at(row_no, 1), f"“{name}” is already on row {drafts[key].rows[0]}; "
                                                        "give each activity one row."))
            continue
        draft = drafts[key] = _Draft(name, [row_no])
        for col, cell in enumerate(row[1:], 2):
            if col in extras:
                _set_extra(draft, extras[col], cell)
                continue
            roles = parse_cell(cell)
            head = header[col - 1].strip() if col - 1 < len(header) else ""
            if isinstance(roles, str):
                problems.append(Problem(cell_at(row_no, col, head), roles))
            elif roles and col not in columns:
                if col - 1 >= len(header) or not head:
                    problems.append(Problem(cell_at(row_no, col), "this cell has no person in the header row."))
            else:
                for role in roles:
                    draft.assign(columns[col], role, cell_at(row_no, col, head))
    return list(drafts.values()), problems


def _set_extra(draft: _Draft, kind: str, cell: str) -> None:
    value = cell.strip()
    if kind == "aliases":
        draft.aliases = tuple(a for a in (clean_name(p) for p in re.split(r"[;,|]", value)) if a)
    elif kind == "description":
        draft.description = value
    elif value:
        draft.channel = value


def _read_long(rows: list[tuple[int, list[str]]], kinds: list[str],
               people: People) -> tuple[list[_Draft], list[Problem]]:
    header = rows[0][1]
    problems: list[Problem] = []
    col_activity = kinds.index("activity") + 1 if "activity" in kinds else next(
        i for i, k in enumerate(kinds, 1) if k not in {"person", "role"})
    col_person, col_role = kinds.index("person") + 1, kinds.index("role") + 1
    extras = {i: k for i, k in enumerate(kinds, 1) if k in {"aliases", "description", "channel"}}
    drafts: dict[str, _Draft] = {}

    def cell(row: list[str], col: int) -> str:
        return row[col - 1] if col - 1 < len(row) else ""

    for row_no, row in rows[1:]:
        name = clean_name(cell(row, col_activity))
        bad_name = _name_problem(name)
        if bad_name:
            problems.append(Problem(cell_at(row_no, col_activity), bad_name))
            continue
        draft = drafts.setdefault(normalise(name), _Draft(name, []))
        draft.rows.append(row_no)
        for col, kind in extras.items():
            if cell(row, col).strip():
                _set_extra(draft, kind, cell(row, col))
        person_text = cell(row, col_person)
        who = people.find(person_text)
        if isinstance(who, PersonNotFound):
            problems.append(Problem(cell_at(row_no, col_person, header[col_person - 1].strip()), who.reason))
        roles = parse_cell(cell(row, col_role))
        role_where = cell_at(row_no, col_role, header[col_role - 1].strip())
        if isinstance(roles, str):
            problems.append(Problem(role_where, roles))
        elif not roles:
            problems.append(Problem(role_where, "the role is empty; use R, A, C or I."))
        elif not isinstance(who, PersonNotFound):
            for role in roles:
                draft.assign(who.id, role, f"row {row_no}")
    return list(drafts.values()), problems


def _rule_problems(draft: _Draft, workspace: str, label: Callable[[str], str]) -> list[Problem]:
    problems = []
    for violation in validate(draft.activity(workspace), label=label):
        problems.append(Problem(_where(draft, violation), str(violation)))
    return problems



def _where(draft: _Draft, violation: RuleViolation) -> str:
    places: list[str] = []
    for culprit in violation.culprits:
        for place in draft.places.get(culprit, []):
            if place not in places:
                places.append(place)
    if places:
        return " and ".join(places)
    rows = sorted(set(draft.rows))
    return ("row " if len(rows) == 1 else "rows ") + ", ".join(str(r) for r in rows)


# --- writing ------------------------------------------------------------------------------


def _cell(roles: list[Role]) -> str:
    return "/".join(r.value for r in roles)


def write_wide(activities: Sequence[Activity], members: Sequence[Member]) -> str:
    """The matrix: one row per activity, one column per member (by id, so it reads back exactly)."""
    named = {a.member_id for act in activities for a in act.assignments}
    people = [m.id for m in members] + sorted(named - {m.id for m in members})
    with_aliases = any(a.aliases for a in activities)
    with_about = any(a.description for a in activities)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["activity", *people, *(["aliases"] if with_aliases else []),
                     *(["description"] if with_about else [])])
    for act in sorted(activities, key=lambda a: normalise(a.name)):
        row = [act.name, *(_cell(_ordered(act.roles_of(p))) for p in people)]
        if with_aliases:
            row.append("; ".join(act.aliases))
        if with_about:
            row.append(act.description)
        writer.writerow(row)
    return out.getvalue()


def _ordered(roles: list[Role]) -> list[Role]:
    """"A/R" rather than "R/A": the Accountable's letter first, as people write it."""
    return sorted(roles, key=lambda r: (r is not Role.A, ROLE_ORDER.index(r)))


def write_long(activities: Sequence[Activity]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["activity", "person", "role"])
    for act in sorted(activities, key=lambda a: normalise(a.name)):
        for a in act.assignments:
            writer.writerow([act.name, a.member_id, a.role.value])
    return out.getvalue()
