"""What can be learned and earned: courses and certifications."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Column, ForeignKey, Index, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.database import utcnow
from app.extensions import db
from app.models.requirements import RequirementGroup
from app.models.template import CertificateTemplate

CERTIFICATION_STATUSES = ("draft", "active", "archived")
DEFAULT_REMINDER_DAYS = [90, 30, 7]

certification_courses = Table(
    "certification_courses", db.metadata,
    Column("certification_id", ForeignKey("certifications.id", ondelete="CASCADE"), primary_key=True),
    Column("course_id", ForeignKey("courses.id", ondelete="RESTRICT"), primary_key=True, index=True),
)

certification_prerequisites = Table(
    "certification_prerequisites", db.metadata,
    Column("certification_id", ForeignKey("certifications.id", ondelete="CASCADE"), primary_key=True),
    Column("prerequisite_id", ForeignKey("certifications.id", ondelete="RESTRICT"), primary_key=True,
           index=True),
)


# Who reviews a certification's evidence besides the admins (a table of its own: one assessor or several).
certification_assessors = Table(
    "certification_assessors", db.metadata,
    Column("certification_id", ForeignKey("certifications.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Course(db.Model):
    __tablename__ = "courses"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    category: Mapped[str | None] = mapped_column(String(80), index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    capacity: Mapped[int | None]
    starts_on: Mapped[date | None]
    ends_on: Mapped[date | None]
    archived: Mapped[bool] = mapped_column(default=False)
    # Where the course comes from: "manual", or an integration (e.g. "moodle:3") with its external id.
    source: Mapped[str] = mapped_column(String(40), default="manual")
    external_id: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("source", "external_id", name="uq_courses_source_external_id"),)

    def __repr__(self) -> str:
        return f"<Course {self.code}>"


class Certification(db.Model):
    __tablename__ = "certifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    min_score: Mapped[float | None]
    validity_months: Mapped[int | None]  # None: never expires
    renewal_window_days: Mapped[int] = mapped_column(default=90)
    reminder_days: Mapped[list] = mapped_column(JSON, default=lambda: list(DEFAULT_REMINDER_DAYS))
    # Recertification: re-enrol holders in the courses when a certificate's renewal window opens.
    auto_reenrol: Mapped[bool] = mapped_column(default=False)
    issuer_name: Mapped[str] = mapped_column(String(200), default="")
    signatory_name: Mapped[str] = mapped_column(String(200), default="")
    signatory_title: Mapped[str] = mapped_column(String(200), default="")
    # The certificate design (app/models/template.py); None: the default template.
    # Fee (app/services/payments/fees.py): minor units + ISO 4217 code, both None when free.
    price_amount: Mapped[int | None]
    price_currency: Mapped[str | None] = mapped_column(String(3))
    price_tax_note: Mapped[str] = mapped_column(String(300), default="")
    template_id: Mapped[int | None] = mapped_column(
        ForeignKey("certificate_templates.id", ondelete="SET NULL"), index=True)
    # Evidence (app/services/lifecycle/evidence.py): when required, issuance waits for an approved submission,
    # reviewed by an admin or one of the named assessors.
    evidence_required: Mapped[bool] = mapped_column(default=False)
    evidence_instructions: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    courses: Mapped[list[Course]] = relationship(secondary=certification_courses, order_by="Course.code")
    prerequisites: Mapped[list[Certification]] = relationship(
        secondary=certification_prerequisites,
        primaryjoin="Certification.id == certification_prerequisites.c.certification_id",
        secondaryjoin="Certification.id == certification_prerequisites.c.prerequisite_id",
        order_by="Certification.name",
    )
    template: Mapped[CertificateTemplate | None] = relationship()
    # The requirement rules (app/models/requirements.py); `courses` stays the union of their courses.
    requirement_groups: Mapped[list[RequirementGroup]] = relationship(
        cascade="all, delete-orphan", order_by="RequirementGroup.position")
    assessors = relationship("User", secondary=certification_assessors, order_by="User.name")

    __table_args__ = (Index("ix_certifications_status_name", "status", "name"),)

    @property
    def is_active(self) -> bool:
        return self.status == "active"

    @property
    def simple_requirements(self) -> bool:
        """One "all of" group (or none) without per-course minimums: what `courses` + `min_score` say."""
        return len(self.requirement_groups) <= 1 and all(
            g.mode == "all" and all(i.min_score is None for i in g.items) for g in self.requirement_groups)

    def __repr__(self) -> str:
        return f"<Certification {self.name}>"
