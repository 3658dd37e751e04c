"""members: quiet hours

Each member's night (``quiet``, default 22:00-06:00 in their zone): no DM Meridian starts by
itself lands in it.

Revision ID: 0020_member_quiet
Revises: 0019_holidays
Create Date: 2026-11-27 22:50:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0020_member_quiet'
down_revision = '0019_holidays'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('member', schema=None) as batch_op:
        batch_op.add_column(sa.Column('quiet_start', sa.String(), nullable=False, server_default='22:00'))
        batch_op.add_column(sa.Column('quiet_end', sa.String(), nullable=False, server_default='06:00'))


def downgrade() -> None:
    with op.batch_alter_table('member', schema=None) as batch_op:
        batch_op.drop_column('quiet_end')
        batch_op.drop_column('quiet_start')
