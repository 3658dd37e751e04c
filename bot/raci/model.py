"""RACI: who is Responsible, Accountable, Consulted and Informed for an activity — and who is awake.

The model is small on purpose: an activity has a name, aliases, an optional
description and channel scope, and assignments (a member and one letter). The rules
are checked here, on every write, so every path that changes the model (a command,
the Slack form, a CSV or team-file import) refuses the same things with the same
named rule. What RACI keeps is described here too (``RaciStore``, ``HistoryEntry``),
so the storage layer implements it without reaching into the service.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Literal, Protocol

from bot.kernel.domain import Member
from bot.kernel.members import normalise

MAX_NAME_LENGTH = 120
"""Longer than any real activity name; a pasted paragraph is a mistake worth refusing."""


class Role(StrEnum):
    R = "R"
    A = "A"
    C = "C"
    I = "I"  # noqa: E741 - the letter is the domain's own name

    @property
    def word(self) -> str:
        return ROLE_TITLES[self]


ROLE_TITLES: dict[Role, str] = {Role.R: "Responsible", Role.A: "Accountable",
                                Role.C: "Consulted", Role.I: "Informed"}
ROLE_ORDER: tuple[Role, ...] = (Role.R, Role.A, Role.C, Role.I)


@dataclass(frozen=True)
class Assignment:
    member_id: str
    role: Role


@dataclass(frozen=True)
class Activity:
    workspace: str
    name: str
    assignments: tuple[Assignment, ...] = ()
    aliases: tuple[str, ...] = ()
    description: str = ""
    channel: str | None = None
    """When set, the activity belongs to that channel: ``/raci list`` there shows it first."""

    def holders(self, role: Role) -> list[str]:
        """Member ids holding ``role``, in the order they were given."""
        return [a.member_id for a in self.assignments if a.role is role]

    @property
    def accountable(self) -> str | None:
        found = self.holders(Role.A)
        return found[0] if len(found) == 1 else None

    def roles_of(self, member_id: str) -> list[Role]:
        return [r for r in ROLE_ORDER if any(a.member_id == member_id and a.role is r for a in self.assignments)]

    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


def assignments_from(roles: Mapping[Role, Sequence[str]]) -> tuple[Assignment, ...]:
    return tuple(Assignment(m, r) for r in ROLE_ORDER for m in roles.get(r, ()))


def clean_name(text: str) -> str:
    """A name as it is stored: trimmed, inner runs of spaces collapsed, nothing else touched."""
    return " ".join(text.split())


# --- rules ------------------------------------------------------------------------------

RuleName = Literal[
    "exactly one Accountable", "at least one Responsible", "one letter per person",
    "a name is required", "names are short", "people must be known", "names are unique",
]


@dataclass(frozen=True)
class RuleViolation:
    """A write the model refuses, with the rule it breaks named for the person who tried."""

    rule: RuleName
    detail: str
    culprits: tuple[Assignment, ...] = ()
    """The assignments at fault, so an importer can point at the rows and cells they came from."""

    def __str__(self) -> str:
        return f"Rule “{self.rule}”: {self.detail}"


def validate(activity: Activity, known_members: Collection[str] | None = None,
             taken: Mapping[str, str] | None = None, label: Callable[[str], str] = str) -> list[RuleViolation]:
    """Every rule ``activity`` breaks; empty when it may be written.

    ``known_members`` are the workspace's member ids (``None`` skips the check);
    ``taken`` maps normalised names and aliases of *other* activities to their names.
    ``label`` turns a member id into what the reader should see.
    """
    found: list[RuleViolation] = []
    name = clean_name(activity.name)
    if not normalise(name):
        found.append(RuleViolation("a name is required", "the activity needs a name with letters or digits."))
    for text in (name, *activity.aliases):
        if len(text) > MAX_NAME_LENGTH:
            found.append(RuleViolation("names are short",
                                       f"a name or alias of {len(text):,} characters is longer than the "
                                       f"{MAX_NAME_LENGTH} allowed."))
    accountable = [a for a in activity.assignments if a.role is Role.A]
    if len(accountable) != 1:
        who = ", ".join(label(a.member_id) for a in accountable)
        detail = (f"{name or 'the activity'} has no Accountable." if not accountable
                  else f"{name} has {len(accountable)} Accountables ({who}); keep one.")
        found.append(RuleViolation("exactly one Accountable", detail, tuple(accountable)))
    if not any(a.role is Role.R for a in activity.assignments):
        found.append(RuleViolation("at least one Responsible", f"{name or 'the activity'} has no Responsible."))
    by_member: dict[str, list[Assignment]] = {}
    for a in activity.assignments:
        by_member.setdefault(a.member_id, []).append(a)
    for member_id, held in by_member.items():
        letters = {a.role for a in held}
        if len(held) > len(letters) or (len(letters) > 1 and letters != {Role.A, Role.R}):
            shown = "/".join(a.role.value for a in held)
            found.append(RuleViolation("one letter per person",
                                       f"{label(member_id)} is {shown} on {name}; a person holds one letter, "
                                       "except that the Accountable may also be Responsible.", tuple(held)))
    if known_members is not None:
        unknown = [a for a in activity.assignments if a.member_id not in known_members]
        for a in unknown:
            found.append(RuleViolation("people must be known", f"`{a.member_id}` is not a member of this team.",
                                       (a,)))
    if taken:
        for text in activity.names():
            other = taken.get(normalise(text))
            if other is not None:
                found.append(RuleViolation("names are unique", f"`{text}` is already a name of “{other}”."))
    return found


# --- what RACI keeps (implemented in storage/raci) ----------------------------------------

ChangeKind = Literal["create", "update", "rename", "remove", "import"]


@dataclass(frozen=True)
class HistoryEntry:
    workspace: str
    activity: str
    at: datetime
    actor: str
    """The member id of who made the change (``import:FILE`` or ``team-file`` for loaders)."""
    action: ChangeKind
    before: str
    after: str
    previous: str | None = None
    """The name before a rename, so the history follows an activity through its names."""


@dataclass(frozen=True)
class Change:
    """One atomic step of a write: the activity's new state (``None`` removes it) and its history."""

    entry: HistoryEntry
    save: Activity | None
    replaces: str | None = None
    """The stored name this change replaces; ``None`` for a new activity."""


