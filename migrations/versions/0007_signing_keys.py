"""signing_keys: the organisation's Ed25519 keys for Open Badges 3.0 credentials

Revision ID: 0007_signing_keys
Revises: 0006_email_texts
Create Date: 2026-12-02 06:15:00

"""
from alembic import op
import sqlalchemy as sa

import app.database


revision = '0007_signing_keys'
down_revision = '0006_email_texts'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'signing_keys',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('multikey', sa.String(length=64), nullable=False),
        sa.Column('private_key', sa.Text(), nullable=False),
        sa.Column('active_slot', sa.Integer(), nullable=True),
        sa.Column('created_at', app.database.UTCDateTime(), nullable=False),
        sa.Column('retired_at', app.database.UTCDateTime(), nullable=True),
        sa.CheckConstraint('active_slot IS NULL OR active_slot = 1',
                           name=op.f('ck_signing_keys_active_slot_is_one')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_signing_keys')),
        sa.UniqueConstraint('active_slot', name=op.f('uq_signing_keys_active_slot')),
        sa.UniqueConstraint('multikey', name=op.f('uq_signing_keys_multikey')),
    )


def downgrade():
    op.drop_table('signing_keys')
