"""Departments: a tree (faculty > department > team) that people belong to and managers look after."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Column, ForeignKey, String, Table
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.database import utcnow
from app.extensions import db

if TYPE_CHECKING:
    from app.models.user import User

# Who manages which department (a manager's scope is these plus every department below them).
department_managers = Table(
    "department_managers",
    db.metadata,
    Column("department_id", ForeignKey("departments.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Department(db.Model):
    """One node of the tree. `name_key` is the lower-cased name: names are unique case-insensitively on
    every backend, so "Nursing" from a CSV and "nursing" from an SSO claim are the same department."""

    __tablename__ = "departments"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    name_key: Mapped[str] = mapped_column(String(120), unique=True)
    # No ON DELETE: a department is deleted only when it has no sub-departments (services check).
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    parent: Mapped[Department | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Department]] = relationship(back_populates="parent", order_by="Department.name")
    managers: Mapped[list[User]] = relationship(secondary=department_managers,
                                                back_populates="managed_departments",
                                                order_by="User.name")

    def __repr__(self) -> str:
        return f"<Department {self.id} {self.name}>"


__all__ = ["Department", "department_managers"]
