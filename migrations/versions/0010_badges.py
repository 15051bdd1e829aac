"""badge_images: one badge per certification (uploaded PNG/SVG or generated), random public token

Revision ID: 0010_badges
Revises: 0008_status_list
Create Date: 2026-12-02 06:10:00

"""
import secrets

from alembic import op
import sqlalchemy as sa

import app.database


revision = '0010_badges'
down_revision = '0009_pdf_signing'
branch_labels = None
depends_on = None


def upgrade():
    table = op.create_table(
        'badge_images',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('certification_id', sa.Integer(), nullable=False),
        sa.Column('token', sa.String(length=32), nullable=False),
        sa.Column('source', sa.String(length=16), nullable=False),
        sa.Column('png_key', sa.String(length=255), nullable=True),
        sa.Column('svg_key', sa.String(length=255), nullable=True),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('updated_at', app.database.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['certification_id'], ['certifications.id'],
                                name=op.f('fk_badge_images_certification_id_certifications'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_badge_images')),
        sa.UniqueConstraint('certification_id', name=op.f('uq_badge_images_certification_id')),
        sa.UniqueConstraint('token', name=op.f('uq_badge_images_token')),
    )
    # Every existing certification gets its (generated) badge and a random token now; new ones get
    # theirs when they are created.
    ids = [row[0] for row in op.get_bind().execute(sa.text('SELECT id FROM certifications'))]
    if ids:
        now = app.database.utcnow()
        op.bulk_insert(table, [{'certification_id': i, 'token': secrets.token_hex(16), 'source': 'generated',
                                'png_key': None, 'svg_key': None, 'version': 1, 'updated_at': now} for i in ids])


def downgrade():
    op.drop_table('badge_images')
