"""``RaciService``: RACI for the rest of the core — lookups, owners, and checked writes with history.

Every path that reads or changes the chart (commands, the edit form, CSV and team-file
imports, the operator's CLI) goes through here, so permissions, the model's rules and
history are applied the same way. Other capabilities see it only as the kernel's
``ActivityOwners`` port (``owners``, ``owner_hint``), handed to them at bootstrap.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Literal

from bot.kernel.domain import Member
from bot.kernel.members import normalise
from bot.raci.csv import read_raci_csv
from bot.raci.lookup import ActivityIndex, Match
from bot.raci.model import (
    ROLE_ORDER,
    Activity,
    Change,
    ChangeKind,
    Directory,
    HistoryEntry,
    RaciRefused,
    RaciStore,
    Role,
    assignments_from,
    clean_name,
    same_chart,
    summary,
    validate,
)

Editors = Literal["admins", "admins-and-accountable", "everyone"]

FORMER_MEMBER = "a former member"
"""How history speaks of someone who used ``forget-me``."""
FORGET_ACTOR = "forget-me"


@dataclass(frozen=True)
class Handover:
    """One activity a forgotten person held, and who must now find someone for their roles."""

    activity: str
    keeper: str
    """The member asked to reassign: the activity's Accountable, or an admin when the person was it."""
    held: tuple[Role, ...]
    """The letters the forgotten person held."""
    took: tuple[Role, ...] = ()
    """Letters the keeper holds for now in their stead, so the chart keeps an Accountable and a Responsible."""


@dataclass(frozen=True)
class RaciSettings:
    editors: Editors = "admins-and-accountable"
    """Who may change an activity: admins only, admins and the activity's Accountable, or anyone."""
    max_accountable: int = 5
    """``/raci lint`` flags people Accountable for more activities than this."""
    max_import_bytes: int = 1_000_000


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

    def about(self, workspace: str, text: str) -> tuple[Activity | None, Match]:
        """The activity a whole message is about (``ActivityIndex.about``), read, or the match's suggestions."""
        match = self.index(workspace).about(text)
        if match.activity is None:
            return None, match
        return self.store.get_activity(workspace, match.activity), match

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
              action: ChangeKind | None = None) -> None:
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

    def forget_member(self, workspace: str, member_id: str, now: datetime) -> tuple[int, list[Handover]]:
        """Take a person off every activity (``forget-me``) and scrub them from history.

        The chart stays writable by every rule: when they were the Accountable an admin
        takes that letter, and when they were the only Responsible the Accountable takes it,
        until someone is chosen. Returns how many roles went and who must reassign what.
        """
        members = [m for m in self.people.list_members(workspace) if m.id != member_id]
        admins = sorted((m for m in members if m.is_admin), key=lambda m: m.name.casefold())
        gone = self.people.get_member(workspace, member_id)
        base = self.label(workspace)

        def label(mid: str) -> str:
            return FORMER_MEMBER if mid == member_id else base(mid)

        removed, handovers, changes = 0, [], []
        for activity in self.store.activities_of(workspace, member_id):
            held = tuple(activity.roles_of(member_id))
            removed += len(held)
            after, took = _without(activity, member_id, admins[0].id if admins else None)
            keeper = after.accountable
            if keeper is not None:
                handovers.append(Handover(activity.name, keeper, held, took))
            entry = HistoryEntry(workspace, activity.name, now, FORGET_ACTOR, "update",
                                 summary(activity, label), summary(after, label))
            changes.append(Change(entry, after, activity.name))
        if changes:
            self.store.apply(workspace, changes)
        names = [gone.name] if gone is not None and gone.name else []
        self.store.forget_in_history(workspace, member_id, names, FORMER_MEMBER)
        return removed, handovers

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

    def import_csv(self, actor: str, workspace: str, members: Sequence[Member], data: str | bytes, now: datetime,
                   source: str) -> tuple[int, int]:
        """Read, check against the stored chart, and write a CSV as one change; refuses with every problem listed.

        Returns how many activities the file holds and how many of them were new or changed.
        Shared by ``/raci import`` and ``meridian import``.
        """
        result = read_raci_csv(data, workspace, members, self.settings.max_import_bytes)
        problems = [str(p) for p in result.problems]
        if not problems:
            index = self.index(workspace)
            for activity in result.activities:
                own = index.owner_of(activity.name)
                for violation in validate(activity, taken=index.taken(except_activity=own)):
                    problems.append(f"“{activity.name}”: {violation}")
        activities = [self._keep_absent_columns(workspace, a, result.columns) for a in result.activities]
        if problems:
            shown = problems[:30]
            more = f"\n… and {len(problems) - 30} more." if len(problems) > 30 else ""
            raise RaciRefused("Nothing was imported; fix these and try again:\n" + "\n".join(shown) + more)
        return len(activities), self.import_all(actor, workspace, activities, now, source)

    def _keep_absent_columns(self, workspace: str, activity: Activity, columns: set[str]) -> Activity:
        """A file without an aliases, description or channel column leaves those as they are stored."""
        stored = self.store.get_activity(workspace, activity.name)
        if stored is None:
            return activity
        return replace(activity,
                       aliases=activity.aliases if "aliases" in columns else stored.aliases,
                       description=activity.description if "description" in columns else stored.description,
                       channel=activity.channel if "channel" in columns else stored.channel)


def _without(activity: Activity, member_id: str, admin: str | None) -> tuple[Activity, tuple[Role, ...]]:
    """``activity`` without the person, its Accountable and Responsible filled in for now when they were it."""
    roles = {role: [m for m in activity.holders(role) if m != member_id] for role in ROLE_ORDER}
    took: list[Role] = []
    if not roles[Role.A] and Role.A in activity.roles_of(member_id) and admin is not None:
        roles[Role.A] = [admin]
        took.append(Role.A)
    keeper = roles[Role.A][0] if len(roles[Role.A]) == 1 else None
    if not roles[Role.R] and keeper is not None:
        roles[Role.R] = [keeper]
        took.append(Role.R)
    if keeper is not None:  # the keeper holds A (and perhaps R) now: no other letter beside them
        roles[Role.C] = [m for m in roles[Role.C] if m != keeper]
        roles[Role.I] = [m for m in roles[Role.I] if m != keeper]
    return replace(activity, assignments=assignments_from(roles)), tuple(took)
