"""``Meridian``: the core's one object, holding its ports and what each capability registered.

Capabilities (stand-ups, RACI, retros, digests) register command families, kinds of
scheduled work, planners, team-file sections, home-page sections and forget hooks here,
each through a typed method, when the composition root installs them. Adapters call
``command``, ``message``, ``reaction`` and ``action``; the scheduler calls the engine.
Nothing here knows a platform, a database or an HTTP library.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Protocol

from bot.kernel import metrics
from bot.kernel.commands import CommandFamily, Invocation, Reply, Subcommand, dispatch
from bot.kernel.domain import Member
from bot.kernel.engine import BoundHandler, BoundPlanner, Engine, EngineSettings
from bot.kernel.messages import Block, Message
from bot.kernel.outbox import Outbox
from bot.kernel.ports import ChatPort, ClaimedItem, Clock, DueItem, Store
from bot.kernel.teamfile import TeamSection

log = logging.getLogger("meridian")

Settings = EngineSettings
"""The core's knobs; the engine owns them (catch-up window, planning horizon, lease, retention)."""

DueHandler = Callable[["Meridian", ClaimedItem], Awaitable[None]]
Planner = Callable[["Meridian", datetime, datetime], list[DueItem]]
MessageHook = Callable[["Meridian", "IncomingMessage"], Awaitable[bool]]
ActionHandler = Callable[["Meridian", "Action"], Awaitable[Reply | None]]
ReactionHook = Callable[["Meridian", "Reaction"], Awaitable[bool]]
HomeSection = Callable[["Meridian", Member], list[Block]]
"""A capability's part of a person's home page (their retros, their RACI roles)."""
Forgotten = dict[str, int]
"""What ``forget-me`` removed, counted per kind, in the words the person reads (``"stand-up answers"``)."""
ForgetHook = Callable[[str, str], Awaitable[Forgotten | None] | Forgotten | None]
"""``(workspace, member_id)``: delete what a capability keeps about a person (``forget-me``), saying how many
of each kind of thing went (``{"RACI roles": 2}``); a hook that keeps no count returns ``None``."""
MergeHook = Callable[[str, str, str], None]
"""``(workspace, old_id, new_id)``: a capability re-files what it keeps under a merged member's new id."""


@dataclass(frozen=True)
class IncomingMessage:
    """A message a person wrote to the bot or in a thread the bot watches.

    Mentions in ``text`` are already the core's: ``@member-id`` for a member the
    platform's mention resolved to; the adapter did that translation.
    """

    workspace: str
    member: Member
    text: str
    channel: str | None
    is_dm: bool
    thread: str | None = None
    message_id: str | None = None


@dataclass(frozen=True)
class Action:
    """A button press or a form submission, already translated from the platform's payload."""

    workspace: str
    member: Member
    action_id: str
    value: str = ""
    values: dict[str, str] = field(default_factory=dict)
    metadata: dict[str, str] = field(default_factory=dict)
    channel: str | None = None
    trigger: str | None = None


@dataclass(frozen=True)
class Reaction:
    """An emoji reaction added to (or taken off) a message, already translated from the platform's event."""

    workspace: str
    member: Member
    message_id: str
    emoji: str
    """The emoji itself, as Unicode (``👍``): the adapter maps a platform's names (``+1``) to it."""
    added: bool = True
    channel: str | None = None


class Capability(Protocol):
    """One install shape for every capability: built at bootstrap with its ports, then installed.

    ``install`` registers the capability's commands, planners, due-work handlers, hooks and
    team-file sections on the app, and nothing else: no capability registers itself on import.
    """

    name: str

    def install(self, app: Meridian) -> None: ...


