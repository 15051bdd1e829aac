"""certification fees (price columns), payments, payment_settings (Stripe keys, encrypted)

Revision ID: 0023_payments
Revises: 0022_requirement_groups
Create Date: 2026-12-02 13:50:00

"""
from alembic import op
import sqlalchemy as sa

import app.database


revision = '0023_payments'
# issue 17 (helper M); the lead re-chains the migrations of issue 17 at merge.
down_revision = '0022_requirement_groups'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('certifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('price_amount', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('price_currency', sa.String(length=3), nullable=True))
        batch_op.add_column(sa.Column('price_tax_note', sa.String(length=300), nullable=False,
                                      server_default=''))
    op.create_table(
        'payments',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('public_id', sa.String(length=40), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('certification_id', sa.Integer(), nullable=False),
        sa.Column('cycle', sa.Integer(), nullable=False),
        sa.Column('method', sa.String(length=16), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('amount', sa.Integer(), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('tax_note', sa.String(length=300), nullable=False),
        sa.Column('reference', sa.String(length=200), nullable=False),
        sa.Column('checkout_session_id', sa.String(length=255), nullable=True),
        sa.Column('checkout_url', sa.Text(), nullable=True),
        sa.Column('payment_intent_id', sa.String(length=255), nullable=True),
        sa.Column('refunded_amount', sa.Integer(), nullable=False),
        sa.Column('refund_note', sa.String(length=500), nullable=False),
        sa.Column('created_at', app.database.UTCDateTime(), nullable=False),
        sa.Column('paid_at', app.database.UTCDateTime(), nullable=True),
        sa.Column('refunded_at', app.database.UTCDateTime(), nullable=True),
        sa.Column('recorded_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['certification_id'], ['certifications.id'],
                                name=op.f('fk_payments_certification_id_certifications'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'],
                                name=op.f('fk_payments_recorded_by_id_users'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_payments_user_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_payments')),
        sa.UniqueConstraint('checkout_session_id', name=op.f('uq_payments_checkout_session_id')),
        sa.UniqueConstraint('public_id', name=op.f('uq_payments_public_id')),
    )
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.create_index('ix_payments_gate', ['user_id', 'certification_id', 'cycle', 'status'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_payments_payment_intent_id'), ['payment_intent_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_payments_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_payments_user_id'), ['user_id'], unique=False)
    op.create_table(
        'payment_settings',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('stripe_secret_key', sa.Text(), nullable=True),
        sa.Column('stripe_secret_key_hint', sa.String(length=16), nullable=False),
        sa.Column('stripe_webhook_secret', sa.Text(), nullable=True),
        sa.Column('stripe_webhook_secret_hint', sa.String(length=16), nullable=False),
        sa.Column('updated_at', app.database.UTCDateTime(), nullable=False),
        sa.Column('updated_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'],
                                name=op.f('fk_payment_settings_updated_by_id_users'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_settings')),
    )


def downgrade():
    op.drop_table('payment_settings')
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payments_user_id'))
        batch_op.drop_index(batch_op.f('ix_payments_status'))
        batch_op.drop_index(batch_op.f('ix_payments_payment_intent_id'))
        batch_op.drop_index('ix_payments_gate')
    op.drop_table('payments')
    with op.batch_alter_table('certifications', schema=None) as batch_op:
        batch_op.drop_column('price_tax_note')
        batch_op.drop_column('price_currency')
        batch_op.drop_column('price_amount')
