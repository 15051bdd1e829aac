"""scim_directories (a bearer token per provisioning directory), scim_users, scim_groups (SCIM 2)

Revision ID: 0017_scim
Revises: 0016_sso_saml
Create Date: 2026-12-02 10:10:00

"""
from alembic import op
import sqlalchemy as sa

import app.database


revision = '0017_scim'
# scim_groups points at departments (0012); the lead re-chains the migrations of issue 13 at merge.
down_revision = '0016_sso_saml'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'scim_directories',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('prefix', sa.String(length=16), nullable=False),
        sa.Column('send_invitations', sa.Boolean(), nullable=False),
        sa.Column('created_at', app.database.UTCDateTime(), nullable=False),
        sa.Column('last_used_at', app.database.UTCDateTime(), nullable=True),
        sa.Column('revoked_at', app.database.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_scim_directories')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_scim_directories_token_hash')),
    )
    op.create_table(
        'scim_users',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('scim_id', sa.String(length=32), nullable=False),
        sa.Column('directory_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('user_name', sa.String(length=254), nullable=False),
        sa.Column('user_name_key', sa.String(length=254), nullable=True),
        sa.Column('external_id', sa.String(length=254), nullable=True),
        sa.Column('attributes', sa.JSON(), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('created_at', app.database.UTCDateTime(), nullable=False),
        sa.Column('updated_at', app.database.UTCDateTime(), nullable=False),
        sa.Column('deleted_at', app.database.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['directory_id'], ['scim_directories.id'],
                                name=op.f('fk_scim_users_directory_id_scim_directories'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_scim_users_user_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_scim_users')),
        sa.UniqueConstraint('scim_id', name=op.f('uq_scim_users_scim_id')),
        sa.UniqueConstraint('user_id', name=op.f('uq_scim_users_user_id')),
        sa.UniqueConstraint('user_name_key', name=op.f('uq_scim_users_user_name_key')),
    )
    op.create_index(op.f('ix_scim_users_directory_id'), 'scim_users', ['directory_id'])
    op.create_index(op.f('ix_scim_users_external_id'), 'scim_users', ['external_id'])
    op.create_table(
        'scim_groups',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('scim_id', sa.String(length=32), nullable=False),
        sa.Column('directory_id', sa.Integer(), nullable=False),
        sa.Column('department_id', sa.Integer(), nullable=False),
        sa.Column('external_id', sa.String(length=254), nullable=True),
        sa.Column('created_department', sa.Boolean(), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('created_at', app.database.UTCDateTime(), nullable=False),
        sa.Column('updated_at', app.database.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['directory_id'], ['scim_directories.id'],
                                name=op.f('fk_scim_groups_directory_id_scim_directories'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['department_id'], ['departments.id'],
                                name=op.f('fk_scim_groups_department_id_departments'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_scim_groups')),
        sa.UniqueConstraint('scim_id', name=op.f('uq_scim_groups_scim_id')),
        sa.UniqueConstraint('department_id', name=op.f('uq_scim_groups_department_id')),
    )
    op.create_index(op.f('ix_scim_groups_directory_id'), 'scim_groups', ['directory_id'])
    op.create_index(op.f('ix_scim_groups_external_id'), 'scim_groups', ['external_id'])


def downgrade():
    op.drop_table('scim_groups')
    op.drop_table('scim_users')
    op.drop_table('scim_directories')
