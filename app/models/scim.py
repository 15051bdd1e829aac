"""SCIM 2 provisioning: the directories (Entra ID, Okta ...) that may create and update people, and the
SCIM resources each of them manages (a user, a group = a department)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.database import utcnow
from app.extensions import db
from app.models.department import Department
from app.models.user import User


class ScimDirectory(db.Model):
    """An identity provider allowed to provision through /scim/v2 with its own bearer token.

    Only a SHA-256 of the token is kept (the token is shown once). A revoked directory's token is refused;
    what it provisioned stays."""

    __tablename__ = "scim_directories"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    # New people get the invitation email (choose a password) only when this is on; with SSO they need none.
    send_invitations: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None


class ScimUser(db.Model):
    """A Laurel user as one directory sees it: its random SCIM id, userName and what the directory sent.

    `attributes` keeps the SCIM attributes Laurel has no column for (name parts, emails, displayName) so
    a directory reads back what it wrote. `user_name_key` is the lower-cased userName (unique while the
    link is live; NULL once the directory deleted the user, whose Laurel account stays, deactivated).
    """

    __tablename__ = "scim_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    scim_id: Mapped[str] = mapped_column(String(32), unique=True)
    directory_id: Mapped[int] = mapped_column(ForeignKey("scim_directories.id", ondelete="CASCADE"),
                                              index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    user_name: Mapped[str] = mapped_column(String(254))
    user_name_key: Mapped[str | None] = mapped_column(String(254), unique=True)
    external_id: Mapped[str | None] = mapped_column(String(254), index=True)
    attributes: Mapped[dict] = mapped_column(JSON, default=dict)
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    deleted_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()


class ScimGroup(db.Model):
    """A directory's group, which IS a Laurel department: membership sets the person's department."""

    __tablename__ = "scim_groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    scim_id: Mapped[str] = mapped_column(String(32), unique=True)
    directory_id: Mapped[int] = mapped_column(ForeignKey("scim_directories.id", ondelete="CASCADE"),
                                              index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id", ondelete="CASCADE"), unique=True)
    external_id: Mapped[str | None] = mapped_column(String(254), index=True)
    # The department was made for this group (so deleting the group may delete it when it is empty).
    created_department: Mapped[bool] = mapped_column(default=False)
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    department: Mapped[Department] = relationship()


__all__ = ["ScimDirectory", "ScimGroup", "ScimUser"]
