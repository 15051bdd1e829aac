"""email_texts: admin-edited subject and body of lifecycle emails

Revision ID: 0006_email_texts
Revises: 0004_branding
Create Date: 2026-12-02 02:30:00

"""
from alembic import op
import sqlalchemy as sa

import app.database


revision = '0006_email_texts'
down_revision = '0004_branding'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'email_texts',
        sa.Column('template', sa.String(length=100), nullable=False),
        sa.Column('subject', sa.String(length=200), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('updated_at', app.database.UTCDateTime(), nullable=False),
        sa.Column('updated_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_email_texts_updated_by_id_users'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('template', name=op.f('pk_email_texts')),
    )


def downgrade():
    op.drop_table('email_texts')
