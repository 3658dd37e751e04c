"""outbox: record each attempt before the platform is called

An entry is marked ``sending`` with ``attempt_at`` before a send, so one found in that
state after a crash is known to be "maybe sent" and is confirmed before any re-send.

Revision ID: 0006_outbox_sending
Revises: 0005_teams
Create Date: 2026-11-26 18:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.db

revision = '0006_outbox_sending'
down_revision = '0005_teams'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attempt_at', storage.db.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    # older code knows no "sending": hand such entries back to its pending retry
    op.execute("UPDATE outbox SET status = 'pending' WHERE status = 'sending'")
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_column('attempt_at')
