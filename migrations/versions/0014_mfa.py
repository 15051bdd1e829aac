"""mfa: authenticator apps (TOTP), recovery codes, remembered devices, passkeys; the org's MFA settings

Revision ID: 0014_mfa
Revises: 0013_user_sessions
Create Date: 2026-12-02 10:00:00

"""
from alembic import op
import sqlalchemy as sa

import app.database


revision = '0014_mfa'
down_revision = '0013_user_sessions'
branch_labels = None
depends_on = None


def _user_fk(table):
    return sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f(f'fk_{table}_user_id_users'),
                                   ondelete='CASCADE')


def upgrade():
    op.create_table(
        'mfa_totp',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('secret_encrypted', sa.Text(), nullable=False),
        sa.Column('created_at', app.database.UTCDateTime(), nullable=False),
        sa.Column('confirmed_at', app.database.UTCDateTime(), nullable=True),
        sa.Column('last_used_step', sa.BigInteger(), nullable=True),
        _user_fk('mfa_totp'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_mfa_totp')),
        sa.UniqueConstraint('user_id', name=op.f('uq_mfa_totp_user_id')),
    )
    op.create_table(
        'mfa_recovery_codes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('code_hash', sa.String(length=64), nullable=False),
        sa.Column('created_at', app.database.UTCDateTime(), nullable=False),
        sa.Column('used_at', app.database.UTCDateTime(), nullable=True),
        _user_fk('mfa_recovery_codes'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_mfa_recovery_codes')),
        sa.UniqueConstraint('code_hash', name=op.f('uq_mfa_recovery_codes_code_hash')),
    )
    op.create_index(op.f('ix_mfa_recovery_codes_user_id'), 'mfa_recovery_codes', ['user_id'], unique=False)
    op.create_table(
        'mfa_remembered_devices',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('created_at', app.database.UTCDateTime(), nullable=False),
        sa.Column('expires_at', app.database.UTCDateTime(), nullable=False),
        sa.Column('last_used_at', app.database.UTCDateTime(), nullable=True),
        _user_fk('mfa_remembered_devices'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_mfa_remembered_devices')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_mfa_remembered_devices_token_hash')),
    )
    op.create_index(op.f('ix_mfa_remembered_devices_user_id'), 'mfa_remembered_devices', ['user_id'],
                    unique=False)
    op.create_table(
        'passkeys',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('credential_id', sa.String(length=1400), nullable=False),
        sa.Column('public_key', sa.LargeBinary(), nullable=False),
        sa.Column('sign_count', sa.BigInteger(), nullable=False),
        sa.Column('user_handle', sa.String(length=100), nullable=False),
        sa.Column('transports', sa.String(length=200), nullable=False),
        sa.Column('created_at', app.database.UTCDateTime(), nullable=False),
        sa.Column('last_used_at', app.database.UTCDateTime(), nullable=True),
        _user_fk('passkeys'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_passkeys')),
        sa.UniqueConstraint('credential_id', name=op.f('uq_passkeys_credential_id')),
    )
    op.create_index('ix_passkeys_user_id', 'passkeys', ['user_id'], unique=False)
    with op.batch_alter_table('organisation_settings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('mfa_required_for_admins', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.add_column(sa.Column('mfa_remember_days', sa.Integer(), nullable=False, server_default='0'))


def downgrade():
    with op.batch_alter_table('organisation_settings', schema=None) as batch_op:
        batch_op.drop_column('mfa_remember_days')
        batch_op.drop_column('mfa_required_for_admins')
    op.drop_index('ix_passkeys_user_id', table_name='passkeys')
    op.drop_table('passkeys')
    op.drop_index(op.f('ix_mfa_remembered_devices_user_id'), table_name='mfa_remembered_devices')
    op.drop_table('mfa_remembered_devices')
    op.drop_index(op.f('ix_mfa_recovery_codes_user_id'), table_name='mfa_recovery_codes')
    op.drop_table('mfa_recovery_codes')
    op.drop_table('mfa_totp')
