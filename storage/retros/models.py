"""SQLModel tables for retros: settings, occurrences, burden history, items, votes and action items.

Anonymity is a property of the schema, not of the code that reads it: an item has an
``author`` column that stays empty for anonymous items, and no other table (votes,
actions, occurrences) records who wrote an item. Votes are unique per voter and item,
so "one vote per person per item" holds however many workers or retries there are.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.db import UTCDateTime


def _instant(nullable: bool = True) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable))


class RetroRow(SQLModel, table=True):
    """A retro as the team file (or an admin) configured it; read whole, so its settings are JSON."""

    __tablename__ = "retro"
    workspace: str = Field(primary_key=True, max_length=64)
    name: str = Field(primary_key=True, max_length=128)
    channel: str
    config: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class RetroOccurrenceRow(SQLModel, table=True):
    """One occurrence: its chosen start (planned, or fixed once published) and its thread."""

    __tablename__ = "retro_occurrence"
    __table_args__ = (Index("ix_retro_occ_thread", "workspace", "thread_id"),)
    workspace: str = Field(primary_key=True, max_length=64)
    retro: str = Field(primary_key=True, max_length=128)
    day: date = Field(primary_key=True)
    start_at: datetime | None = _instant()
    end_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    opens_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    published: bool = False
    status: str = Field(default="planned", max_length=16)
    """planned | open | closed"""
    thread_id: str | None = Field(default=None, max_length=255)
    penalty: dict[str, float] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    night: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))


class RetroBurdenRow(SQLModel, table=True):
    """What a published occurrence cost one member (``meeting``), or where a newcomer started (``start``)."""

    __tablename__ = "retro_burden"
    workspace: str = Field(primary_key=True, max_length=64)
    retro: str = Field(primary_key=True, max_length=128)
    member: str = Field(primary_key=True, max_length=128)
    day: date = Field(primary_key=True)
    kind: str = Field(primary_key=True, max_length=16)
    penalty: float = 0.0
    early: bool = False
    late: bool = False
    night: bool = False


class RetroItemRow(SQLModel, table=True):
    """One item. ``author`` is empty for anonymous items: nothing else links a person to them."""

    __tablename__ = "retro_item"
    __table_args__ = (UniqueConstraint("workspace", "retro", "day", "number", name="uq_retro_item_number"),
                      Index("ix_retro_item_message", "workspace", "message_id"))
    id: int | None = Field(default=None, primary_key=True)
    workspace: str = Field(max_length=64)
    retro: str = Field(max_length=128)
    day: date
    number: int
    category: str = Field(max_length=16)
    text: str = Field(sa_column=Column(Text, nullable=False))
    author: str | None = Field(default=None, max_length=128)
    anonymous: bool = False
    message_id: str | None = Field(default=None, max_length=255)
    created_at: datetime | None = _instant()
    """Left empty for anonymous items, so a timestamp cannot be matched to a person's activity."""


class RetroVoteRow(SQLModel, table=True):
    __tablename__ = "retro_vote"
    __table_args__ = (Index("ix_retro_vote_voter", "workspace", "retro", "day", "voter"),)
    item_id: int = Field(primary_key=True)
    voter: str = Field(primary_key=True, max_length=128)
    workspace: str = Field(max_length=64)
    retro: str = Field(max_length=128)
    day: date


class RetroActionRow(SQLModel, table=True):
    __tablename__ = "retro_action"
    __table_args__ = (Index("ix_retro_action_status", "workspace", "status"),)
    id: int | None = Field(default=None, primary_key=True)
    workspace: str = Field(max_length=64)
    retro: str = Field(max_length=128)
    day: date
    owner: str = Field(max_length=128)
    text: str = Field(sa_column=Column(Text, nullable=False))
    due: date | None = None
    status: str = Field(default="open", max_length=16)
    """open | done"""
    created_by: str | None = Field(default=None, max_length=128)
    created_at: datetime | None = _instant()
