"""standup: how many working days a blocker may stay open before it is escalated

``standup`` gains ``escalate_after`` (working days; 0 for never), the team file's
``escalate_after`` key. Existing stand-ups get the default, 2.

Revision ID: 0024_standup_escalate_after
Revises: 0023_slack_owed_work
Create Date: 2026-11-28 01:50:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0024_standup_escalate_after'
down_revision = '0023_slack_owed_work'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('standup', schema=None) as batch_op:
        batch_op.add_column(sa.Column('escalate_after', sa.Integer(), nullable=False, server_default='2'))


def downgrade() -> None:
    with op.batch_alter_table('standup', schema=None) as batch_op:
        batch_op.drop_column('escalate_after')