class Meridian:
    def __init__(self, store: Store, clock: Clock, chats: dict[str, ChatPort], settings: Settings | None = None,
                 worker_id: str = "worker") -> None:
        self.store = store
        self.clock = clock
        self.chats = chats
        self.settings = settings or Settings()
        self.worker_id = worker_id
        self.families: dict[str, CommandFamily[Meridian]] = {}
        self.due_handlers: dict[str, DueHandler] = {}
        self.planners: list[Planner] = []
        self.message_hooks: list[MessageHook] = []
        self.last_message_hooks: list[MessageHook] = []
        self.action_handlers: dict[str, ActionHandler] = {}
        self.reaction_hooks: list[ReactionHook] = []
        self.sections: list[TeamSection] = []
        self.home_sections: list[HomeSection] = []
        self.forget_hooks: list[ForgetHook] = []
        self.merge_hooks: list[MergeHook] = []
        self.capabilities: list[str] = []
        self._bound_planners: list[BoundPlanner] = []
        self._bound_handlers: dict[str, BoundHandler] = {}
        self.outbox = Outbox(store, clock, self.chat_for, self.settings.lease, worker_id, self.settings.silent_after)
        self.engine = Engine(store, clock, self.settings, worker_id, self._bound_planners, self._bound_handlers,
                             self.outbox.retry_pending, release_deliveries=self.outbox.release_cut_short)
        self._platforms: dict[str, str] = {}

    # --- registration -------------------------------------------------------------
    def install(self, capabilities: Sequence[Capability]) -> None:
        for capability in capabilities:
            if capability.name in self.capabilities:
                raise ValueError(f"capability {capability.name} installed twice")
            capability.install(self)
            self.capabilities.append(capability.name)

    def add_family(self, family: CommandFamily[Meridian]) -> None:
        self.families[family.name] = family

    def extend_family(self, name: str, *subcommands: Subcommand[Meridian]) -> None:
        """Add sub-commands to a family another part installed (``/meridian status-ooo``); installed first."""
        family = self.families.get(name)
        if family is None:
            raise ValueError(f"command family {name} is not installed yet")
        for sub in subcommands:
            if family.find(sub.name) is not None:
                raise ValueError(f"/{name} {sub.name} registered twice")
            family.subcommands.append(sub)

    def on_due(self, kind: str, handler: DueHandler) -> None:
        self.due_handlers[kind] = handler
        self._bound_handlers[kind] = partial(handler, self)

    def add_planner(self, planner: Planner) -> None:
        self.planners.append(planner)
        self._bound_planners.append(partial(planner, self))

    def on_message(self, hook: MessageHook, *, last: bool = False) -> None:
        """Offer messages to ``hook``; a ``last`` hook sees only what no other capability took (a fallback)."""
        (self.last_message_hooks if last else self.message_hooks).append(hook)

    def on_action(self, prefix: str, handler: ActionHandler) -> None:
        """Handle actions whose id starts with ``prefix`` (``standup.``, ``retro.``); the longest match wins."""
        self.action_handlers[prefix] = handler

    def on_reaction(self, hook: ReactionHook) -> None:
        self.reaction_hooks.append(hook)

    def add_section(self, section: TeamSection) -> None:
        """A top-level key of the team file this capability validates and applies."""
        if any(s.name == section.name for s in self.sections):
            raise ValueError(f"team-file section {section.name} registered twice")
        self.sections.append(section)

    def add_home_section(self, section: HomeSection) -> None:
        self.home_sections.append(section)

    def on_forget(self, hook: ForgetHook) -> None:
        self.forget_hooks.append(hook)

    def on_merge(self, hook: MergeHook) -> None:
        self.merge_hooks.append(hook)

    def merge_member(self, workspace: str, old_id: str, new_id: str) -> None:
        """One person, one member: what capabilities keep moves to ``new_id``, then the store folds the rest."""
        for hook in self.merge_hooks:
            hook(workspace, old_id, new_id)
        self.store.merge_member(workspace, old_id, new_id)

    async def forget(self, workspace: str, member_id: str) -> Forgotten:
        """Every capability deletes what it keeps about the person; returns what went, counted per kind.

        A hook may be a coroutine (RACI tells whoever inherits the person's roles by DM).
        """
        removed: Forgotten = {}
        for hook in self.forget_hooks:
            counted = hook(workspace, member_id)
            if inspect.isawaitable(counted):
                counted = await counted
            for kind, count in (counted or {}).items():
                removed[kind] = removed.get(kind, 0) + count
        return removed

    def is_member(self, workspace: str, member: Member) -> bool:
        """Whether the person is (still) a member here: after ``forget-me`` they are not."""
        return self.store.get_member(workspace, member.id) is not None

    # --- ports --------------------------------------------------------------------
    def now(self) -> datetime:
        return self.clock.now()

    def chat_for(self, workspace: str) -> ChatPort:
        """The chat port of the workspace's platform.

        A workspace whose platform is configured here talks to it. One that names no
        configured platform (a team imported before any was set up) talks to the one
        platform configured, and to the console only when no chat platform is: a team
        file never pins a workspace to the terminal. The answer is remembered for the
        process (a workspace does not move between platforms while a process runs).
        """
        platform = self._platforms.get(workspace)
        if platform is None:
            ws = self.store.get_workspace(workspace)
            platform = self._platform_of(ws.platform if ws else "")
            if ws is not None:
                self._platforms[workspace] = platform
        return self.chats[platform]

    def _platform_of(self, named: str) -> str:
        if named in self.chats:
            return named
        real = [name for name in self.chats if name != "console"]
        if len(real) == 1:
            return real[0]
        return "console" if "console" in self.chats else next(iter(self.chats))

    # --- entry points for adapters -------------------------------------------------
    async def command(self, inv: Invocation) -> Reply:
        family = self.families.get(inv.family.lstrip("/").lower())
        if family is None:
            known = ", ".join(f"/{n}" for n in sorted(self.families))
            return Reply(Message.text(f"Unknown command /{inv.family.lstrip('/')}. Known commands: {known}."))
        metrics.inc("meridian_commands_total", family=family.name)
        if not self.is_member(inv.workspace, inv.member):
            return Reply(not_a_member())
        try:
            return await dispatch(self, family, inv)
        except Exception:
            log.exception("command /%s failed", family.name)
            return Reply(Message.text("Something went wrong on our side; nothing was changed. Please try again."))

    async def message(self, msg: IncomingMessage) -> bool:
        """Offer a message to each capability in turn; ``True`` when one took it (never for a non-member)."""
        if not self.is_member(msg.workspace, msg.member):
            return False
        for hook in [*self.message_hooks, *self.last_message_hooks]:
            if await hook(self, msg):
                return True
        return False

    async def reaction(self, reaction: Reaction) -> bool:
        """Offer a reaction to each capability in turn; ``True`` when one took it."""
        for hook in self.reaction_hooks:
            if await hook(self, reaction):
                return True
        return False

    async def action(self, act: Action) -> Reply | None:
        if not self.is_member(act.workspace, act.member):
            return Reply(not_a_member())
        # The longest prefix wins, so ``standup.blocker.`` can be handled apart from ``standup.``.
        for prefix in sorted(self.action_handlers, key=len, reverse=True):
            if act.action_id.startswith(prefix):
                return await self.action_handlers[prefix](self, act)
        log.warning("no handler for action %s", act.action_id)
        return None


def not_a_member() -> Message:
    """The answer to anyone the team no longer holds (after ``forget-me``): clear, and nothing is kept."""
    return Message.text("You are not a member of this team any more: Meridian keeps nothing about you, "
                        "so there is nothing to show or change. An admin can add you back in the team file.")
