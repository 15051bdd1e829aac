"""user_identities (SSO links), oidc_providers, organisation_settings.sso_only

Revision ID: 0015_sso_oidc
Revises: 0012_departments (helper A's, merged into this branch; was 0010_badges)
Create Date: 2026-12-02 10:10:00

"""
from alembic import op
import sqlalchemy as sa

import app.database


revision = '0015_sso_oidc'
down_revision = '0012_departments'  # 0010_badges before helper A's departments were merged in
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'user_identities',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('provider_key', sa.String(length=80), nullable=False),
        sa.Column('subject', sa.String(length=255), nullable=False),
        sa.Column('email', sa.String(length=254), nullable=True),
        sa.Column('created_at', app.database.UTCDateTime(), nullable=False),
        sa.Column('last_login_at', app.database.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_user_identities_user_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_user_identities')),
        sa.UniqueConstraint('provider_key', 'subject', name='uq_user_identities_provider_subject'),
    )
    with op.batch_alter_table('user_identities', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_identities_user_id'), ['user_id'], unique=False)

    op.create_table(
        'oidc_providers',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('public_id', sa.String(length=32), nullable=False),
        sa.Column('label', sa.String(length=80), nullable=False),
        sa.Column('issuer', sa.String(length=500), nullable=False),
        sa.Column('client_id', sa.String(length=255), nullable=False),
        sa.Column('client_secret_encrypted', sa.Text(), nullable=True),
        sa.Column('scopes', sa.String(length=255), nullable=False),
        sa.Column('create_accounts', sa.Boolean(), nullable=False),
        sa.Column('group_claim', sa.String(length=80), nullable=False),
        sa.Column('role_map', sa.JSON(), nullable=False),
        sa.Column('default_role', sa.String(length=16), nullable=False),
        sa.Column('department_claim', sa.String(length=80), nullable=False),
        sa.Column('trust_email', sa.Boolean(), nullable=False),
        sa.Column('enabled', sa.Boolean(), nullable=False),
        sa.Column('from_environment', sa.Boolean(), nullable=False),
        sa.Column('created_at', app.database.UTCDateTime(), nullable=False),
        sa.Column('updated_at', app.database.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_oidc_providers')),
        sa.UniqueConstraint('public_id', name=op.f('uq_oidc_providers_public_id')),
    )

    with op.batch_alter_table('organisation_settings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sso_only', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade():
    with op.batch_alter_table('organisation_settings', schema=None) as batch_op:
        batch_op.drop_column('sso_only')
    op.drop_table('oidc_providers')
    with op.batch_alter_table('user_identities', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_identities_user_id'))
    op.drop_table('user_identities')
