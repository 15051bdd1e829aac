"""certificates: a partial index of the revoked ones (the status lists' set bits)

Revision ID: 0024_revoked_index
Revises: 0023_payments
Create Date: 2026-12-02 13:40:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0024_revoked_index'
down_revision = '0023_payments'
branch_labels = None
depends_on = None

_WHERE = sa.text("revoked_at IS NOT NULL")


def upgrade():
    op.create_index("ix_certificates_revoked", "certificates", ["id", "revoked_at"],
                    postgresql_where=_WHERE, sqlite_where=_WHERE)


def downgrade():
    op.drop_index("ix_certificates_revoked", table_name="certificates")
