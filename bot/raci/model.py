"""RACI: who is Responsible, Accountable, Consulted and Informed for an activity — and who is awake.

The model is small on purpose: an activity has a name, aliases, an optional
description and channel scope, and assignments (a member and one letter). The rules
are checked here, on every write, so every path that changes the model (a command,
the Slack form, a CSV or team-file import) refuses the same things with the same
named rule. Lookups are forgiving because people type activity names from memory:
names are compared after accent stripping and case folding, aliases count as names,
and small typos are caught by a trigram index that keeps a fuzzy lookup among ten
thousand activities to a few milliseconds.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from enum import StrEnum
from functools import lru_cache
from typing import TYPE_CHECKING, Literal, Protocol

from bot.kernel.domain import Member, weekday_name
from bot.kernel.members import normalise

if TYPE_CHECKING:
    from bot.kernel.app import Meridian

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


# --- names ------------------------------------------------------------------------------




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


# --- forgiving lookup --------------------------------------------------------------------


CONFIDENT = 0.8
"""A lookup names one activity when its best score reaches this and no other activity is close."""


def _trigrams(key: str) -> set[str]:
    padded = f"  {key} "
    return {padded[i:i + 3] for i in range(len(padded) - 2)}


def edit_distance(a: str, b: str, limit: int | None = None) -> int:
    """Optimal-string-alignment distance: insertions, deletions, substitutions and swapped neighbours.

    With ``limit``, gives up as soon as the distance must exceed it and returns ``limit + 1``:
    a lookup only cares how close near names are, and far ones are most of the work.
    """
    if a == b:
        return 0
    cap = max(len(a), len(b)) if limit is None else limit
    if not a or not b:
        return min(len(a) or len(b), cap + 1)
    if abs(len(a) - len(b)) > cap:
        return cap + 1
    far = cap + 1
    width = len(b)
    prev2: list[int] = []
    prev = [j if j <= cap else far for j in range(width + 1)]
    for i, ca in enumerate(a, 1):
        cur = [far] * (width + 1)
        if i <= cap:
            cur[0] = i
        low, high = max(1, i - cap), min(width, i + cap)
        row_best = cur[0]
        for j in range(low, high + 1):
            cb = b[j - 1]
            best = prev[j - 1] if ca == cb else prev[j - 1] + 1
            if prev[j] + 1 < best:
                best = prev[j] + 1
            if cur[j - 1] + 1 < best:
                best = cur[j - 1] + 1
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb and prev2[j - 2] + 1 < best:
                best = prev2[j - 2] + 1
            cur[j] = best
            if best < row_best:
                row_best = best
        if row_best > cap:
            return far
        prev2, prev = prev, cur
    return min(prev[-1], far)


def _similarity(a: str, b: str, floor: float = 0.0) -> float:
    """1 for equal strings, falling with each edit; anything below ``floor`` may be reported as 0."""
    longest = max(len(a), len(b))
    if not longest:
        return 1.0
    limit = int((1.0 - floor) * longest)
    distance = edit_distance(a, b, limit)
    return 0.0 if distance > limit else 1.0 - distance / longest


@lru_cache(maxsize=1 << 16)
def _word_similarity(word: str, other: str) -> float:
    """Cached: a team's activity names reuse a small vocabulary, so the same pairs come up again and again."""
    if word == other:
        return 1.0
    if len(word) >= 3 and other.startswith(word):
        return 0.9
    return _similarity(word, other, floor=0.5)


def score(query: str, key: str) -> float:
    """How well a normalised query names a normalised key, from 0 to 1.

    The whole-string similarity catches typos; the word score lets a shorter query
    ("churn model") name a longer activity ("churn model retraining"), a little below a
    full match so that a longer name never outranks an exact one.
    """
    words = query.split()
    key_words = key.split()
    per_word = 0.0
    if words and key_words:
        present = set(key_words)
        per_word = sum(1.0 if w in present else max(_word_similarity(w, k) for k in key_words)
                       for w in words) / len(words)
    by_words = 0.95 * per_word
    return max(by_words, _similarity(query, key, floor=max(0.75, by_words)))


MARGIN = 0.08
CANDIDATES = 8
"""How many near names, by shared trigrams and by trigram overlap, are scored in full."""


@dataclass(frozen=True)
class Match:
    """The activity a query names, or the few it might mean."""

    activity: str | None
    suggestions: tuple[str, ...] = ()
    exact: bool = False


