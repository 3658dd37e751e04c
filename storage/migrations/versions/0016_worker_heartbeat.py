"""workers: a heartbeat per worker, and who makes each outbox attempt

A worker records its latest heartbeat in ``worker_beat``; the work a silent worker
claimed (due items, and outbox entries it was sending, ``outbox.attempt_by``) is taken
over by another worker without waiting for the whole lease.

Revision ID: 0016_worker_heartbeat
Revises: 0010_retro_action_creator
Create Date: 2026-11-27 20:50:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.db

revision = '0016_worker_heartbeat'
down_revision = '0010_retro_action_creator'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('worker_beat',
    sa.Column('worker', sa.String(length=255), nullable=False),
    sa.Column('beat_at', storage.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('worker')
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attempt_by', sa.String(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_column('attempt_by')
    op.drop_table('worker_beat')
