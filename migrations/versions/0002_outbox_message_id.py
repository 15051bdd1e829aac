"""outbox_emails.message_id: one Message-ID per outbox mail, the same on every attempt

Revision ID: 0002_outbox_message_id
Revises: 3d224047093d
Create Date: 2026-12-01 22:10:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0002_outbox_message_id'
down_revision = '3d224047093d'
branch_labels = None
depends_on = None


def upgrade():
    # Nullable: rows queued before this get a Message-ID derived from the row (app/services/mail.py).
    with op.batch_alter_table('outbox_emails', schema=None) as batch_op:
        batch_op.add_column(sa.Column('message_id', sa.String(length=250), nullable=True))


def downgrade():
    with op.batch_alter_table('outbox_emails', schema=None) as batch_op:
        batch_op.drop_column('message_id')
