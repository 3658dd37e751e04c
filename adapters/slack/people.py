"""Slack users as core members: found by their Slack account, created on first sight.

A member's zone comes from ``users.info`` (``tz``). It is refreshed on ``user_change``,
on first contact after a day, and by a daily sweep. A zone the person chose with
``/meridian tz`` (or one a team file set) is never overwritten: the zone Slack last
gave us is remembered, and a member's zone is only followed while it still equals it.
A person without a zone in Slack gets the workspace's default and one DM asking them
to set theirs (the outbox key makes it one). The same profile carries the person's status
(``status_emoji``, ``status_text``, ``status_expiration``): the core decides whether it means
out of office (``bot.kernel.status``), so it follows the same refreshes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from adapters.slack.translate import emoji_of
from bot.kernel.app import Meridian
from bot.kernel.domain import Member, Workspace
from bot.kernel.messages import Code, Message
from bot.kernel.people import former_member, save_and_replan, was_forgotten
from bot.kernel.ports import ChatStatus, ClaimedItem, DueItem, Profile
from bot.kernel.status import follow_status
from bot.kernel.timekeeping import iso_z

log = logging.getLogger("meridian.slack.people")

PLATFORM = "slack"
PROFILE_MAX_AGE = timedelta(days=1)
SWEEP_KIND = "slack.refresh_profiles"


def _zone_key(user_id: str) -> str:
    return f"slack.tz:{user_id}"


def _fetched_key(user_id: str) -> str:
    return f"slack.profile_at:{user_id}"


class ProfileSource(Protocol):
    """What ``People`` needs of the Slack chat port: profiles, and the event-id sweep run beside its own."""

    housekeeping: Callable[[], object] | None

    async def profile(self, member: Member) -> Profile | None: ...


STATUS_FIELDS = ("status_emoji", "status_text", "status_expiration")


def status_from_profile(profile: dict[str, Any]) -> ChatStatus | None:
    """Slack's ``profile.status_emoji``, ``status_text`` and ``status_expiration`` (Unix seconds, 0 = never) as
    a neutral status; ``None`` when the payload carries no status fields at all (nothing is known)."""
    if not any(key in profile for key in STATUS_FIELDS):
        return None
    emoji = str(profile.get("status_emoji") or "").strip()
    try:
        seconds = int(profile.get("status_expiration") or 0)
    except (TypeError, ValueError):
        seconds = 0
    expires = datetime.fromtimestamp(seconds, UTC) if seconds > 0 else None
    return ChatStatus(emoji=emoji, text=str(profile.get("status_text") or ""), expires=expires,
                      shown=emoji_of(emoji) if emoji else "", platform=PLATFORM)


def profile_from_user(user: dict[str, Any]) -> Profile:
    """A ``users.info`` user as a neutral profile; ``tz`` stays ``None`` when Slack has none."""
    profile = user.get("profile") or {}
    name = profile.get("display_name") or profile.get("real_name") or user.get("real_name") or user.get("name") or ""
    return Profile(account_id=str(user.get("id", "")), name=str(name), tz=user.get("tz") or None,
                   email=profile.get("email"), is_admin=bool(user.get("is_admin") or user.get("is_owner")),
                   status=status_from_profile(profile) if isinstance(profile, dict) else None)


class People:
    def __init__(self, app: Meridian, chat: ProfileSource) -> None:
        self.app = app
        self.chat = chat
        self._workspaces: set[str] = set()

    def ensure_workspace(self, workspace: str, name: str = "") -> None:
        """Make sure the workspace row exists (and says Slack) before anything is filed under it."""
        if workspace in self._workspaces:
            return
        current = self.app.store.get_workspace(workspace)
        if current is None or current.platform != PLATFORM:
            tz = current.tz if current else "UTC"
            self.app.store.upsert_workspace(Workspace(workspace, platform=PLATFORM, name=name or workspace, tz=tz))
        self._workspaces.add(workspace)

    async def member(self, workspace: str, user_id: str) -> Member:
        """The member behind a Slack user, created or refreshed from ``users.info`` when needed."""
        member = await self.app.store.off_loop(self.app.store.find_member_by_account, workspace, PLATFORM, user_id)
        if member is not None and not self._stale(workspace, user_id):
            return member
        if member is None and was_forgotten(self.app, workspace, PLATFORM, user_id):
            return former_member(workspace, user_id)
        probe = member or Member(workspace, user_id, user_id, accounts={PLATFORM: user_id})
        profile = await self.chat.profile(probe)
        if profile is None:
            if member is not None:
                return member
            profile = Profile(account_id=user_id, name=user_id, tz=None)
        return await self.apply(workspace, user_id, profile)

    async def apply_user(self, workspace: str, user: dict[str, object]) -> Member | None:
        """A ``user_change`` event carries the whole user: apply it without calling Slack."""
        user_id = str(user.get("id", ""))
        if not user_id or user.get("is_bot") or user.get("deleted"):
            return None
        known = self.app.store.find_member_by_account(workspace, PLATFORM, user_id)
        if known is None and was_forgotten(self.app, workspace, PLATFORM, user_id):
            return None  # someone who used forget-me: a profile change does not make them a member again
        return await self.apply(workspace, user_id, profile_from_user(dict(user)))

    async def apply(self, workspace: str, user_id: str, profile: Profile) -> Member:
        store = self.app.store
        ws = store.get_workspace(workspace)
        default_zone = ws.tz if ws else "UTC"
        followed = store.kv_get(workspace, _zone_key(user_id))
        member = store.find_member_by_account(workspace, PLATFORM, user_id)
        zone = profile.tz or default_zone
        if member is None:
            member = Member(workspace, user_id, profile.name or user_id, tz=zone, accounts={PLATFORM: user_id},
                            is_admin=profile.is_admin)
            store.upsert_member(member)
            store.kv_set(workspace, _zone_key(user_id), zone)
        else:
            changed = member
            if followed is not None and member.tz == followed and member.tz != zone:
                changed = replace(changed, tz=zone)
                store.kv_set(workspace, _zone_key(user_id), zone)
            if profile.name and followed is not None and profile.name != member.name:
                changed = replace(changed, name=profile.name)
            if changed is not member:
                if changed.tz != member.tz:
                    save_and_replan(self.app, changed)  # pending reminders move to the new local times
                else:
                    store.upsert_member(changed)
                member = changed
        store.kv_set(workspace, _fetched_key(user_id), iso_z(self.app.now()))
        member = await follow_status(self.app, member, profile.status)  # a vacation status: out of office
        if profile.tz is None and member.tz == default_zone:
            await self._ask_for_zone(member, default_zone)
        return member

    def _stale(self, workspace: str, user_id: str) -> bool:
        raw = self.app.store.kv_get(workspace, _fetched_key(user_id))
        if not raw:
            return True
        try:
            fetched = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
        except ValueError:
            return True
        return self.app.now() - fetched >= PROFILE_MAX_AGE

    async def _ask_for_zone(self, member: Member, default_zone: str) -> None:
        message = Message.text(
            "Your Slack profile has no time zone, so I am using ", Code(default_zone),
            " for your stand-up reminders. Set yours in your Slack profile, or type ",
            Code("/meridian tz Europe/Berlin"), " with your own zone.")
        await self.app.outbox.dm(f"slack.ask-tz:{member.workspace}:{member.id}", member.workspace, member.id, message)

    # --- the daily sweep ---------------------------------------------------------------
    def register(self) -> None:
        self.app.on_due(SWEEP_KIND, self._on_sweep)
        self.app.add_planner(self.plan_sweeps)

    async def _on_sweep(self, app: Meridian, item: ClaimedItem) -> None:
        await self.sweep(item.workspace)
        if self.chat.housekeeping is not None:
            self.chat.housekeeping()

    def plan_sweeps(self, app: Meridian, start: datetime, end: datetime) -> list[DueItem]:
        """One sweep per Slack workspace per UTC day, at 03:00 UTC."""
        items: list[DueItem] = []
        day = start.replace(hour=3, minute=0, second=0, microsecond=0)
        if day < start:
            day += timedelta(days=1)
        workspaces = [w.id for w in app.store.list_workspaces() if w.platform == PLATFORM]
        while day < end:
            items.extend(DueItem(f"{SWEEP_KIND}:{ws}:{day.date().isoformat()}", SWEEP_KIND, ws, day, {})
                         for ws in workspaces)
            day += timedelta(days=1)
        return items

    async def sweep(self, workspace: str) -> int:
        refreshed = 0
        for member in self.app.store.list_members(workspace):
            user_id = member.accounts.get(PLATFORM)
            if not user_id:
                continue
            profile = await self.chat.profile(member)
            if profile is not None:
                await self.apply(workspace, user_id, profile)
                refreshed += 1
        return refreshed