class ActivityIndex:
    """Names and aliases of one workspace's activities, for exact and fuzzy lookups."""

    def __init__(self, entries: Iterable[tuple[str, Sequence[str]]]) -> None:
        self._exact: dict[str, str] = {}
        self._keys: list[str] = []
        self._owners: list[str] = []
        self._grams: dict[str, list[int]] = {}
        self._sizes: list[int] = []
        for name, aliases in entries:
            for text in (name, *aliases):
                key = normalise(text)
                if not key or key in self._exact:
                    continue
                self._exact[key] = name
                slot = len(self._keys)
                self._keys.append(key)
                self._owners.append(name)
                grams = _trigrams(key)
                self._sizes.append(len(grams))
                for gram in grams:
                    self._grams.setdefault(gram, []).append(slot)
        self.names: list[str] = sorted(set(self._owners), key=normalise)

    def __len__(self) -> int:
        return len(self.names)

    def taken(self, except_activity: str | None = None) -> dict[str, str]:
        """Normalised name or alias → activity, leaving out one activity (the one being rewritten)."""
        return {k: v for k, v in self._exact.items() if v != except_activity}

    def owner_of(self, text: str) -> str | None:
        return self._exact.get(normalise(text))

    def find(self, text: str, limit: int = 3) -> Match:
        query = normalise(text)[:2 * MAX_NAME_LENGTH]  # a pasted paragraph is not a name; keep its cost bounded
        if not query:
            return Match(None, tuple(self.names[:limit]))
        hit = self._exact.get(query)
        if hit is not None:
            return Match(hit, exact=True)
        ranked = self._rank(query)
        if not ranked:
            return Match(None, tuple(self._nearest_by_letter(query, limit)))
        best_score, best = ranked[0]
        rivals = [s for s, owner in ranked[1:] if owner != best]
        if best_score >= CONFIDENT and (not rivals or rivals[0] < best_score - MARGIN):
            return Match(best)
        return Match(None, tuple(owner for _, owner in ranked[:limit]))

    def _rank(self, query: str) -> list[tuple[float, str]]:
        """Activities whose keys best share the query's trigrams, scored in full, best first, one entry each.

        Two short lists are scored: the keys sharing the most trigrams (a short query that
        is part of a long name) and the keys with the highest overlap ratio (a typo of a
        whole name). Scoring every key would be exact but far too slow at ten thousand.
        """
        grams = _trigrams(query)
        shared: Counter[int] = Counter()
        for gram in grams:
            postings = self._grams.get(gram)
            if postings:
                shared.update(postings)
        if not shared:
            return []
        floor = max(shared.values()) / 2
        pool = [(slot, count) for slot, count in shared.items() if count >= floor]
        sizes = self._sizes
        n = len(grams)
        by_count = heapq.nlargest(CANDIDATES, pool, key=lambda sc: sc[1])
        by_overlap = heapq.nlargest(CANDIDATES, pool, key=lambda sc: sc[1] / (n + sizes[sc[0]]))
        best: dict[str, float] = {}
        for slot in {slot for slot, _ in by_count + by_overlap}:
            owner = self._owners[slot]
            value = score(query, self._keys[slot])
            if value > best.get(owner, -1.0):
                best[owner] = value
        return sorted(((v, k) for k, v in best.items()), key=lambda vk: (-vk[0], normalise(vk[1])))

    def _nearest_by_letter(self, query: str, limit: int) -> list[str]:
        same_start = [n for n in self.names if normalise(n)[:1] == query[:1]]
        return (same_start or self.names)[:limit]

    def mentioned_in(self, text: str) -> list[str]:
        """Activities whose name or alias appears, as whole words, in a piece of free text."""
        padded = f" {normalise(text)} "
        found: dict[str, None] = {}
        for key, owner in self._exact.items():
            if f" {key} " in padded:
                found[owner] = None
        return list(found)


# --- who is awake ------------------------------------------------------------------------


def place_of(tz: str) -> str:
    """The city a zone is named after, as people say it: ``America/Sao_Paulo`` → ``Sao Paulo``."""
    return tz.rsplit("/", 1)[-1].replace("_", " ")


@dataclass(frozen=True)
class Presence:
    """Where a person's day is right now."""

    local: datetime
    place: str
    in_hours: bool
    workday: bool
    away_until: date | None

    @property
    def rank(self) -> int:
        """0 for people who can answer now, 1 for off hours, 2 for out of office."""
        return 2 if self.away_until else 0 if self.in_hours else 1

    def label(self) -> str:
        clock = f"{self.local:%H:%M} in {self.place}"
        if self.away_until is not None:
            return f"🏝️ out of office until {self.away_until:%-d %b}, {clock}"
        if self.in_hours:
            return f"🟢 in hours, {clock}"
        if not self.workday:
            return f"🌙 {self.local:%a} {clock}, not a workday"
        return f"🌙 {clock}"


def presence(member: Member, now: datetime) -> Presence:
    local = member.local(now)
    today = local.date()
    away = next((r.last for r in member.ooo if today in r), None)
    workday = weekday_name(today) in member.workdays
    in_hours = away is None and workday and member.hours.contains(local.time())
    return Presence(local, place_of(member.tz), in_hours, workday, away)


