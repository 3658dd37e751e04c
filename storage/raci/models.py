"""Tables for RACI: activities, their assignments, and the history of every change.

Names are unique per workspace by their normalised key (accents, case and punctuation
ignored), so "Feature Store" and "feature-store" cannot both exist even when two
processes race to create them. History rows keep the names as they were, so a
removed or renamed activity's past stays readable.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.db import UTCDateTime


class RaciActivityRow(SQLModel, table=True):
    __tablename__ = "raci_activity"
    __table_args__ = (UniqueConstraint("workspace", "key", name="uq_raci_activity_key"),)

    id: int | None = Field(default=None, primary_key=True)
    workspace: str = Field(max_length=200, index=True)
    name: str = Field(max_length=200)
    key: str = Field(max_length=400)
    aliases: str = Field(default="[]")
    """JSON list of aliases as written."""
    description: str = Field(default="")
    channel: str | None = Field(default=None, max_length=200)


class RaciAssignmentRow(SQLModel, table=True):
    __tablename__ = "raci_assignment"
    __table_args__ = (Index("ix_raci_assignment_member", "workspace", "member_id"),)

    id: int | None = Field(default=None, primary_key=True)
    activity_id: int = Field(foreign_key="raci_activity.id", index=True, ondelete="CASCADE")
    workspace: str = Field(max_length=200)
    member_id: str = Field(max_length=200)
    role: str = Field(max_length=1)
    position: int = 0
    """Order the people were given in, so lists read back as they were written."""


class RaciHistoryRow(SQLModel, table=True):
    __tablename__ = "raci_history"
    __table_args__ = (Index("ix_raci_history_activity", "workspace", "activity_key"),)

    id: int | None = Field(default=None, primary_key=True)
    workspace: str = Field(max_length=200, index=True)
    activity: str = Field(max_length=200)
    activity_key: str = Field(max_length=400)
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    actor: str = Field(max_length=300)
    action: str = Field(max_length=20)
    before: str = ""
    after: str = ""
    previous_key: str | None = Field(default=None, max_length=400, index=True)
    """For a rename, the normalised name before it."""
