"""Tables the Slack adapter needs of its own: installations, OAuth states, events seen.

Each row belongs to one workspace (a Slack team id, or an enterprise id for an
org-wide install). Times here are bookkeeping for expiry only, kept as Unix seconds
so that every database compares them the same way.
"""

from __future__ import annotations

from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel


class SlackInstallationRow(SQLModel, table=True):
    """The bot side of one OAuth installation; the token is stored, never logged."""

    __tablename__ = "slack_installation"
    workspace: str = Field(primary_key=True, max_length=64)
    enterprise_id: str | None = Field(default=None, max_length=64)
    team_id: str | None = Field(default=None, max_length=64)
    is_enterprise_install: bool = False
    app_id: str | None = Field(default=None, max_length=64)
    bot_id: str | None = Field(default=None, max_length=64)
    bot_user_id: str | None = Field(default=None, max_length=64)
    bot_token: str = Field(sa_column=Column(Text, nullable=False))
    bot_scopes: str = ""
    installer_user_id: str | None = Field(default=None, max_length=64)
    team_name: str | None = None
    installed_at: float = 0.0


class SlackOAuthStateRow(SQLModel, table=True):
    """A one-time ``state`` for the install flow, shared by every web process."""

    __tablename__ = "slack_oauth_state"
    state: str = Field(primary_key=True, max_length=128)
    expires_at: float


class SlackEventRow(SQLModel, table=True):
    """An ``event_id`` (or a command's or click's ``trigger_id``) already seen, so Slack's retries, a replay
    and a second web process skip it; and, while the work behind its ack is owed, the request itself.

    ``body`` holds the request (JSON) from the moment it is recorded until its work finished, and is
    cleared then: a process killed in between leaves it set, and another process (or the same one,
    restarted) takes it over once ``taken_by``'s heartbeat stopped (see ``SlackRepo.take_owed``).
    """

    __tablename__ = "slack_event"
    event_id: str = Field(primary_key=True, max_length=128)
    workspace: str = Field(max_length=64, index=True)
    received_at: float = Field(index=True)
    body: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    taken_by: str | None = Field(default=None, max_length=255)
    """The worker (``Meridian.worker_id``) running the owed work."""
    attempts: int = 0
