"""Who takes which course, and every completion recorded for it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.database import utcnow
from app.extensions import db
from app.models.catalog import Course
from app.models.user import User

ENROLLMENT_STATUSES = ("enrolled", "in_progress", "completed", "withdrawn")
SOURCES = ("manual", "csv", "api", "webhook", "moodle", "sql", "file", "seed", "renewal")


class Enrollment(db.Model):
    __tablename__ = "enrollments"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="RESTRICT"))
    status: Mapped[str] = mapped_column(String(16), default="enrolled")
    progress: Mapped[int] = mapped_column(default=0)  # percent, 0..100
    score: Mapped[float | None]
    completed_at: Mapped[datetime | None]  # the latest completion
    source: Mapped[str] = mapped_column(String(20), default="manual")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    user: Mapped[User] = relationship()
    course: Mapped[Course] = relationship()
    completions: Mapped[list[Completion]] = relationship(back_populates="enrollment",
                                                         order_by="Completion.completed_at")

    __table_args__ = (
        UniqueConstraint("user_id", "course_id", name="uq_enrollments_user_course"),
        Index("ix_enrollments_course_status", "course_id", "status"),
        Index("ix_enrollments_status_completed", "status", "completed_at"),
        Index("ix_enrollments_created_at_id", "created_at", "id"),  # the lists' newest-first order
        # INCLUDE: the analytics averages scores per learner from the index alone (PostgreSQL only).
        Index("ix_enrollments_user_status", "user_id", "status",
              postgresql_include=["score", "course_id", "completed_at"]),
    )


class Completion(db.Model):
    """One completion of a course. Renewal needs the history: re-completing is a new row."""

    __tablename__ = "completions"

    id: Mapped[int] = mapped_column(primary_key=True)
    enrollment_id: Mapped[int] = mapped_column(ForeignKey("enrollments.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="RESTRICT"))
    completed_at: Mapped[datetime]
    score: Mapped[float | None]
    source: Mapped[str] = mapped_column(String(20), default="manual")
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)

    enrollment: Mapped[Enrollment] = relationship(back_populates="completions")

    __table_args__ = (
        # The same completion arriving twice (re-import, webhook retry) is one row.
        UniqueConstraint("enrollment_id", "completed_at", name="uq_completions_enrollment_completed_at"),
        Index("ix_completions_user_course_at", "user_id", "course_id", "completed_at"),
        Index("ix_completions_completed_at_id", "completed_at", "id"),  # recent completions
    )
