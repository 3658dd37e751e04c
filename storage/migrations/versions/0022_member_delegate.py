"""members: delegate

Who takes a member's routed work (pings, escalations) while they are away: another member's id,
or nothing.

Revision ID: 0022_member_delegate
Revises: 0021_member_status
Create Date: 2026-11-27 23:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0022_member_delegate'
down_revision = '0021_member_status'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('member', schema=None) as batch_op:
        batch_op.add_column(sa.Column('delegate', sa.String(length=128), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('member', schema=None) as batch_op:
        batch_op.drop_column('delegate')