class RaciStore(Protocol):
    """What RACI needs persisted. ``apply`` is all or nothing."""

    def revision(self, workspace: str) -> int:
        """A number that changes whenever the workspace's model changes (caches key on it)."""
        ...

    def index_entries(self, workspace: str) -> list[tuple[str, tuple[str, ...]]]:
        """Every activity's name and aliases, for building the lookup index."""
        ...

    def get_activity(self, workspace: str, name: str) -> Activity | None:
        """The activity stored under exactly this name (compared after normalising)."""
        ...

    def read_activity(self, workspace: str, name: str) -> tuple[int, Activity | None]:
        """``revision`` and ``get_activity`` read together, as one cheap read; ``(0, None)`` when there is none."""
        ...

    def list_activities(self, workspace: str) -> list[Activity]: ...

    def activities_of(self, workspace: str, member_id: str) -> list[Activity]: ...

    def apply(self, workspace: str, changes: Sequence[Change]) -> None: ...

    def merge_member(self, workspace: str, old: str, new: str) -> None:
        """Give ``old``'s roles to ``new`` (one person who had two members); where both hold a role on the same
        activity, ``new`` keeps theirs."""
        ...

    def history(self, workspace: str, names: Sequence[str], limit: int = 20) -> list[HistoryEntry]:
        """Entries about any of ``names`` or any name they were renamed from or to, newest first."""
        ...

    def forget_in_history(self, workspace: str, member_id: str, names: Sequence[str], instead: str) -> int:
        """``forget-me``: history stops naming the person, as actor or in the before/after text (their
        ``names`` and id, as whole words, become ``instead``); returns how many entries changed."""
        ...


class Directory(Protocol):
    """The part of the core store RACI reads people from."""

    def get_member(self, workspace: str, member_id: str) -> Member | None: ...
    def list_members(self, workspace: str) -> list[Member]: ...


class RaciRefused(Exception):
    """A change the model or the permissions refuse; the message is written for the person who asked."""


def same_chart(a: Activity, b: Activity) -> bool:
    """Equal for every reader: the order people were listed in does not count."""
    return (a.name, set(a.assignments), a.aliases, a.description, a.channel) == \
           (b.name, set(b.assignments), b.aliases, b.description, b.channel)


def scrub(text: str, words: Sequence[str], instead: str) -> str:
    """``text`` with each of ``words`` (whole words only: ``Al`` is not in ``Alice``) replaced."""
    for word in sorted({w for w in words if w}, key=len, reverse=True):
        text = re.sub(rf"(?<!\w){re.escape(word)}(?!\w)", instead, text)
    return text


def summary(activity: Activity | None, label: Callable[[str], str] = str) -> str:
    """One line per activity, used in history: ``R: ravi · A: alice · C: noor · I: —``."""
    if activity is None:
        return "—"
    parts = [f"{r.value}: {', '.join(label(m) for m in activity.holders(r)) or '—'}" for r in ROLE_ORDER]
    extra = f" (aka {', '.join(activity.aliases)})" if activity.aliases else ""
    return f"{activity.name}{extra} — " + " · ".join(parts)
