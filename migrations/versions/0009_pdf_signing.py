"""pdf_signing: the organisation's PDF signing identities and the timestamp server setting

Revision ID: 0009_pdf_signing
Revises: 0008_status_list
Create Date: 2026-12-02 06:30:00

"""
from alembic import op
import sqlalchemy as sa

import app.database


revision = '0009_pdf_signing'
down_revision = '0008_status_list'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'pdf_signing_identities',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('current', sa.Boolean(), nullable=True),
        sa.Column('subject', sa.String(length=1000), nullable=False),
        sa.Column('issuer', sa.String(length=1000), nullable=False),
        sa.Column('common_name', sa.String(length=300), nullable=False),
        sa.Column('fingerprint', sa.String(length=100), nullable=False),
        sa.Column('not_before', app.database.UTCDateTime(), nullable=False),
        sa.Column('not_after', app.database.UTCDateTime(), nullable=False),
        sa.Column('certificate_pem', sa.Text(), nullable=False),
        sa.Column('chain_pem', sa.Text(), nullable=False),
        sa.Column('private_key', sa.Text(), nullable=False),
        sa.Column('created_at', app.database.UTCDateTime(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('replaced_at', app.database.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'],
                                name=op.f('fk_pdf_signing_identities_created_by_id_users'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_pdf_signing_identities')),
        sa.UniqueConstraint('current', name='uq_pdf_signing_identities_current'),
    )
    with op.batch_alter_table('pdf_signing_identities', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pdf_signing_identities_fingerprint'), ['fingerprint'], unique=False)
    op.create_table(
        'pdf_signing_settings',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('tsa_url', sa.String(length=500), nullable=False),
        sa.Column('updated_at', app.database.UTCDateTime(), nullable=False),
        sa.Column('updated_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'],
                                name=op.f('fk_pdf_signing_settings_updated_by_id_users'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_pdf_signing_settings')),
    )


def downgrade():
    op.drop_table('pdf_signing_settings')
    with op.batch_alter_table('pdf_signing_identities', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pdf_signing_identities_fingerprint'))
    op.drop_table('pdf_signing_identities')
