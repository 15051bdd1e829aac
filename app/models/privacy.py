"""The learner's data rights (GDPR): data exports, the record of erasures, the retention policy."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.database import utcnow
from app.extensions import db
from app.models.user import User

EXPORT_STATUSES = ("queued", "building", "ready", "failed")
ERASED_CERTIFICATE_POLICIES = ("keep", "revoke")


class DataExport(db.Model):
    """One "download my data" ZIP. `token` (random, 256 bits) is the only id in its URL; the file's
    storage key is random too and is never handed out (the app streams it to its owner)."""

    __tablename__ = "data_exports"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # Who asked: the person themself, or an admin on their behalf (who may then download it too).
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(16), default="queued")
    storage_key: Mapped[str | None] = mapped_column(String(200))
    size: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    ready_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]  # set when ready; the daily sweep deletes the file after it

    user: Mapped[User] = relationship(foreign_keys=[user_id])

    __table_args__ = (Index("ix_data_exports_status", "status"),)

    def is_available(self, now: datetime | None = None) -> bool:
        return (self.status == "ready" and self.storage_key is not None and self.expires_at is not None
                and self.expires_at > (now or utcnow()))


class Erasure(db.Model):
    """A person whose personal data was erased: unique per user, so an erasure happens exactly once.
    Holds no personal data: only the pseudonym that replaced their name and address."""

    __tablename__ = "erasures"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    pseudonym: Mapped[str] = mapped_column(String(40), unique=True)
    certificate_policy: Mapped[str] = mapped_column(String(16))
    erased_at: Mapped[datetime] = mapped_column(default=utcnow)
    erased_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class PrivacySettings(db.Model):
    """The organisation's privacy policy (Admin › Privacy): one row (id 1), or none (the defaults)."""

    __tablename__ = "privacy_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    # What an erasure does to the person's certificates: keep them verifiable under "a person whose
    # data was erased", or revoke them.
    erased_certificates: Mapped[str] = mapped_column(String(16), default="keep")
    # Retention (enforced by the daily sweep only while `retention_enabled`; the dry run works always).
    retention_enabled: Mapped[bool] = mapped_column(default=False)
    mail_body_days: Mapped[int] = mapped_column(default=90)
    audit_years: Mapped[int] = mapped_column(default=6)
    expired_pdf_years: Mapped[int] = mapped_column(default=6)
    export_days: Mapped[int] = mapped_column(default=7)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


__all__ = ["ERASED_CERTIFICATE_POLICIES", "EXPORT_STATUSES", "DataExport", "Erasure", "PrivacySettings"]
