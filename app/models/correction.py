"""Corrections of issued certificates: each reissue's history row, and the holders' correction requests."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.database import utcnow
from app.extensions import db
from app.models.certificate import Certificate
from app.models.user import User

CORRECTION_STATUSES = ("pending", "approved", "rejected")


class CertificateVersion(db.Model):
    """One reissue: the certificate became `version` (2 for the first correction). Keeps the snapshot it
    replaced, so every earlier version can be shown (and rendered) again. Unique per certificate x
    version: two corrections racing can never both make version N."""

    __tablename__ = "certificate_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    certificate_id: Mapped[int] = mapped_column(ForeignKey("certificates.id", ondelete="CASCADE"))
    version: Mapped[int]
    changes: Mapped[dict] = mapped_column(JSON, default=dict)  # field -> [before, after]
    summary: Mapped[str] = mapped_column(String(200))  # "name corrected", shown to verifiers
    reason: Mapped[str] = mapped_column(Text)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor_label: Mapped[str] = mapped_column(String(320), default="system")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    previous_snapshot: Mapped[dict] = mapped_column(JSON, default=dict)
    # The PDF the previous version had (its storage key and render number): the file itself is replaced
    # when the new one is ready (docs/corrections.md).
    previous_pdf_key: Mapped[str | None] = mapped_column(String(200))
    previous_pdf_version: Mapped[int] = mapped_column(default=0)

    actor: Mapped[User | None] = relationship()

    __table_args__ = (
        UniqueConstraint("certificate_id", "version", name="uq_certificate_versions_cert_version"),)


class CorrectionRequest(db.Model):
    """A holder asks for a correction (the values they want and why); an admin approves or rejects it."""

    __tablename__ = "correction_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    certificate_id: Mapped[int] = mapped_column(ForeignKey("certificates.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    requested: Mapped[dict] = mapped_column(JSON, default=dict)
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None]
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decision_note: Mapped[str | None] = mapped_column(Text)
    version_id: Mapped[int | None] = mapped_column(ForeignKey("certificate_versions.id", ondelete="SET NULL"))

    certificate: Mapped[Certificate] = relationship()
    user: Mapped[User] = relationship(foreign_keys=[user_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])

    __table_args__ = (
        Index("ix_correction_requests_status_created", "status", "created_at"),
        Index("ix_correction_requests_certificate", "certificate_id"),
    )
