"""Installations and OAuth states kept in our database, in the shapes slack_sdk asks for.

A workspace is a Slack team, or an enterprise for an org-wide install: the same id
names its installation, its members and every row of its data.
"""

from __future__ import annotations

import logging
import time
from logging import Logger

from slack_sdk.oauth.installation_store import Bot, Installation
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore

from storage.slack.models import SlackInstallationRow
from storage.slack.repo import SlackRepo

log = logging.getLogger("meridian.slack.install")

STATE_TTL_SECONDS = 600


def workspace_id(enterprise_id: str | None, team_id: str | None, is_enterprise_install: bool | None = False) -> str:
    """The one id every row of a Slack workspace's data is filed under."""
    if is_enterprise_install and enterprise_id:
        return enterprise_id
    return team_id or enterprise_id or ""


class DatabaseInstallationStore(AsyncInstallationStore):
    """Bot installations in the ``slack_installation`` table (the newest per workspace wins)."""

    def __init__(self, repo: SlackRepo) -> None:
        self.repo = repo

    @property
    def logger(self) -> Logger:
        return log

    async def async_save(self, installation: Installation) -> None:
        ws = workspace_id(installation.enterprise_id, installation.team_id, installation.is_enterprise_install)
        if not installation.bot_token:
            return
        self.repo.save_installation(SlackInstallationRow(
            workspace=ws, enterprise_id=installation.enterprise_id, team_id=installation.team_id,
            is_enterprise_install=bool(installation.is_enterprise_install), app_id=installation.app_id,
            bot_id=installation.bot_id, bot_user_id=installation.bot_user_id, bot_token=installation.bot_token,
            bot_scopes=",".join(installation.bot_scopes or []), installer_user_id=installation.user_id,
            team_name=installation.team_name, installed_at=float(installation.installed_at or time.time())))
        log.info("installed in Slack workspace %s", ws)

    async def async_save_bot(self, bot: Bot) -> None:
        ws = workspace_id(bot.enterprise_id, bot.team_id, bot.is_enterprise_install)
        self.repo.save_installation(SlackInstallationRow(
            workspace=ws, enterprise_id=bot.enterprise_id, team_id=bot.team_id,
            is_enterprise_install=bool(bot.is_enterprise_install), app_id=bot.app_id, bot_id=bot.bot_id,
            bot_user_id=bot.bot_user_id, bot_token=bot.bot_token, bot_scopes=",".join(bot.bot_scopes or []),
            installed_at=float(bot.installed_at or time.time())))

    def _row(self, enterprise_id: str | None, team_id: str | None,
             is_enterprise_install: bool | None) -> SlackInstallationRow | None:
        row = self.repo.find_installation(workspace_id(enterprise_id, team_id, is_enterprise_install))
        if row is None and enterprise_id:  # a team of an org-wide install
            row = self.repo.find_installation(enterprise_id)
            if row is not None and not row.is_enterprise_install:
                row = None
        return row

    async def async_find_bot(self, *, enterprise_id: str | None, team_id: str | None,
                             is_enterprise_install: bool | None = False) -> Bot | None:
        row = self._row(enterprise_id, team_id, is_enterprise_install)
        if row is None:
            return None
        return Bot(app_id=row.app_id, enterprise_id=row.enterprise_id, team_id=row.team_id,
                   bot_token=row.bot_token, bot_id=row.bot_id or "", bot_user_id=row.bot_user_id or "",
                   bot_scopes=row.bot_scopes, is_enterprise_install=row.is_enterprise_install,
                   installed_at=row.installed_at)

    async def async_find_installation(self, *, enterprise_id: str | None, team_id: str | None,
                                      user_id: str | None = None,
                                      is_enterprise_install: bool | None = False) -> Installation | None:
        row = self._row(enterprise_id, team_id, is_enterprise_install)
        if row is None:
            return None
        return Installation(app_id=row.app_id, enterprise_id=row.enterprise_id, team_id=row.team_id,
                            team_name=row.team_name, bot_token=row.bot_token, bot_id=row.bot_id,
                            bot_user_id=row.bot_user_id, bot_scopes=row.bot_scopes,
                            user_id=row.installer_user_id or "", is_enterprise_install=row.is_enterprise_install,
                            installed_at=row.installed_at)

    async def async_delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        self.repo.delete_installation(workspace_id(enterprise_id, team_id, enterprise_id is not None and not team_id))

    async def async_delete_installation(self, *, enterprise_id: str | None, team_id: str | None,
                                        user_id: str | None = None) -> None:
        if user_id is None:
            await self.async_delete_bot(enterprise_id=enterprise_id, team_id=team_id)

    async def bot_token(self, workspace: str) -> str | None:
        row = self.repo.find_installation(workspace)
        return row.bot_token if row else None


class DatabaseStateStore(AsyncOAuthStateStore):
    """One-time OAuth ``state`` values, valid for ten minutes, usable by any web process."""

    def __init__(self, repo: SlackRepo, ttl: float = STATE_TTL_SECONDS) -> None:
        self.repo = repo
        self.ttl = ttl

    @property
    def logger(self) -> Logger:
        return log

    async def async_issue(self, *args: object, **kwargs: object) -> str:
        return self.repo.issue_state(time.time(), self.ttl)

    async def async_consume(self, state: str) -> bool:
        return self.repo.consume_state(state, time.time())
