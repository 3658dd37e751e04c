"""retro_action: who recorded an action item

Closing an action item (``/retro done``) is for its owner, whoever recorded it, or an admin,
so the recorder is kept. Rows from before have none: their owner or an admin closes them.

Revision ID: 0010_retro_action_creator
Revises: 0006_outbox_sending
Create Date: 2026-11-27 19:40:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0010_retro_action_creator'
down_revision = '0006_outbox_sending'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('retro_action', schema=None) as batch_op:
        batch_op.add_column(sa.Column('created_by', sa.String(length=128), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('retro_action', schema=None) as batch_op:
        batch_op.drop_column('created_by')
