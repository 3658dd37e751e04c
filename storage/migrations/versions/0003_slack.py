"""slack installations, oauth states, events seen

Revision ID: 0003_slack
Revises: 0002
Create Date: 2026-11-26 16:45:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_slack"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "slack_installation",
        sa.Column("workspace", sa.String(length=64), nullable=False),
        sa.Column("enterprise_id", sa.String(length=64), nullable=True),
        sa.Column("team_id", sa.String(length=64), nullable=True),
        sa.Column("is_enterprise_install", sa.Boolean(), nullable=False),
        sa.Column("app_id", sa.String(length=64), nullable=True),
        sa.Column("bot_id", sa.String(length=64), nullable=True),
        sa.Column("bot_user_id", sa.String(length=64), nullable=True),
        sa.Column("bot_token", sa.Text(), nullable=False),
        sa.Column("bot_scopes", sa.String(), nullable=False),
        sa.Column("installer_user_id", sa.String(length=64), nullable=True),
        sa.Column("team_name", sa.String(), nullable=True),
        sa.Column("installed_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("workspace"),
    )
    op.create_table(
        "slack_oauth_state",
        sa.Column("state", sa.String(length=128), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("state"),
    )
    op.create_table(
        "slack_event",
        sa.Column("event_id", sa.String(length=128), nullable=False),
        sa.Column("workspace", sa.String(length=64), nullable=False),
        sa.Column("received_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("event_id"),
    )
    op.create_index("ix_slack_event_workspace", "slack_event", ["workspace"], unique=False)
    op.create_index("ix_slack_event_received_at", "slack_event", ["received_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_slack_event_received_at", table_name="slack_event")
    op.drop_index("ix_slack_event_workspace", table_name="slack_event")
    op.drop_table("slack_event")
    op.drop_table("slack_oauth_state")
    op.drop_table("slack_installation")
