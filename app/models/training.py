"""Training sessions of a course, who registered (or waits) for each, and who attended."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.database import utcnow
from app.extensions import db
from app.models.catalog import Course
from app.models.user import User

SESSION_STATUSES = ("scheduled", "cancelled")
REGISTRATION_STATUSES = ("registered", "waitlisted", "cancelled")
ATTENDANCE = ("present", "absent", "excused")
# What attending does to the course's enrollment: nothing, complete it after one session, or after all.
ATTENDANCE_RULES = ("none", "one", "all")


class TrainingSession(db.Model):
    """One scheduled class of a course. Times are UTC; `timezone` is how people are shown them."""

    __tablename__ = "training_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The iCalendar UID's random part: the same for every invitation, update and cancellation.
    uid: Mapped[str] = mapped_column(String(40), unique=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200), default="")
    starts_at: Mapped[datetime] = mapped_column(index=True)
    ends_at: Mapped[datetime]
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    location: Mapped[str] = mapped_column(String(300), default="")
    online_url: Mapped[str] = mapped_column(String(500), default="")
    trainer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    capacity: Mapped[int]
    registration_deadline: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(16), default="scheduled")
    # Bumped by every change to time or place and by cancellation (the iCalendar SEQUENCE baseline).
    sequence: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    course: Mapped[Course] = relationship()
    trainer: Mapped[User | None] = relationship()

    @property
    def label(self) -> str:
        return self.title or self.course.title


class SessionRegistration(db.Model):
    """A learner's place in a session: registered, on the waitlist (FIFO by `queued_at`) or cancelled."""

    __tablename__ = "session_registrations"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("training_sessions.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    queued_at: Mapped[datetime] = mapped_column(default=utcnow)  # the waitlist's order
    attendance: Mapped[str | None] = mapped_column(String(16))
    attendance_marked_at: Mapped[datetime | None]
    checked_in_via: Mapped[str | None] = mapped_column(String(16))  # "qr" or "trainer"
    # The SEQUENCE of the last invitation this person got: every mail to them goes one higher.
    ics_sequence: Mapped[int] = mapped_column(default=-1)
    reminded_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    session: Mapped[TrainingSession] = relationship()
    user: Mapped[User] = relationship()

    __table_args__ = (
        UniqueConstraint("session_id", "user_id", name="uq_session_registrations_session_user"),
        Index("ix_session_registrations_session_status", "session_id", "status", "queued_at"),
    )


class CourseTrainingSettings(db.Model):
    """Per course: whether attending sessions completes the enrollment ("none", "one" or "all")."""

    __tablename__ = "course_training_settings"

    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), primary_key=True)
    attendance_rule: Mapped[str] = mapped_column(String(8), default="none")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
