"""certificate_templates.design: the visual designer's elements (JSON text), None for code templates

Revision ID: 0003_template_design
Revises: 0002_outbox_message_id
Create Date: 2026-12-02 02:30:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0003_template_design'
down_revision = '0002_outbox_message_id'
branch_labels = None
depends_on = None


def upgrade():
    # Nullable: existing templates are code templates; the html/css columns stay the rendered truth.
    with op.batch_alter_table('certificate_templates', schema=None) as batch_op:
        batch_op.add_column(sa.Column('design', sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table('certificate_templates', schema=None) as batch_op:
        batch_op.drop_column('design')
