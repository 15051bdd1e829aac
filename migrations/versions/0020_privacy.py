"""data_exports, erasures, privacy_settings: the learner's data rights (issue 15 item 6)

Revision ID: 0020_privacy
Revises: 0019_reissue
Create Date: 2026-12-02 13:40:00

"""
from alembic import op
import sqlalchemy as sa

import app.database


revision = '0020_privacy'
# The lead re-chains the migrations of issue 15 at merge.
down_revision = '0019_reissue'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'data_exports',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('token', sa.String(length=64), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('requested_by_id', sa.Integer(), nullable=True),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('storage_key', sa.String(length=200), nullable=True),
        sa.Column('size', sa.Integer(), nullable=True),
        sa.Column('error', sa.Text(), nullable=True),
        sa.Column('created_at', app.database.UTCDateTime(), nullable=False),
        sa.Column('started_at', app.database.UTCDateTime(), nullable=True),
        sa.Column('ready_at', app.database.UTCDateTime(), nullable=True),
        sa.Column('expires_at', app.database.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_data_exports_user_id_users'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'],
                                name=op.f('fk_data_exports_requested_by_id_users'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_data_exports')),
        sa.UniqueConstraint('token', name=op.f('uq_data_exports_token')),
    )
    op.create_index('ix_data_exports_status', 'data_exports', ['status'])
    op.create_index(op.f('ix_data_exports_user_id'), 'data_exports', ['user_id'])
    op.create_table(
        'erasures',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('pseudonym', sa.String(length=40), nullable=False),
        sa.Column('certificate_policy', sa.String(length=16), nullable=False),
        sa.Column('erased_at', app.database.UTCDateTime(), nullable=False),
        sa.Column('erased_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_erasures_user_id_users'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['erased_by_id'], ['users.id'], name=op.f('fk_erasures_erased_by_id_users'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_erasures')),
        sa.UniqueConstraint('user_id', name=op.f('uq_erasures_user_id')),
        sa.UniqueConstraint('pseudonym', name=op.f('uq_erasures_pseudonym')),
    )
    op.create_table(
        'privacy_settings',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('erased_certificates', sa.String(length=16), nullable=False),
        sa.Column('retention_enabled', sa.Boolean(), nullable=False),
        sa.Column('mail_body_days', sa.Integer(), nullable=False),
        sa.Column('audit_years', sa.Integer(), nullable=False),
        sa.Column('expired_pdf_years', sa.Integer(), nullable=False),
        sa.Column('export_days', sa.Integer(), nullable=False),
        sa.Column('updated_at', app.database.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_privacy_settings')),
    )


def downgrade():
    op.drop_table('privacy_settings')
    op.drop_table('erasures')
    op.drop_index(op.f('ix_data_exports_user_id'), table_name='data_exports')
    op.drop_index('ix_data_exports_status', table_name='data_exports')
    op.drop_table('data_exports')
