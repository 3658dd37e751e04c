"""RACI: activities, their assignments, and the history of every change

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 16:50:21.409739
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.db

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('raci_activity',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('workspace', sa.String(length=200), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('key', sa.String(length=400), nullable=False),
    sa.Column('aliases', sa.String(), nullable=False),
    sa.Column('description', sa.String(), nullable=False),
    sa.Column('channel', sa.String(length=200), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('workspace', 'key', name='uq_raci_activity_key')
    )
    with op.batch_alter_table('raci_activity', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_raci_activity_workspace'), ['workspace'], unique=False)

    op.create_table('raci_history',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('workspace', sa.String(length=200), nullable=False),
    sa.Column('activity', sa.String(length=200), nullable=False),
    sa.Column('activity_key', sa.String(length=400), nullable=False),
    sa.Column('at', storage.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=300), nullable=False),
    sa.Column('action', sa.String(length=20), nullable=False),
    sa.Column('before', sa.String(), nullable=False),
    sa.Column('after', sa.String(), nullable=False),
    sa.Column('previous_key', sa.String(length=400), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('raci_history', schema=None) as batch_op:
        batch_op.create_index('ix_raci_history_activity', ['workspace', 'activity_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_raci_history_previous_key'), ['previous_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_raci_history_workspace'), ['workspace'], unique=False)

    op.create_table('raci_assignment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('activity_id', sa.Integer(), nullable=False),
    sa.Column('workspace', sa.String(length=200), nullable=False),
    sa.Column('member_id', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=1), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['activity_id'], ['raci_activity.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('raci_assignment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_raci_assignment_activity_id'), ['activity_id'], unique=False)
        batch_op.create_index('ix_raci_assignment_member', ['workspace', 'member_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('raci_assignment', schema=None) as batch_op:
        batch_op.drop_index('ix_raci_assignment_member')
        batch_op.drop_index(batch_op.f('ix_raci_assignment_activity_id'))

    op.drop_table('raci_assignment')
    with op.batch_alter_table('raci_history', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_raci_history_workspace'))
        batch_op.drop_index(batch_op.f('ix_raci_history_previous_key'))
        batch_op.drop_index('ix_raci_history_activity')

    op.drop_table('raci_history')
    with op.batch_alter_table('raci_activity', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_raci_activity_workspace'))

    op.drop_table('raci_activity')
