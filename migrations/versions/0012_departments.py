"""departments: a table with a parent (faculty > department > team), managers, users.department_id,
and the staff grant "reads everything"

Revision ID: 0012_departments
Revises: 0010_badges
Create Date: 2026-12-02 10:00:00

Every distinct `users.department` string becomes a department row (strings that differ only in case or
spacing become one), users point at it, and the string column goes (downgrade restores it from the
names). Every existing staff user gets `reads_everything`, so staff
keep reading everything as before; new staff get it only when an admin grants it.
"""
from alembic import op
import sqlalchemy as sa

import app.database


revision = '0012_departments'
down_revision = '0010_badges'
branch_labels = None
depends_on = None


def _key(name):
    return ' '.join(name.split()).lower()


def upgrade():
    departments = op.create_table(
        'departments',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=120), nullable=False),
        sa.Column('name_key', sa.String(length=120), nullable=False),
        sa.Column('parent_id', sa.Integer(), nullable=True),
        sa.Column('created_at', app.database.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['parent_id'], ['departments.id'], name=op.f('fk_departments_parent_id_departments')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_departments')),
        sa.UniqueConstraint('name_key', name=op.f('uq_departments_name_key')),
    )
    op.create_index(op.f('ix_departments_parent_id'), 'departments', ['parent_id'], unique=False)
    op.create_table(
        'department_managers',
        sa.Column('department_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['department_id'], ['departments.id'],
                                name=op.f('fk_department_managers_department_id_departments'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_department_managers_user_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('department_id', 'user_id', name=op.f('pk_department_managers')),
    )
    op.create_index(op.f('ix_department_managers_user_id'), 'department_managers', ['user_id'], unique=False)
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('department_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('reads_everything', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.create_index(batch_op.f('ix_users_department_id'), ['department_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_users_department_id_departments'), 'departments',
                                    ['department_id'], ['id'], ondelete='SET NULL')
    _departments_from_strings(departments)
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_index('ix_users_department')
        batch_op.drop_column('department')
    op.execute(sa.text("UPDATE users SET reads_everything = :yes WHERE role = 'staff'")
               .bindparams(sa.bindparam('yes', True, sa.Boolean())))


def _departments_from_strings(departments):
    bind = op.get_bind()
    raw_names = [row[0] for row in bind.execute(sa.text(
        'SELECT DISTINCT department FROM users WHERE department IS NOT NULL ORDER BY department'))]
    ids_by_key = {}
    now = app.database.utcnow()
    for raw in raw_names:
        name = ' '.join(raw.split())[:120]
        if not name:
            continue
        key = _key(name)
        if key not in ids_by_key:
            bind.execute(departments.insert().values(name=name, name_key=key, parent_id=None, created_at=now))
            ids_by_key[key] = bind.execute(sa.text('SELECT id FROM departments WHERE name_key = :k'),
                                           {'k': key}).scalar_one()
        bind.execute(sa.text('UPDATE users SET department_id = :d WHERE department = :raw'),
                     {'d': ids_by_key[key], 'raw': raw})


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('department', sa.String(length=120), nullable=True))
        batch_op.create_index('ix_users_department', ['department'], unique=False)
    op.execute('UPDATE users SET department = (SELECT name FROM departments '
               'WHERE departments.id = users.department_id)')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_users_department_id_departments'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_users_department_id'))
        batch_op.drop_column('reads_everything')
        batch_op.drop_column('department_id')
    op.drop_index(op.f('ix_department_managers_user_id'), table_name='department_managers')
    op.drop_table('department_managers')
    op.drop_index(op.f('ix_departments_parent_id'), table_name='departments')
    op.drop_table('departments')
