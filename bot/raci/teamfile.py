"""The team file's ``raci:`` list, read into checked activities.

The team-file loader owns the file, its lines and its other sections; this module
turns the already-parsed ``raci:`` list into activities, or into problems that name
the entry (by position) and the key, so the loader can point at the file and line.
``validate_section`` and ``apply_section`` are the two halves of the ``raci`` team-file
section the capability registers when it is installed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.kernel.domain import Member
from bot.kernel.members import People, PersonNotFound, normalise
from bot.kernel.teamfile import TeamFile
from bot.raci.model import Activity, Assignment, Role, clean_name, validate
from bot.raci.service import RaciService

KNOWN_KEYS = {"activity", "R", "A", "C", "I", "aliases", "description", "channel"}


@dataclass(frozen=True)
class SectionProblem:
    index: int
    """Position of the entry in the ``raci:`` list, from 0."""
    key: str | None
    message: str

    def __str__(self) -> str:
        where = f"raci[{self.index}]" + (f".{self.key}" if self.key else "")
        return f"{where}: {self.message}"


@dataclass
class RaciSection:
    activities: list[Activity] = field(default_factory=list)
    problems: list[SectionProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _names(value: Any) -> list[str] | None:
    """A person or a list of people, as YAML gives them; ``None`` when it is neither."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    return None


def load_raci_section(raw: Any, members: Sequence[Member], workspace: str | None = None) -> RaciSection:
    """Every activity of the section, or every problem in it (then no activity at all)."""
    ws = workspace or (members[0].workspace if members else "")
    section = RaciSection()
    if raw is None:
        return section
    if not isinstance(raw, list):
        section.problems.append(SectionProblem(0, None, "`raci` must be a list of activities."))
        return section
    people = People(members)
    known = {m.id for m in members}
    label = {m.id: m.name for m in members}
    seen: dict[str, str] = {}
    for i, entry in enumerate(raw):
        if not isinstance(entry, dict):
            section.problems.append(SectionProblem(i, None, "each entry is a mapping like "
                                                            "{activity: NAME, R: [id], A: id}."))
            continue
        found = _entry(i, entry, ws, people, section.problems)
        if found is None:
            continue
        for violation in validate(found, known, seen, label=lambda m: label.get(m, m)):
            section.problems.append(SectionProblem(i, None, str(violation)))
        for name in found.names():
            seen.setdefault(normalise(name), found.name)
        section.activities.append(found)
    if section.problems:
        section.activities = []
    return section


def _entry(i: int, entry: dict[str, Any], ws: str, people: People,
           problems: list[SectionProblem]) -> Activity | None:
    before = len(problems)
    for key in sorted(set(map(str, entry)) - KNOWN_KEYS):
        problems.append(SectionProblem(i, key, f"unknown key; use {', '.join(sorted(KNOWN_KEYS))}."))
    name = entry.get("activity")
    if not isinstance(name, str) or not normalise(name):
        problems.append(SectionProblem(i, "activity", "the activity needs a name."))
        name = ""
    assignments: list[Assignment] = []
    for role in Role:
        written = _names(entry.get(role.value))
        if written is None:
            problems.append(SectionProblem(i, role.value, "give a member id or a list of member ids."))
            continue
        for text in written:
            who = people.find(text)
            if isinstance(who, PersonNotFound):
                problems.append(SectionProblem(i, role.value, who.reason))
            else:
                assignments.append(Assignment(who.id, role))
    aliases = _names(entry.get("aliases"))
    if aliases is None:
        problems.append(SectionProblem(i, "aliases", "give a list of names."))
    description, channel = entry.get("description", ""), entry.get("channel")
    if not isinstance(description, str):
        problems.append(SectionProblem(i, "description", "give a text."))
    if channel is not None and not isinstance(channel, str):
        problems.append(SectionProblem(i, "channel", "give a channel name."))
    if len(problems) > before:
        return None
    return Activity(ws, clean_name(name), tuple(assignments), tuple(clean_name(a) for a in aliases or ()),
                    str(description), channel)


# --- the team-file section ------------------------------------------------------------------


def validate_section(tf: TeamFile) -> list[str]:
    section = load_raci_section(tf.raw.get("raci"), tf.members, tf.workspace)
    return [f"{tf.where('raci', p.index, *([p.key] if p.key else []))}: raci: {p.message}" for p in section.problems]


def apply_section(service: RaciService, tf: TeamFile, now: datetime) -> None:
    """Upsert the file's activities; ones made in chat and absent from the file are left alone."""
    section = load_raci_section(tf.raw.get("raci"), tf.members, tf.workspace)
    service.import_all("team-file", tf.workspace, section.activities, now, tf.path)
