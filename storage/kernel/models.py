"""SQLModel tables for the shared core: workspaces, people, stand-ups, scheduled work, outbox.

Every row carries its workspace so that nothing crosses tenants. Lists and maps that
are only ever read whole (questions, answers, accounts) are JSON columns; what is
queried (due times, statuses, accounts) gets a column and an index of its own.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.db import UTCDateTime


def _instant(nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


class WorkspaceRow(SQLModel, table=True):
    __tablename__ = "workspace"
    id: str = Field(primary_key=True, max_length=64)
    platform: str = Field(default="console", max_length=16)
    name: str = ""
    tz: str = "UTC"
    holidays: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    """The team's default holiday calendar (``HolidayCalendar.to_data``): what a member without their own gets."""


class MemberRow(SQLModel, table=True):
    __tablename__ = "member"
    workspace: str = Field(primary_key=True, max_length=64)
    id: str = Field(primary_key=True, max_length=128)
    name: str
    tz: str = "UTC"
    hours_start: str = "09:00"
    hours_end: str = "17:00"
    quiet_start: str = "22:00"
    quiet_end: str = "06:00"
    workdays: str = "mon,tue,wed,thu,fri"
    ooo: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    holidays: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    accounts: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    is_admin: bool = False
    owner_of: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    status_away: list[dict[str, Any]] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    """The absences the person's chat status said (``StatusAway``s); written only by ``set_member_status``."""
    status_ooo: bool = True
    delegate: str | None = Field(default=None, max_length=128)


class MemberAccountRow(SQLModel, table=True):
    """Reverse index from a platform identity to a member, so adapters find people in one lookup."""

    __tablename__ = "member_account"
    workspace: str = Field(primary_key=True, max_length=64)
    platform: str = Field(primary_key=True, max_length=32)
    account_id: str = Field(primary_key=True, max_length=255)
    member_id: str = Field(max_length=128)


class StandupRow(SQLModel, table=True):
    __tablename__ = "standup"
    workspace: str = Field(primary_key=True, max_length=64)
    name: str = Field(primary_key=True, max_length=128)
    channel: str
    remind_at: str = "09:30"
    days: str = "mon,tue,wed,thu,fri"
    members: list[str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    questions: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    nudge_after_min: int = 120
    cutoff: str | None = None
    tz: str = "UTC"
    paused: bool = False
    mention_missing: bool = False
    escalate_after: int = 2


class StandupRunRow(SQLModel, table=True):
    __tablename__ = "standup_run"
    __table_args__ = (UniqueConstraint("workspace", "standup", "member", "day", name="uq_run"),
                      Index("ix_run_day", "workspace", "standup", "day"))
    id: int | None = Field(default=None, primary_key=True)
    workspace: str = Field(max_length=64)
    standup: str = Field(max_length=128)
    member: str = Field(max_length=128)
    day: date
    status: str = "pending"
    answers: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    answered_at: datetime | None = _instant()
    reminded_at: datetime | None = _instant()


class DueWorkRow(SQLModel, table=True):
    """Scheduled work. Claimed with a compare-and-set so any number of workers share it safely."""

    __tablename__ = "due_work"
    __table_args__ = (Index("ix_due_pending", "status", "due_at"),)
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=255, unique=True)
    kind: str = Field(max_length=32)
    workspace: str = Field(max_length=64)
    due_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: str = Field(default="pending", max_length=16)
    """pending | claimed | done | missed | failed | cancelled"""
    claimed_by: str | None = None
    claimed_until: datetime | None = _instant()
    attempts: int = 0
    note: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))


class OutboxRow(SQLModel, table=True):
    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_retry", "status", "next_attempt_at"),)
    key: str = Field(primary_key=True, max_length=255)
    workspace: str = Field(max_length=64)
    kind: str = Field(max_length=16)
    target: str = Field(max_length=255)
    thread_key: str | None = Field(default=None, max_length=255)
    payload: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(default="pending", max_length=16)
    """pending | sending | sent | failed | dead"""
    attempts: int = 0
    next_attempt_at: datetime | None = _instant()
    attempt_at: datetime | None = _instant()
    """When the latest attempt started (committed before the platform is called)."""
    attempt_by: str | None = None
    """The worker making the latest attempt: once its heartbeat stops, another may take the entry over."""
    channel: str | None = None
    message_id: str | None = None
    created_at: datetime | None = _instant()
    sent_at: datetime | None = _instant()
    last_error: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))


class WorkerBeatRow(SQLModel, table=True):
    """Each worker's latest heartbeat. A worker silent for longer than a few beats is presumed dead, so
    the work it claimed is taken over at once instead of after its whole lease."""

    __tablename__ = "worker_beat"
    worker: str = Field(primary_key=True, max_length=255)
    beat_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class KeyValueRow(SQLModel, table=True):
    """Small state: a conversation in progress, a digest watermark, a cached profile."""

    __tablename__ = "kv"
    workspace: str = Field(primary_key=True, max_length=64)
    key: str = Field(primary_key=True, max_length=255)
    value: Any = Field(default=None, sa_column=Column(JSON, nullable=True))