# --- storage port ------------------------------------------------------------------------


@dataclass(frozen=True)
class HistoryEntry:
    workspace: str
    activity: str
    at: datetime
    actor: str
    """The member id of who made the change (``import:FILE`` or ``team-file`` for loaders)."""
    action: Literal["create", "update", "rename", "remove", "import"]
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

    def history(self, workspace: str, names: Sequence[str], limit: int = 20) -> list[HistoryEntry]:
        """Entries about any of ``names`` or any name they were renamed from or to, newest first."""
        ...


class Directory(Protocol):
    """The part of the core store RACI reads people from."""

    def get_member(self, workspace: str, member_id: str) -> Member | None: ...
    def list_members(self, workspace: str) -> list[Member]: ...
    def find_member_by_account(self, workspace: str, platform: str, account_id: str) -> Member | None: ...


# --- the service -------------------------------------------------------------------------

Editors = Literal["admins", "admins-and-accountable", "everyone"]


@dataclass(frozen=True)
class RaciSettings:
    editors: Editors = "admins-and-accountable"
    """Who may change an activity: admins only, admins and the activity's Accountable, or anyone."""
    max_accountable: int = 5
    """``/raci lint`` flags people Accountable for more activities than this."""
    max_import_bytes: int = 1_000_000


class RaciRefused(Exception):
    """A change the model or the permissions refuse; the message is written for the person who asked."""


def same_chart(a: Activity, b: Activity) -> bool:
    """Equal for every reader: the order people were listed in does not count."""
    return (a.name, set(a.assignments), a.aliases, a.description, a.channel) == \
           (b.name, set(b.assignments), b.aliases, b.description, b.channel)


def summary(activity: Activity | None, label: Callable[[str], str] = str) -> str:
    """One line per activity, used in history: ``R: ravi · A: alice · C: noor · I: —``."""
    if activity is None:
        return "—"
    parts = [f"{r.value}: {', '.join(label(m) for m in activity.holders(r)) or '—'}" for r in ROLE_ORDER]
    extra = f" (aka {', '.join(activity.aliases)})" if activity.aliases else ""
    return f"{activity.name}{extra} — " + " · ".join(parts)


@dataclass
class _Cached:
    revision: int
    index: ActivityIndex


