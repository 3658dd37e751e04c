"""The team's roster: Teams people linked to the team file's members when Meridian joins a team.

A team file written for Teams rarely knows everyone's ``29:…`` id; it knows emails, and
sometimes Entra object ids. When Meridian is added to a team it reads the team's members
page by page (``GET /v3/conversations/{teamId}/pagedmembers``) and links each one to the
member the team file means — by Teams id, Entra object id (``aadObjectId``) or email
(``email``, else ``userPrincipalName``) against ``accounts: {teams: …, email: …}`` — so
that reminders can reach them in a 1:1 chat before they ever write, and mentions of them
are real Teams mentions. Someone who joins the team later is linked from the
``conversationUpdate`` that says so.

Only people the team file (or an earlier message) already made members are linked: a
team of thousands does not become thousands of stand-up participants. Anyone else
becomes a member on their first message to Meridian, as before.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from botbuilder.core import TurnContext
from botbuilder.core.teams import TeamsInfo
from botbuilder.schema import ChannelAccount
from msrest.exceptions import ClientException, HttpOperationError

from adapters.teams.chat import TeamsChat
from bot.kernel.app import Meridian
from bot.kernel.domain import Member
from storage.teams.repo import TeamsIdentity

log = logging.getLogger("meridian.teams.roster")

PLATFORM = "teams"
PAGE_SIZE = 500
"""Teams' largest page of members."""
MAX_PAGES = 200
"""100,000 people: far beyond Teams' largest team, so a connector that keeps answering a token cannot loop."""


@dataclass(frozen=True)
class TeamsPerson:
    """One person in a team as the connector describes them."""

    user_id: str
    aad_object_id: str | None
    email: str | None
    name: str

    @classmethod
    def of(cls, account: ChannelAccount | Any) -> TeamsPerson | None:
        user_id = getattr(account, "id", None)
        if not user_id or str(user_id).startswith("28:"):  # a bot, Meridian included
            return None
        email = getattr(account, "email", None) or getattr(account, "user_principal_name", None)
        return cls(str(user_id), getattr(account, "aad_object_id", None) or None, email or None,
                   str(getattr(account, "name", None) or ""))


@dataclass(frozen=True)
class RosterRead:
    """What reading a team's members found."""

    people: int
    linked: tuple[str, ...]
    """Member ids now linked to someone in the team."""
    missing: tuple[Member, ...]
    """Members with no Teams account yet who are not in this team."""


class MemberIndex:
    """The tenant's members by each identity a Teams person may match: Teams id, Entra object id, email."""

    def __init__(self, members: Iterable[Member], identities: dict[str, TeamsIdentity]) -> None:
        self.by_account: dict[str, Member] = {}
        self.by_email: dict[str, Member] = {}
        self.by_id = {m.id: m for m in members}
        for m in self.by_id.values():
            if m.accounts.get(PLATFORM):
                self.by_account.setdefault(m.accounts[PLATFORM].casefold(), m)
            if m.accounts.get("email"):
                self.by_email.setdefault(m.accounts["email"].strip().casefold(), m)
        self.identities = identities
        """Member id → the Teams identity last kept for them."""
        self.seen = {i.user_id: member_id for member_id, i in identities.items()}
        """Teams user id → member id, for people Meridian has already met."""

    def match(self, person: TeamsPerson) -> Member | None:
        for account in (person.user_id, person.aad_object_id):
            if account and account.casefold() in self.by_account:
                return self.by_account[account.casefold()]
        if person.email and person.email.strip().casefold() in self.by_email:
            return self.by_email[person.email.strip().casefold()]
        known = self.seen.get(person.user_id)
        return self.by_id.get(known) if known else None


@dataclass
class Links:
    """What linking found, written in two statements at the end rather than two per person."""

    members: dict[str, Member] = field(default_factory=dict)
    identities: dict[str, TeamsIdentity] = field(default_factory=dict)


class Roster:
    def __init__(self, app: Meridian, chat: TeamsChat) -> None:
        self.app = app
        self.chat = chat

    def _index(self, tenant: str) -> MemberIndex:
        return MemberIndex(self.app.store.list_members(tenant), self.chat.repo.identities(tenant))

    @staticmethod
    def link(tenant: str, person: TeamsPerson, index: MemberIndex, links: Links) -> Member | None:
        """Link one Teams person to the member they are, if any: their identity is kept (DMs, mentions), and a
        member with no Teams account gets this one, so their messages find them from now on."""
        member = index.match(person)
        if member is None:
            return None
        if not member.accounts.get(PLATFORM):
            member = replace(member, accounts={**member.accounts, PLATFORM: person.user_id})
            links.members[member.id] = member
            index.by_account[person.user_id.casefold()] = member
        identity = TeamsIdentity(tenant, member.id, person.user_id, person.aad_object_id, person.name or member.name)
        if index.identities.get(member.id) != identity:
            links.identities[member.id] = identity
            index.identities[member.id] = identity
        return member

    def _write(self, links: Links) -> None:
        if links.members:
            self.app.store.upsert_members(list(links.members.values()))
        if links.identities:
            self.chat.repo.save_identities(list(links.identities.values()))

    async def _pages(self, context: TurnContext, tenant: str, team_id: str) -> list[TeamsPerson]:
        people: list[TeamsPerson] = []
        token: str | None = None
        for _ in range(MAX_PAGES):
            await self.chat.pacer.turn(tenant, None)
            page = await TeamsInfo.get_paged_team_members(context, team_id, token, PAGE_SIZE)
            people.extend(p for p in (TeamsPerson.of(a) for a in page.members or []) if p is not None)
            token = page.continuation_token or None
            if not token:
                break
        return people

    async def read_team(self, context: TurnContext, tenant: str, team_id: str) -> RosterRead | None:
        """Every member of the team, linked where the team file knows them; ``None`` when Teams would not say."""
        try:
            people = await self._pages(context, tenant, team_id)
        except (HttpOperationError, ClientException, OSError, TimeoutError) as err:
            log.warning("could not read the members of team %s in tenant %s: %s", team_id, tenant,
                        type(err).__name__)
            return None
        index, links = self._index(tenant), Links()
        linked = [m.id for m in (self.link(tenant, p, index, links) for p in people) if m is not None]
        self._write(links)
        missing = tuple(m for m in self.app.store.list_members(tenant)
                        if not m.accounts.get(PLATFORM) and m.id not in linked)
        log.info("team %s of tenant %s: %d people, %d linked to members", team_id, tenant, len(people), len(linked))
        return RosterRead(len(people), tuple(dict.fromkeys(linked)), missing)

    async def joined(self, context: TurnContext, tenant: str, team_id: str,
                     accounts: Iterable[ChannelAccount]) -> list[str]:
        """People who just joined the team: each one's email is asked of Teams (the update carries only ids)."""
        index, links = self._index(tenant), Links()
        linked = []
        for account in accounts:
            person = TeamsPerson.of(account)
            if person is None:
                continue
            try:
                await self.chat.pacer.turn(tenant, None)
                full = TeamsPerson.of(await TeamsInfo.get_team_member(context, team_id, person.user_id)) or person
            except (HttpOperationError, ClientException, OSError, TimeoutError) as err:
                log.info("no details for a new member of team %s: %s", team_id, type(err).__name__)
                full = person
            member = self.link(tenant, full, index, links)
            if member is not None:
                linked.append(member.id)
        self._write(links)
        return linked
