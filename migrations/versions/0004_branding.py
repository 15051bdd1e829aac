"""organisation_settings: the school's name, logo, colour and "about" line (Admin › Settings)

Revision ID: 0004_branding
Revises: 0003_template_design
Create Date: 2026-12-02 02:30:00

"""
from alembic import op
import sqlalchemy as sa

import app.database  # noqa: F401  (UTCDateTime columns)


revision = '0004_branding'
down_revision = '0003_template_design'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'organisation_settings',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=120), nullable=False),
        sa.Column('about', sa.String(length=200), nullable=False),
        sa.Column('colour', sa.String(length=7), nullable=False),
        sa.Column('logo_key', sa.String(length=255), nullable=True),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('updated_at', app.database.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_organisation_settings')),
    )


def downgrade():
    op.drop_table('organisation_settings')
