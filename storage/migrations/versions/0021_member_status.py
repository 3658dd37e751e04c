"""members: out of office from a chat status

``status_away``: the absence a person's chat status says (Slack's vacation or sick status and
its expiry), written only when the platform reports it. ``status_ooo``: whether such a status
counts for this person (``/meridian status-ooo off`` or ``status_ooo: false`` in the team file).

Revision ID: 0021_member_status
Revises: 0020_member_quiet
Create Date: 2026-11-27 23:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0021_member_status'
down_revision = '0020_member_quiet'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('member', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status_away', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('status_ooo', sa.Boolean(), nullable=False, server_default=sa.true()))


def downgrade() -> None:
    with op.batch_alter_table('member', schema=None) as batch_op:
        batch_op.drop_column('status_ooo')
        batch_op.drop_column('status_away')
