"""Teams: conversation references and Teams identities

Revision ID: 0005_teams
Revises: 0004_retros
Create Date: 2026-11-26 17:13:52.893523
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.db

revision = '0005_teams'
down_revision = '0004_retros'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('teams_conversation',
    sa.Column('tenant', sa.String(length=64), nullable=False),
    sa.Column('conversation_id', sa.String(length=512), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('label', sa.String(length=200), nullable=True),
    sa.Column('member_id', sa.String(length=128), nullable=True),
    sa.Column('service_url', sa.String(length=500), nullable=False),
    sa.Column('reference', sa.Text(), nullable=False),
    sa.Column('updated_at', storage.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('tenant', 'conversation_id')
    )
    with op.batch_alter_table('teams_conversation', schema=None) as batch_op:
        batch_op.create_index('ix_teams_conversation_label', ['tenant', 'label'], unique=False)
        batch_op.create_index('ix_teams_conversation_member', ['tenant', 'member_id'], unique=False)

    op.create_table('teams_user',
    sa.Column('tenant', sa.String(length=64), nullable=False),
    sa.Column('member_id', sa.String(length=128), nullable=False),
    sa.Column('user_id', sa.String(length=255), nullable=False),
    sa.Column('aad_object_id', sa.String(length=64), nullable=True),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.PrimaryKeyConstraint('tenant', 'member_id')
    )


def downgrade() -> None:
    op.drop_table('teams_user')
    with op.batch_alter_table('teams_conversation', schema=None) as batch_op:
        batch_op.drop_index('ix_teams_conversation_member')
        batch_op.drop_index('ix_teams_conversation_label')

    op.drop_table('teams_conversation')
