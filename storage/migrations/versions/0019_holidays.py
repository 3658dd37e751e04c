"""holidays: a team's default holiday calendar and each member's own

``workspace.holidays`` holds the team file's top-level ``holidays:``; ``member.holidays``
the calendar a member follows (their own, else the team's when they were written).
Both are JSON (``HolidayCalendar.to_data``); NULL means no calendar.

Revision ID: 0019_holidays
Revises: 0016_worker_heartbeat
Create Date: 2026-11-27 22:40:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0019_holidays'
down_revision = '0016_worker_heartbeat'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('workspace', schema=None) as batch_op:
        batch_op.add_column(sa.Column('holidays', sa.JSON(), nullable=True))
    with op.batch_alter_table('member', schema=None) as batch_op:
        batch_op.add_column(sa.Column('holidays', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('member', schema=None) as batch_op:
        batch_op.drop_column('holidays')
    with op.batch_alter_table('workspace', schema=None) as batch_op:
        batch_op.drop_column('holidays')
