"""People and their credentials."""

from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import ForeignKey, Index, String, false, select
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.database import utcnow
from app.extensions import db
from app.models.department import Department, department_managers

ROLES = ("admin", "staff", "manager", "learner")


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Stored lower-cased: uniqueness is case-insensitive on every backend.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default="learner")
    # The department this person belongs to (app/services/accounts/departments.py).
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id", ondelete="SET NULL"),
                                                      index=True)
    # Staff with this grant read everything; without it, staff read only the people of the departments
    # they manage (app/services/accounts/scope.py). Admins set it; the migration gave it to existing staff.
    # What the person does ("Nurse", "Lab technician"): compliance requirements may target a job title.
    job_title: Mapped[str | None] = mapped_column(String(120))
    reads_everything: Mapped[bool] = mapped_column(default=False, server_default=false())
    active: Mapped[bool] = mapped_column(default=True)
    # Bumped whenever all sessions end (sessions.end_all): reset and invitation links are bound to it.
    # Sessions themselves are rows (app/models/user_session.py), checked by app.web.auth.
    session_version: Mapped[int] = mapped_column(default=1)
    reminder_emails: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]

    tokens: Mapped[list[ApiToken]] = relationship(back_populates="user", cascade="all, delete-orphan")
    # Joined: lists showing people show their department without a query per row.
    department_ref: Mapped[Department | None] = relationship(foreign_keys=[department_id], lazy="joined")
    managed_departments: Mapped[list[Department]] = relationship(secondary=department_managers,
                                                                 back_populates="managers",
                                                                 order_by="Department.name")

    __table_args__ = (Index("ix_users_role_name", "role", "name"),)

    def get_id(self) -> str:
        # Not a session key: app.web.auth.sign_in stores the user_sessions key instead, and a session
        # holding this value (login_user called directly) is anonymous on its next request.
        return f"{self.id}:{self.session_version}"

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @hybrid_property
    def department(self) -> str | None:
        """The department's name (the public shape of API, CSV and webhooks); change it with
        app.services.accounts.departments.assign."""
        return self.department_ref.name if self.department_ref is not None else None

    @department.inplace.expression
    @classmethod
    def _department_name(cls):
        return select(Department.name).where(Department.id == cls.department_id).scalar_subquery()

    @property
    def is_staff(self) -> bool:
        """Admins, staff and managers (whose records each sees: app/services/accounts/scope.py)."""
        return self.role in ("admin", "staff", "manager")

    @property
    def manages_people(self) -> bool:
        """Admins and managers change enrollments and certificates (managers: of the people in scope)."""
        return self.role in ("admin", "manager")

    @property
    def has_password(self) -> bool:
        return self.password_hash is not None

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email} {self.role}>"


class ApiToken(db.Model):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    # Only a SHA-256 of the token is kept; the token itself is shown once.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(back_populates="tokens")

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None


def lower_email(value: str) -> str:
    return value.strip().lower()


__all__ = ["ROLES", "ApiToken", "User", "lower_email"]
