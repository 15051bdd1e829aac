"""status_list_entries: each certificate's random place in a Bitstring Status List

Existing certificates get their entries here (random, distinct indices, a new list every 98,304
entries), so every credential issued from now on can name its status list at once.

Revision ID: 0008_status_list
Revises: 0011_public_profiles
Create Date: 2026-12-02 06:10:00

"""
import secrets

import sqlalchemy as sa
from alembic import op

import app.database

revision = '0008_status_list'
down_revision = '0011_public_profiles'
branch_labels = None
depends_on = None

# Frozen copies of app/services/credentials/status.py's LIST_SIZE and FILL: a migration must not change
# when the code does.
LIST_SIZE = 131_072
FILL = LIST_SIZE * 3 // 4
CHUNK = 1000


def upgrade():
    entries = op.create_table(
        'status_list_entries',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('certificate_id', sa.Integer(), nullable=False),
        sa.Column('list_number', sa.Integer(), nullable=False),
        sa.Column('list_index', sa.Integer(), nullable=False),
        sa.Column('created_at', app.database.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['certificate_id'], ['certificates.id'],
                                name=op.f('fk_status_list_entries_certificate_id_certificates'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_status_list_entries')),
        sa.UniqueConstraint('certificate_id', name=op.f('uq_status_list_entries_certificate_id')),
        sa.UniqueConstraint('list_number', 'list_index', name='uq_status_list_entries_list_index'),
    )
    _backfill(entries)


def _backfill(entries) -> None:
    """Random distinct indices for the certificates that exist: each list's sample is drawn at once."""
    bind = op.get_bind()
    ids = [row[0] for row in bind.execute(sa.text("SELECT id FROM certificates ORDER BY id"))]
    now = app.database.utcnow()
    rng = secrets.SystemRandom()
    for number, start in enumerate(range(0, len(ids), FILL), start=1):
        batch = ids[start:start + FILL]
        indices = rng.sample(range(LIST_SIZE), len(batch))
        rows = [{"certificate_id": cid, "list_number": number, "list_index": index, "created_at": now}
                for cid, index in zip(batch, indices)]
        for offset in range(0, len(rows), CHUNK):
            bind.execute(entries.insert(), rows[offset:offset + CHUNK])


def downgrade():
    op.drop_table('status_list_entries')
