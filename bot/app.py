"""``Meridian``: the core's one object, holding its ports and what each capability registered.

Capabilities (stand-ups, RACI, retros, digests) are modules that register command
families, kinds of scheduled work and planners here; adapters call ``command``,
``message`` and ``action``; the scheduler calls ``run_due``. Nothing here knows a
platform, a database or an HTTP library.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot import metrics
from bot.commands import CommandFamily, Invocation, Reply, dispatch, usage_error
from bot.delivery import Outbox
from bot.domain import Member
from bot.messages import Message
from bot.ports import ChatPort, ClaimedItem, Clock, DueItem, Store
from bot.schedule import Engine

log = logging.getLogger("meridian")

DueHandler = Callable[["Meridian", ClaimedItem], Awaitable[None]]
Planner = Callable[["Meridian", datetime, datetime], list[DueItem]]
MessageHook = Callable[["Meridian", "IncomingMessage"], Awaitable[bool]]
ActionHandler = Callable[["Meridian", "Action"], Awaitable[Reply | None]]
ReactionHook = Callable[["Meridian", "Reaction"], Awaitable[bool]]


@dataclass(frozen=True)
class IncomingMessage:
    """A message a person wrote to the bot or in a thread the bot watches."""

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
    """The emoji itself (``👍``) or the platform's name for it (``+1``, ``thumbsup``)."""
    added: bool = True
    channel: str | None = None


@dataclass
class Settings:
    """Core behaviour knobs (not secrets; those live in ``bot.settings``)."""

    catch_up: timedelta = timedelta(hours=2)
    """Work due longer ago than this after downtime is recorded as missed, not sent."""
    plan_horizon: timedelta = timedelta(hours=48)
    lease: timedelta = timedelta(minutes=5)
    retention_days: int = 365


class Meridian:
    def __init__(self, store: Store, clock: Clock, chats: dict[str, ChatPort], settings: Settings | None = None,
                 worker_id: str = "worker") -> None:
        self.store = store
        self.clock = clock
        self.chats = chats
        self.settings = settings or Settings()
        self.worker_id = worker_id
        self.families: dict[str, CommandFamily] = {}
        self.due_handlers: dict[str, DueHandler] = {}
        self.planners: list[Planner] = []
        self.message_hooks: list[MessageHook] = []
        self.action_handlers: dict[str, ActionHandler] = {}
        self.reaction_hooks: list[ReactionHook] = []
        self.outbox = Outbox(self)
        self.engine = Engine(self)
        self._platforms: dict[str, str] = {}
        self.services: dict[str, Any] = {}
        """Capability services other capabilities may use (``raci``, ``sources``); absent when not wired."""

    # --- registration -------------------------------------------------------------
    def add_family(self, family: CommandFamily) -> None:
        self.families[family.name] = family

    def on_due(self, kind: str, handler: DueHandler) -> None:
        self.due_handlers[kind] = handler

    def add_planner(self, planner: Planner) -> None:
        self.planners.append(planner)

    def on_message(self, hook: MessageHook) -> None:
        self.message_hooks.append(hook)

    def on_action(self, prefix: str, handler: ActionHandler) -> None:
        """Handle actions whose id starts with ``prefix`` (``standup.``, ``retro.``)."""
        self.action_handlers[prefix] = handler

    def on_reaction(self, hook: ReactionHook) -> None:
        self.reaction_hooks.append(hook)

    # --- ports --------------------------------------------------------------------
    def now(self) -> datetime:
        return self.clock.now()

    def chat_for(self, workspace: str) -> ChatPort:
        """The chat port of the workspace's platform; a workspace never changes platform, so it is remembered."""
        platform = self._platforms.get(workspace)
        if platform is None:
            ws = self.store.get_workspace(workspace)
            platform = ws.platform if ws else "console"
            if ws is not None:
                self._platforms[workspace] = platform
        if platform in self.chats:
            return self.chats[platform]
        return next(iter(self.chats.values()))

    # --- entry points for adapters -------------------------------------------------
    async def command(self, inv: Invocation) -> Reply:
        family = self.families.get(inv.family.lstrip("/").lower())
        if family is None:
            known = ", ".join(f"/{n}" for n in sorted(self.families))
            return Reply(Message.text(f"Unknown command /{inv.family.lstrip('/')}. Known commands: {known}."))
        metrics.inc("meridian_commands_total", family=family.name)
        try:
            return await dispatch(self, family, inv)
        except Exception:
            log.exception("command /%s failed", family.name)
            return usage_error(family, "Something went wrong on our side; nothing was changed. Please try again.")

    async def message(self, msg: IncomingMessage) -> bool:
        """Offer a message to each capability in turn; ``True`` when one took it."""
        for hook in self.message_hooks:
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
        for prefix, handler in self.action_handlers.items():
            if act.action_id.startswith(prefix):
                return await handler(self, act)
        log.warning("no handler for action %s", act.action_id)
        return None
