"""certificate_versions and correction_requests (corrections and reissue); certificates.version, reissues,
expiry_set_at, reenrolled_at; certifications.auto_reenrol (recertification)

Revision ID: 0019_reissue
Revises: 0018_requirements
Create Date: 2026-12-02 13:45:00

"""
from alembic import op
import sqlalchemy as sa

import app.database


revision = '0019_reissue'
# Helpers G..M each start from 0017_scim; the lead re-chains them at merge.
down_revision = '0018_requirements'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version', sa.Integer(), nullable=False, server_default='1'))
        batch_op.add_column(sa.Column('reissues', sa.JSON(), nullable=False, server_default='[]'))
        batch_op.add_column(sa.Column('expiry_set_at', app.database.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('reenrolled_at', app.database.UTCDateTime(), nullable=True))
    with op.batch_alter_table('certifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('auto_reenrol', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    op.create_table(
        'certificate_versions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('certificate_id', sa.Integer(), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('changes', sa.JSON(), nullable=False),
        sa.Column('summary', sa.String(length=200), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('actor_id', sa.Integer(), nullable=True),
        sa.Column('actor_label', sa.String(length=320), nullable=False),
        sa.Column('created_at', app.database.UTCDateTime(), nullable=False),
        sa.Column('previous_snapshot', sa.JSON(), nullable=False),
        sa.Column('previous_pdf_key', sa.String(length=200), nullable=True),
        sa.Column('previous_pdf_version', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_certificate_versions_actor_id_users'),
                                ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['certificate_id'], ['certificates.id'],
                                name=op.f('fk_certificate_versions_certificate_id_certificates'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_certificate_versions')),
        sa.UniqueConstraint('certificate_id', 'version', name='uq_certificate_versions_cert_version'),
    )
    op.create_table(
        'correction_requests',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('certificate_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('requested', sa.JSON(), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('created_at', app.database.UTCDateTime(), nullable=False),
        sa.Column('decided_at', app.database.UTCDateTime(), nullable=True),
        sa.Column('decided_by_id', sa.Integer(), nullable=True),
        sa.Column('decision_note', sa.Text(), nullable=True),
        sa.Column('version_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['certificate_id'], ['certificates.id'],
                                name=op.f('fk_correction_requests_certificate_id_certificates'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'],
                                name=op.f('fk_correction_requests_decided_by_id_users'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_correction_requests_user_id_users'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['version_id'], ['certificate_versions.id'],
                                name=op.f('fk_correction_requests_version_id_certificate_versions'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_correction_requests')),
    )
    op.create_index('ix_correction_requests_status_created', 'correction_requests', ['status', 'created_at'])
    op.create_index('ix_correction_requests_certificate', 'correction_requests', ['certificate_id'])


def downgrade():
    op.drop_index('ix_correction_requests_certificate', table_name='correction_requests')
    op.drop_index('ix_correction_requests_status_created', table_name='correction_requests')
    op.drop_table('correction_requests')
    op.drop_table('certificate_versions')
    with op.batch_alter_table('certifications', schema=None) as batch_op:
        batch_op.drop_column('auto_reenrol')
    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.drop_column('reenrolled_at')
        batch_op.drop_column('expiry_set_at')
        batch_op.drop_column('reissues')
        batch_op.drop_column('version')
