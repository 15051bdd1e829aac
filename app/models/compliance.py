"""Compliance: which certifications people must hold (requirements), who is excused (exemptions) and
which notices and escalations went out (one row per requirement x person x step)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Column, ForeignKey, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.database import utcnow
from app.extensions import db
from app.models.catalog import Certification
from app.models.department import Department
from app.models.user import User

REQUIREMENT_SCOPES = ("department", "job_title", "people")
NOTICE_STEPS = ("required", "learner", "manager", "admin")

# The named people of a "people" requirement.
requirement_people = Table(
    "compliance_requirement_people", db.metadata,
    Column("requirement_id", ForeignKey("compliance_requirements.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Requirement(db.Model):
    """A certification that the people of a department (and the departments below it), of a job title or
    named people must hold, by a due date (app/services/compliance/requirements.py)."""

    __tablename__ = "compliance_requirements"

    id: Mapped[int] = mapped_column(primary_key=True)
    certification_id: Mapped[int] = mapped_column(ForeignKey("certifications.id", ondelete="CASCADE"),
                                                  index=True)
    scope: Mapped[str] = mapped_column(String(16))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id", ondelete="CASCADE"),
                                                      index=True)
    include_subdepartments: Mapped[bool] = mapped_column(default=True)
    # Compared with lower(User.job_title): "Nurse" and "nurse" are one title.
    job_title: Mapped[str | None] = mapped_column(String(120))
    job_title_key: Mapped[str | None] = mapped_column(String(120), index=True)
    # Due: N days after the later of the person's joining and this requirement's creation, and/or a fixed
    # day (the later of the two when both are set); neither: never overdue.
    due_days: Mapped[int | None]
    due_on: Mapped[date | None]
    auto_enrol: Mapped[bool] = mapped_column(default=False)
    # Escalation after the due date: days after it for each step (None: that step is off).
    escalate_learner_days: Mapped[int | None] = mapped_column(default=0)
    escalate_manager_days: Mapped[int | None] = mapped_column(default=7)
    escalate_admin_days: Mapped[int | None] = mapped_column(default=14)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    certification: Mapped[Certification] = relationship()
    department: Mapped[Department | None] = relationship()
    people: Mapped[list[User]] = relationship(secondary=requirement_people, order_by="User.name")

    def __repr__(self) -> str:
        return f"<Requirement {self.id} {self.scope}>"


class Exemption(db.Model):
    """This person need not hold this certification (until `expires_on`, inclusive, when set)."""

    __tablename__ = "compliance_exemptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    certification_id: Mapped[int] = mapped_column(ForeignKey("certifications.id", ondelete="CASCADE"),
                                                  index=True)
    reason: Mapped[str] = mapped_column(Text)
    expires_on: Mapped[date | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    certification: Mapped[Certification] = relationship()

    __table_args__ = (UniqueConstraint("user_id", "certification_id", name="uq_compliance_exemptions_cell"),)


class ComplianceNotice(db.Model):
    """A notice sent once: "required" (you must hold X by <date>) or an escalation step after the due date."""

    __tablename__ = "compliance_notices"

    id: Mapped[int] = mapped_column(primary_key=True)
    requirement_id: Mapped[int] = mapped_column(ForeignKey("compliance_requirements.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    step: Mapped[str] = mapped_column(String(16))
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        UniqueConstraint("requirement_id", "user_id", "step", name="uq_compliance_notices_step"),
    )


__all__ = ["NOTICE_STEPS", "REQUIREMENT_SCOPES", "ComplianceNotice", "Exemption", "Requirement",
           "requirement_people"]
