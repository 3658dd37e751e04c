"""slack: the request behind an early ack is kept until its work is done

``slack_event`` gains ``body`` (the request, JSON, while its work is owed; cleared when
done), ``taken_by`` (the worker running it) and ``attempts``, so that work acknowledged
to Slack and then cut short by a killed process is taken over, once, after a restart.

Revision ID: 0023_slack_owed_work
Revises: 0022_member_delegate
Create Date: 2026-11-27 23:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0023_slack_owed_work'
down_revision = '0022_member_delegate'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('slack_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('body', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('taken_by', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('attempts', sa.Integer(), nullable=False, server_default='0'))


def downgrade() -> None:
    with op.batch_alter_table('slack_event', schema=None) as batch_op:
        batch_op.drop_column('attempts')
        batch_op.drop_column('taken_by')
        batch_op.drop_column('body')
