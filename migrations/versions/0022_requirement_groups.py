"""requirement_groups + requirement_courses (all of / any N of), evidence settings on certifications,
certification_assessors,
evidence_submissions + evidence_files; every certification becomes one "all of" group of its courses
with its minimum score (behaviour unchanged)

Revision ID: 0022_requirement_groups
Revises: 0021_training
Create Date: 2026-12-02 13:40:00

"""
import sqlalchemy as sa
from alembic import op

import app.database

revision = '0022_requirement_groups'
# Issue 17 item 3 (helper L); the lead re-chains the migrations of issue 17 at merge.
down_revision = '0021_training'
branch_labels = None
depends_on = None


def upgrade():
    # Plain ADD COLUMN, never batch mode's table copy: on SQLite (foreign keys on) dropping the old
    # certifications table would cascade into certification_courses and be refused by certificates. The
    # assessors get a table of their own for the same reason (SQLite cannot add a constraint in place).
    op.add_column('certifications', sa.Column('evidence_required', sa.Boolean(), nullable=False,
                                              server_default=sa.false()))
    op.add_column('certifications', sa.Column('evidence_instructions', sa.Text(), nullable=False,
                                              server_default=''))
    op.create_table(
        'certification_assessors',
        sa.Column('certification_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['certification_id'], ['certifications.id'],
                                name=op.f('fk_certification_assessors_certification_id_certifications'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                                name=op.f('fk_certification_assessors_user_id_users'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('certification_id', 'user_id', name=op.f('pk_certification_assessors')),
    )
    op.create_index(op.f('ix_certification_assessors_user_id'), 'certification_assessors', ['user_id'],
                    unique=False)

    op.create_table(
        'requirement_groups',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('certification_id', sa.Integer(), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('mode', sa.String(length=8), nullable=False),
        sa.Column('required_count', sa.Integer(), nullable=True),
        sa.Column('min_score', sa.Double(), nullable=True),
        sa.ForeignKeyConstraint(['certification_id'], ['certifications.id'],
                                name=op.f('fk_requirement_groups_certification_id_certifications'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_requirement_groups')),
    )
    op.create_index(op.f('ix_requirement_groups_certification_id'), 'requirement_groups',
                    ['certification_id'], unique=False)
    op.create_table(
        'requirement_courses',
        sa.Column('group_id', sa.Integer(), nullable=False),
        sa.Column('course_id', sa.Integer(), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('min_score', sa.Double(), nullable=True),
        sa.ForeignKeyConstraint(['course_id'], ['courses.id'], name=op.f('fk_requirement_courses_course_id_courses'),
                                ondelete='RESTRICT'),
        sa.ForeignKeyConstraint(['group_id'], ['requirement_groups.id'],
                                name=op.f('fk_requirement_courses_group_id_requirement_groups'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('group_id', 'course_id', name=op.f('pk_requirement_courses')),
    )
    op.create_index(op.f('ix_requirement_courses_course_id'), 'requirement_courses', ['course_id'], unique=False)
    op.create_table(
        'evidence_submissions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('certification_id', sa.Integer(), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('submitted_at', app.database.UTCDateTime(), nullable=False),
        sa.Column('reviewed_at', app.database.UTCDateTime(), nullable=True),
        sa.Column('reviewer_id', sa.Integer(), nullable=True),
        sa.Column('review_comment', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['certification_id'], ['certifications.id'],
                                name=op.f('fk_evidence_submissions_certification_id_certifications'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['reviewer_id'], ['users.id'], name=op.f('fk_evidence_submissions_reviewer_id_users'),
                                ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_evidence_submissions_user_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_evidence_submissions')),
    )
    op.create_index(op.f('ix_evidence_submissions_certification_id'), 'evidence_submissions',
                    ['certification_id'], unique=False)
    op.create_index(op.f('ix_evidence_submissions_status'), 'evidence_submissions', ['status'], unique=False)
    op.create_index('ix_evidence_submissions_user_certification', 'evidence_submissions',
                    ['user_id', 'certification_id'], unique=False)
    op.create_table(
        'evidence_files',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('submission_id', sa.Integer(), nullable=False),
        sa.Column('storage_key', sa.String(length=120), nullable=False),
        sa.Column('filename', sa.String(length=200), nullable=False),
        sa.Column('content_type', sa.String(length=60), nullable=False),
        sa.Column('extension', sa.String(length=8), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('created_at', app.database.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['submission_id'], ['evidence_submissions.id'],
                                name=op.f('fk_evidence_files_submission_id_evidence_submissions'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_evidence_files')),
        sa.UniqueConstraint('storage_key', name=op.f('uq_evidence_files_storage_key')),
    )
    op.create_index(op.f('ix_evidence_files_submission_id'), 'evidence_files', ['submission_id'], unique=False)
    _one_all_of_group_per_certification()


def _one_all_of_group_per_certification():
    """Every existing certification: one "all of" group of its current courses with its current minimum
    score, the rule issuing applied before groups existed. Set-based: two INSERT ... SELECT."""
    op.execute(
        "INSERT INTO requirement_groups (certification_id, position, mode, required_count, min_score) "
        "SELECT id, 0, 'all', NULL, min_score FROM certifications "
        "WHERE id IN (SELECT certification_id FROM certification_courses)")
    op.execute(
        "INSERT INTO requirement_courses (group_id, course_id, position, min_score) "
        "SELECT g.id, cc.course_id, 0, NULL FROM certification_courses cc "
        "JOIN requirement_groups g ON g.certification_id = cc.certification_id")


def downgrade():
    op.drop_index(op.f('ix_evidence_files_submission_id'), table_name='evidence_files')
    op.drop_table('evidence_files')
    op.drop_index('ix_evidence_submissions_user_certification', table_name='evidence_submissions')
    op.drop_index(op.f('ix_evidence_submissions_status'), table_name='evidence_submissions')
    op.drop_index(op.f('ix_evidence_submissions_certification_id'), table_name='evidence_submissions')
    op.drop_table('evidence_submissions')
    op.drop_index(op.f('ix_requirement_courses_course_id'), table_name='requirement_courses')
    op.drop_table('requirement_courses')
    op.drop_index(op.f('ix_requirement_groups_certification_id'), table_name='requirement_groups')
    op.drop_table('requirement_groups')
    op.drop_index(op.f('ix_certification_assessors_user_id'), table_name='certification_assessors')
    op.drop_table('certification_assessors')
    # DROP COLUMN (SQLite 3.35+ natively): never a copy of certifications, see upgrade()
    op.drop_column('certifications', 'evidence_instructions')
    op.drop_column('certifications', 'evidence_required')
