"""training_sessions, session_registrations (waitlist, attendance), course_training_settings

Revision ID: 0021_training
Revises: 0020_privacy
Create Date: 2026-12-02 13:40:00

"""
from alembic import op
import sqlalchemy as sa

import app.database


revision = '0021_training'
# Issue 17's migrations (0018..0022) all start from 0017_scim; the lead re-chains them at merge.
down_revision = '0020_privacy'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'training_sessions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('uid', sa.String(length=40), nullable=False),
        sa.Column('course_id', sa.Integer(), nullable=False),
        sa.Column('title', sa.String(length=200), nullable=False),
        sa.Column('starts_at', app.database.UTCDateTime(), nullable=False),
        sa.Column('ends_at', app.database.UTCDateTime(), nullable=False),
        sa.Column('timezone', sa.String(length=64), nullable=False),
        sa.Column('location', sa.String(length=300), nullable=False),
        sa.Column('online_url', sa.String(length=500), nullable=False),
        sa.Column('trainer_id', sa.Integer(), nullable=True),
        sa.Column('capacity', sa.Integer(), nullable=False),
        sa.Column('registration_deadline', app.database.UTCDateTime(), nullable=True),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('sequence', sa.Integer(), nullable=False),
        sa.Column('created_at', app.database.UTCDateTime(), nullable=False),
        sa.Column('updated_at', app.database.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['course_id'], ['courses.id'], name=op.f('fk_training_sessions_course_id_courses'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['trainer_id'], ['users.id'], name=op.f('fk_training_sessions_trainer_id_users'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_training_sessions')),
        sa.UniqueConstraint('uid', name=op.f('uq_training_sessions_uid')),
    )
    with op.batch_alter_table('training_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_training_sessions_course_id'), ['course_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_training_sessions_starts_at'), ['starts_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_training_sessions_trainer_id'), ['trainer_id'], unique=False)

    op.create_table(
        'session_registrations',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('session_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('queued_at', app.database.UTCDateTime(), nullable=False),
        sa.Column('attendance', sa.String(length=16), nullable=True),
        sa.Column('attendance_marked_at', app.database.UTCDateTime(), nullable=True),
        sa.Column('checked_in_via', sa.String(length=16), nullable=True),
        sa.Column('ics_sequence', sa.Integer(), nullable=False),
        sa.Column('reminded_at', app.database.UTCDateTime(), nullable=True),
        sa.Column('created_at', app.database.UTCDateTime(), nullable=False),
        sa.Column('updated_at', app.database.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['session_id'], ['training_sessions.id'],
                                name=op.f('fk_session_registrations_session_id_training_sessions'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_session_registrations_user_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_session_registrations')),
        sa.UniqueConstraint('session_id', 'user_id', name='uq_session_registrations_session_user'),
    )
    with op.batch_alter_table('session_registrations', schema=None) as batch_op:
        batch_op.create_index('ix_session_registrations_session_status', ['session_id', 'status', 'queued_at'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_session_registrations_user_id'), ['user_id'], unique=False)

    op.create_table(
        'course_training_settings',
        sa.Column('course_id', sa.Integer(), nullable=False),
        sa.Column('attendance_rule', sa.String(length=8), nullable=False),
        sa.Column('updated_at', app.database.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['course_id'], ['courses.id'],
                                name=op.f('fk_course_training_settings_course_id_courses'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('course_id', name=op.f('pk_course_training_settings')),
    )


def downgrade():
    op.drop_table('course_training_settings')
    with op.batch_alter_table('session_registrations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_session_registrations_user_id'))
        batch_op.drop_index('ix_session_registrations_session_status')
    op.drop_table('session_registrations')
    with op.batch_alter_table('training_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_training_sessions_trainer_id'))
        batch_op.drop_index(batch_op.f('ix_training_sessions_starts_at'))
        batch_op.drop_index(batch_op.f('ix_training_sessions_course_id'))
    op.drop_table('training_sessions')
