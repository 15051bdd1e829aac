"""user_sessions: server-side sessions (only a SHA-256 of each session's secret), listed and ended one by one

Revision ID: 0013_user_sessions
Revises: 0010_badges
Create Date: 2026-12-02 10:30:00

"""
from alembic import op
import sqlalchemy as sa

import app.database


revision = '0013_user_sessions'
down_revision = '0010_badges'
branch_labels = None
depends_on = None


def upgrade():
    # Sessions signed in before this migration carry "<id>:<session_version>" and no row: they end, and
    # people sign in once more.
    op.create_table(
        'user_sessions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('secret_hash', sa.String(length=64), nullable=False),
        sa.Column('created_at', app.database.UTCDateTime(), nullable=False),
        sa.Column('last_seen_at', app.database.UTCDateTime(), nullable=False),
        sa.Column('ip', sa.String(length=45), nullable=True),
        sa.Column('device', sa.String(length=60), nullable=False),
        sa.Column('method', sa.String(length=16), nullable=False),
        sa.Column('provider', sa.String(length=64), nullable=True),
        sa.Column('remember', sa.Boolean(), nullable=False),
        sa.Column('ended_at', app.database.UTCDateTime(), nullable=True),
        sa.Column('ended_reason', sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_user_sessions_user_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_user_sessions')),
    )
    with op.batch_alter_table('user_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_sessions_user_id'), ['user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_user_sessions_ended_at'), ['ended_at'], unique=False)


def downgrade():
    with op.batch_alter_table('user_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_sessions_ended_at'))
        batch_op.drop_index(batch_op.f('ix_user_sessions_user_id'))
    op.drop_table('user_sessions')
