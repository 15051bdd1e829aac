"""saml_providers, saml_service_keys, saml_assertion_uses: SAML 2 single sign-on

Revision ID: 0016_sso_saml
Revises: 0015_sso_oidc
Create Date: 2026-12-02 10:10:00

"""
from alembic import op
import sqlalchemy as sa

import app.database


revision = '0016_sso_saml'
down_revision = '0015_sso_oidc'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'saml_providers',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('public_id', sa.String(length=32), nullable=False),
        sa.Column('label', sa.String(length=80), nullable=False),
        sa.Column('idp_entity_id', sa.String(length=500), nullable=False),
        sa.Column('idp_metadata', sa.Text(), nullable=False),
        sa.Column('metadata_url', sa.String(length=500), nullable=True),
        sa.Column('sso_url', sa.String(length=500), nullable=False),
        sa.Column('slo_url', sa.String(length=500), nullable=True),
        sa.Column('create_accounts', sa.Boolean(), nullable=False),
        sa.Column('email_attribute', sa.String(length=200), nullable=False),
        sa.Column('name_attribute', sa.String(length=200), nullable=False),
        sa.Column('groups_attribute', sa.String(length=200), nullable=False),
        sa.Column('department_attribute', sa.String(length=200), nullable=False),
        sa.Column('role_for_group', sa.JSON(), nullable=False),
        sa.Column('default_role', sa.String(length=16), nullable=False),
        sa.Column('trust_email', sa.Boolean(), nullable=False),
        sa.Column('enabled', sa.Boolean(), nullable=False),
        sa.Column('created_at', app.database.UTCDateTime(), nullable=False),
        sa.Column('updated_at', app.database.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_saml_providers')),
        sa.UniqueConstraint('public_id', name=op.f('uq_saml_providers_public_id')),
    )
    op.create_table(
        'saml_service_keys',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=20), nullable=False),
        sa.Column('private_key', sa.Text(), nullable=False),
        sa.Column('certificate_pem', sa.Text(), nullable=False),
        sa.Column('created_at', app.database.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_saml_service_keys')),
        sa.UniqueConstraint('name', name=op.f('uq_saml_service_keys_name')),
    )
    op.create_table(
        'saml_assertion_uses',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('provider_id', sa.Integer(), nullable=False),
        sa.Column('assertion_id', sa.String(length=256), nullable=False),
        sa.Column('expires_at', app.database.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['provider_id'], ['saml_providers.id'],
                                name=op.f('fk_saml_assertion_uses_provider_id_saml_providers'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_saml_assertion_uses')),
        sa.UniqueConstraint('provider_id', 'assertion_id', name='uq_saml_assertion_uses_provider_id'),
    )
    op.create_index(op.f('ix_saml_assertion_uses_expires_at'), 'saml_assertion_uses', ['expires_at'])


def downgrade():
    op.drop_index(op.f('ix_saml_assertion_uses_expires_at'), table_name='saml_assertion_uses')
    op.drop_table('saml_assertion_uses')
    op.drop_table('saml_service_keys')
    op.drop_table('saml_providers')
