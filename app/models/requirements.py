"""A certification's requirement rules (groups of courses) and the evidence learners submit for review."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.database import utcnow
from app.extensions import db

GROUP_MODES = ("all", "any")  # "all of" these courses, or "any N of" them
EVIDENCE_STATUSES = ("pending", "approved", "rejected")


class RequirementGroup(db.Model):
    """One group of a certification's courses: all of them, or any `required_count` of them.

    The effective minimum score of a course is its own (`RequirementCourse.min_score`), else the group's.
    A certification without groups (rows made outside the catalog service) reads as one "all of" group
    of `Certification.courses` with `Certification.min_score`: the rule before groups existed.
    """

    __tablename__ = "requirement_groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    certification_id: Mapped[int] = mapped_column(ForeignKey("certifications.id", ondelete="CASCADE"),
                                                  index=True)
    position: Mapped[int] = mapped_column(default=0)
    mode: Mapped[str] = mapped_column(String(8), default="all")
    required_count: Mapped[int | None]  # "any N of": N; None for "all of"
    min_score: Mapped[float | None]

    items: Mapped[list[RequirementCourse]] = relationship(
        cascade="all, delete-orphan", order_by="RequirementCourse.position", lazy="selectin")

    @property
    def needed(self) -> int:
        return len(self.items) if self.mode == "all" else min(self.required_count or 1, len(self.items))


class RequirementCourse(db.Model):
    __tablename__ = "requirement_courses"

    group_id: Mapped[int] = mapped_column(ForeignKey("requirement_groups.id", ondelete="CASCADE"),
                                          primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="RESTRICT"), primary_key=True,
                                           index=True)
    position: Mapped[int] = mapped_column(default=0)
    min_score: Mapped[float | None]

    course = relationship("Course", lazy="joined")


class EvidenceSubmission(db.Model):
    """Files and/or a text a learner hands in for a certification; an assessor approves or rejects it."""

    __tablename__ = "evidence_submissions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    certification_id: Mapped[int] = mapped_column(ForeignKey("certifications.id", ondelete="CASCADE"),
                                                  index=True)
    text: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)
    reviewed_at: Mapped[datetime | None]
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    review_comment: Mapped[str] = mapped_column(Text, default="")

    user = relationship("User", foreign_keys=[user_id])
    reviewer = relationship("User", foreign_keys=[reviewer_id])
    certification = relationship("Certification")
    files: Mapped[list[EvidenceFile]] = relationship(cascade="all, delete-orphan", order_by="EvidenceFile.id",
                                                     lazy="selectin")

    __table_args__ = (Index("ix_evidence_submissions_user_certification", "user_id", "certification_id"),)


class EvidenceFile(db.Model):
    """A stored upload: a random storage key, never the learner's file name (that is only shown)."""

    __tablename__ = "evidence_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("evidence_submissions.id", ondelete="CASCADE"),
                                               index=True)
    storage_key: Mapped[str] = mapped_column(String(120), unique=True)
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(60))
    extension: Mapped[str] = mapped_column(String(8))
    size: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