@dataclass
class RaciService:
    """RACI for the rest of the core: lookups, owners, and checked writes with history."""

    store: RaciStore
    people: Directory
    settings: RaciSettings = field(default_factory=RaciSettings)
    _indexes: dict[str, _Cached] = field(default_factory=dict, repr=False)

    # --- reading --------------------------------------------------------------------
    def index(self, workspace: str) -> ActivityIndex:
        revision = self.store.revision(workspace)
        cached = self._indexes.get(workspace)
        if cached is None or cached.revision != revision:
            cached = _Cached(revision, ActivityIndex(self.store.index_entries(workspace)))
            self._indexes[workspace] = cached
        return cached.index

    def find(self, workspace: str, text: str) -> tuple[Activity | None, Match]:
        """The activity a text names, or the match with its suggestions.

        The usual case costs one read: the cached index answers, and the activity is read
        together with the revision that proves the cache still current.
        """
        cached = self._indexes.get(workspace)
        if cached is not None:
            match = cached.index.find(text)
            if match.activity is not None:
                revision, activity = self.store.read_activity(workspace, match.activity)
                if revision == cached.revision and activity is not None:
                    return activity, match
        match = self.index(workspace).find(text)
        if match.activity is None:
            return None, match
        return self.store.get_activity(workspace, match.activity), match

    def owners(self, workspace: str, activity: str) -> tuple[list[Member], Member | None] | None:
        """The Responsible and the Accountable of the activity a text confidently names, else ``None``."""
        found, _ = self.find(workspace, activity)
        if found is None:
            return None
        responsible = [m for m in (self.people.get_member(workspace, i) for i in found.holders(Role.R)) if m]
        a = found.accountable
        return responsible, self.people.get_member(workspace, a) if a else None

    def mentioned_in(self, workspace: str, text: str) -> list[str]:
        """Activities named in free text ("blocked on feature store"), for stand-up blockers."""
        return self.index(workspace).mentioned_in(text)

    def owner_hint(self, workspace: str, text: str) -> tuple[str, Member] | None:
        """The activity a blocker names and its Accountable; the longest name wins ("feature store v2")."""
        named = sorted(self.mentioned_in(workspace, text), key=lambda n: -len(normalise(n)))
        for name in named:
            activity = self.store.get_activity(workspace, name)
            accountable = activity.accountable if activity else None
            member = self.people.get_member(workspace, accountable) if accountable else None
            if activity is not None and member is not None:
                return activity.name, member
        return None

    def label(self, workspace: str) -> Callable[[str], str]:
        members = {m.id: m.name for m in self.people.list_members(workspace)}
        return lambda member_id: members.get(member_id, member_id)

    # --- writing --------------------------------------------------------------------
    def may_edit(self, member: Member, activity: Activity | None) -> bool:
        if member.is_admin or self.settings.editors == "everyone":
            return True
        return (self.settings.editors == "admins-and-accountable" and activity is not None
                and activity.accountable == member.id)

    def check_may_edit(self, member: Member, activity: Activity | None, doing: str) -> None:
        if self.may_edit(member, activity):
            return
        if self.settings.editors == "admins" or activity is None:
            raise RaciRefused(f"Only workspace admins may {doing}.")
        raise RaciRefused(f"Only workspace admins and the Accountable of “{activity.name}” may {doing}.")

    def check(self, activity: Activity, replacing: str | None) -> None:
        """Refuse ``activity`` with every rule it breaks named."""
        index = self.index(activity.workspace)
        known = {m.id for m in self.people.list_members(activity.workspace)}
        problems = validate(activity, known, index.taken(except_activity=replacing),
                            label=self.label(activity.workspace))
        if problems:
            raise RaciRefused("\n".join(str(p) for p in problems))

    def write(self, actor: Member, before: Activity | None, after: Activity | None, now: datetime,
              action: Literal["create", "update", "rename", "remove", "import"] | None = None) -> None:
        """One checked, permitted, recorded change."""
        workspace = actor.workspace
        if after is not None:
            after = replace(after, name=clean_name(after.name),
                            aliases=tuple(clean_name(a) for a in after.aliases if clean_name(a)))
            self.check(after, before.name if before else None)
        label = self.label(workspace)
        kind = action or ("create" if before is None else "remove" if after is None else "update")
        subject = after.name if after is not None else before.name if before is not None else ""
        renamed_from = before.name if before and after and normalise(before.name) != normalise(after.name) else None
        entry = HistoryEntry(workspace, subject, now, actor.id, kind, summary(before, label), summary(after, label),
                             renamed_from)
        self.store.apply(workspace, [Change(entry, after, before.name if before else None)])

    def import_all(self, actor: str, workspace: str, activities: Sequence[Activity], now: datetime,
                   source: str) -> int:
        """Write already-validated activities as one all-or-nothing change; returns how many changed.

        An activity identical to the stored one is skipped, so importing the same file
        twice leaves no history noise.
        """
        label = self.label(workspace)
        changes: list[Change] = []
        for activity in activities:
            before = self.store.get_activity(workspace, activity.name)
            if before is not None and same_chart(before, activity):
                continue
            entry = HistoryEntry(workspace, activity.name, now, actor, "import",
                                 summary(before, label), f"{summary(activity, label)} (from {source})")
            changes.append(Change(entry, activity, before.name if before else None))
        if changes:
            self.store.apply(workspace, changes)
        return len(changes)

    def lint(self, workspace: str) -> list[str]:
        """What is wrong or worth a look in the workspace's model, one line each."""
        label = self.label(workspace)
        members = self.people.list_members(workspace)
        known = {m.id for m in members}
        activities = self.store.list_activities(workspace)
        lines: list[str] = []
        accountable_for: Counter[str] = Counter()
        has_role: set[str] = set()
        for activity in activities:
            a = activity.holders(Role.A)
            if not a:
                lines.append(f"“{activity.name}” has no Accountable.")
            elif len(a) > 1:
                lines.append(f"“{activity.name}” has {len(a)} Accountables: {', '.join(label(m) for m in a)}.")
            if not activity.holders(Role.R):
                lines.append(f"“{activity.name}” has no Responsible.")
            for gone in sorted({x.member_id for x in activity.assignments} - known):
                lines.append(f"“{activity.name}” names `{gone}`, who is no longer a member.")
            accountable_for.update(set(a))
            has_role.update(x.member_id for x in activity.assignments)
        for member_id, count in sorted(accountable_for.items()):
            if count > self.settings.max_accountable and member_id in known:
                lines.append(f"{label(member_id)} is Accountable for {count} activities "
                             f"(more than {self.settings.max_accountable}).")
        idle = sorted((m for m in members if m.id not in has_role), key=lambda m: m.name.casefold())
        if idle and activities:
            lines.append("No role anywhere: " + ", ".join(m.name for m in idle) + ".")
        return lines


def install(app: Meridian, store: RaciStore, settings: RaciSettings | None = None) -> RaciService:
    """Register ``/raci`` and the ``raci`` service on the app."""
    from bot.raci.commands import install as install_commands

    return install_commands(app, store, settings)


