"""public_profiles and wallet_exchanges: opt-in learner profiles (/p/<handle>), one-time wallet exchanges

Revision ID: 0011_public_profiles
Revises: 0007_signing_keys (chained after helper A's, merged into this branch)
Create Date: 2026-12-02 06:15:00

"""
from alembic import op
import sqlalchemy as sa

import app.database


revision = '0011_public_profiles'
down_revision = '0007_signing_keys'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'public_profiles',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('handle', sa.String(length=30), nullable=False),
        sa.Column('enabled', sa.Boolean(), nullable=False),
        sa.Column('headline', sa.String(length=120), nullable=True),
        sa.Column('created_at', app.database.UTCDateTime(), nullable=False),
        sa.Column('updated_at', app.database.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_public_profiles_user_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_public_profiles')),
        sa.UniqueConstraint('handle', name=op.f('uq_public_profiles_handle')),
        sa.UniqueConstraint('user_id', name=op.f('uq_public_profiles_user_id')),
    )
    op.create_table(
        'wallet_exchanges',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('certificate_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('created_at', app.database.UTCDateTime(), nullable=False),
        sa.Column('expires_at', app.database.UTCDateTime(), nullable=False),
        sa.Column('used_at', app.database.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['certificate_id'], ['certificates.id'],
                                name=op.f('fk_wallet_exchanges_certificate_id_certificates'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_wallet_exchanges_user_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_wallet_exchanges')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_wallet_exchanges_token_hash')),
    )
    op.create_index('ix_wallet_exchanges_user_created', 'wallet_exchanges', ['user_id', 'created_at'],
                    unique=False)


def downgrade():
    op.drop_index('ix_wallet_exchanges_user_created', table_name='wallet_exchanges')
    op.drop_table('wallet_exchanges')
    op.drop_table('public_profiles')
