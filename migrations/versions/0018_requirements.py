"""compliance: requirements (+ named people), exemptions, notices sent; users.job_title

Revision ID: 0018_requirements
Revises: 0017_scim
Create Date: 2026-12-02 13:30:00

"""
from alembic import op
import sqlalchemy as sa

import app.database


revision = '0018_requirements'
# Helper G (issue 15 items 1-3); the lead re-chains the issue-15 migrations at merge.
down_revision = '0017_scim'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('job_title', sa.String(length=120), nullable=True))
    op.create_table(
        'compliance_requirements',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('certification_id', sa.Integer(), nullable=False),
        sa.Column('scope', sa.String(length=16), nullable=False),
        sa.Column('department_id', sa.Integer(), nullable=True),
        sa.Column('include_subdepartments', sa.Boolean(), nullable=False),
        sa.Column('job_title', sa.String(length=120), nullable=True),
        sa.Column('job_title_key', sa.String(length=120), nullable=True),
        sa.Column('due_days', sa.Integer(), nullable=True),
        sa.Column('due_on', sa.Date(), nullable=True),
        sa.Column('auto_enrol', sa.Boolean(), nullable=False),
        sa.Column('escalate_learner_days', sa.Integer(), nullable=True),
        sa.Column('escalate_manager_days', sa.Integer(), nullable=True),
        sa.Column('escalate_admin_days', sa.Integer(), nullable=True),
        sa.Column('created_at', app.database.UTCDateTime(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['certification_id'], ['certifications.id'],
                                name=op.f('fk_compliance_requirements_certification_id_certifications'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'],
                                name=op.f('fk_compliance_requirements_created_by_id_users'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['department_id'], ['departments.id'],
                                name=op.f('fk_compliance_requirements_department_id_departments'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_compliance_requirements')),
    )
    with op.batch_alter_table('compliance_requirements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_compliance_requirements_certification_id'), ['certification_id'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_compliance_requirements_department_id'), ['department_id'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_compliance_requirements_job_title_key'), ['job_title_key'],
                              unique=False)
    op.create_table(
        'compliance_requirement_people',
        sa.Column('requirement_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['requirement_id'], ['compliance_requirements.id'],
                                name=op.f('fk_compliance_requirement_people_requirement_id_compliance_requirements'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                                name=op.f('fk_compliance_requirement_people_user_id_users'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('requirement_id', 'user_id', name=op.f('pk_compliance_requirement_people')),
    )
    with op.batch_alter_table('compliance_requirement_people', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_compliance_requirement_people_user_id'), ['user_id'], unique=False)
    op.create_table(
        'compliance_exemptions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('certification_id', sa.Integer(), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('expires_on', sa.Date(), nullable=True),
        sa.Column('created_at', app.database.UTCDateTime(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['certification_id'], ['certifications.id'],
                                name=op.f('fk_compliance_exemptions_certification_id_certifications'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'],
                                name=op.f('fk_compliance_exemptions_created_by_id_users'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_compliance_exemptions_user_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_compliance_exemptions')),
        sa.UniqueConstraint('user_id', 'certification_id', name='uq_compliance_exemptions_cell'),
    )
    with op.batch_alter_table('compliance_exemptions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_compliance_exemptions_certification_id'), ['certification_id'],
                              unique=False)
    op.create_table(
        'compliance_notices',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('requirement_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('step', sa.String(length=16), nullable=False),
        sa.Column('sent_at', app.database.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['requirement_id'], ['compliance_requirements.id'],
                                name=op.f('fk_compliance_notices_requirement_id_compliance_requirements'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_compliance_notices_user_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_compliance_notices')),
        sa.UniqueConstraint('requirement_id', 'user_id', 'step', name='uq_compliance_notices_step'),
    )
    with op.batch_alter_table('compliance_notices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_compliance_notices_user_id'), ['user_id'], unique=False)


def downgrade():
    op.drop_table('compliance_notices')
    op.drop_table('compliance_exemptions')
    op.drop_table('compliance_requirement_people')
    op.drop_table('compliance_requirements')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('job_title')
