"""Tables the Teams adapter keeps: where it may speak, and who a member is on Teams.

Teams lets a bot speak first only into a conversation it has a reference for (its
service URL, conversation id and the bot's own id), so every reference the bot sees is
kept here, per tenant, and outlives a restart. A channel also gets a short label
(``#ml-team``) that people and team files use instead of the ``19:…`` id.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, Text
from sqlmodel import Field, SQLModel

from storage.db import UTCDateTime


class TeamsConversationRow(SQLModel, table=True):
    __tablename__ = "teams_conversation"
    __table_args__ = (Index("ix_teams_conversation_label", "tenant", "label"),
                      Index("ix_teams_conversation_member", "tenant", "member_id"))

    tenant: str = Field(primary_key=True, max_length=64)
    conversation_id: str = Field(primary_key=True, max_length=512)
    """The base id: a channel's ``19:…@thread.tacv2`` without ``;messageid=``, or a 1:1 chat's ``a:…``."""
    kind: str = Field(max_length=16)
    """personal | channel | groupChat"""
    label: str | None = Field(default=None, max_length=200)
    """``#name`` for a channel."""
    member_id: str | None = Field(default=None, max_length=128)
    """For a 1:1 chat: the member it is with."""
    service_url: str = Field(max_length=500)
    reference: str = Field(sa_column=Column(Text, nullable=False))
    """``ConversationReference.serialize()`` as JSON."""
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class TeamsUserRow(SQLModel, table=True):
    """A member's Teams identity: the ``29:…`` id the connector addresses, and the Entra object id."""

    __tablename__ = "teams_user"

    tenant: str = Field(primary_key=True, max_length=64)
    member_id: str = Field(primary_key=True, max_length=128)
    user_id: str = Field(max_length=255)
    aad_object_id: str | None = Field(default=None, max_length=64)
    name: str = Field(default="", max_length=300)
