"""Issued certificates. Status is derived from dates and revocation, never stored."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    and_,
    case,
    exists,
    literal,
    text,
)
from sqlalchemy.ext.hybrid import hybrid_method
from sqlalchemy.orm import Mapped, aliased, mapped_column, relationship

from app.database import utcnow
from app.extensions import db
from app.models.catalog import Certification
from app.models.user import User

CERTIFICATE_STATUSES = ("valid", "expiring", "expired", "revoked")
PDF_STATES = ("pending", "ready", "failed")


class Certificate(db.Model):
    __tablename__ = "certificates"

    id: Mapped[int] = mapped_column(primary_key=True)
    serial: Mapped[str | None] = mapped_column(String(32), unique=True)  # LAU-2026-000123, set after insert
    # The public key of a certificate: 128 random bits, URL-safe. Never the id.
    code: Mapped[str] = mapped_column(String(40), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    certification_id: Mapped[int] = mapped_column(ForeignKey("certifications.id", ondelete="RESTRICT"))
    # 1 for the first certificate, +1 per renewal: unique with user x certification, so concurrent
    # completions can never issue the same certificate twice.
    cycle: Mapped[int] = mapped_column(default=1)
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None]
    # When "expiring" starts: expires_at minus the certification's renewal window, frozen at issue.
    renewal_opens_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    revoke_reason: Mapped[str | None] = mapped_column(Text)
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    renewed_from_id: Mapped[int | None] = mapped_column(ForeignKey("certificates.id", ondelete="SET NULL"),
                                                        unique=True)
    # What the certificate certifies, frozen at issue: holder, certification, courses, score, issuer.
    snapshot: Mapped[dict] = mapped_column(JSON, default=dict)
    issue_note: Mapped[str | None] = mapped_column(Text)  # manual issue: why
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    pdf_status: Mapped[str] = mapped_column(String(16), default="pending")
    pdf_key: Mapped[str | None] = mapped_column(String(200))
    pdf_error: Mapped[str | None] = mapped_column(Text)
    pdf_attempts: Mapped[int] = mapped_column(default=0)
    pdf_updated_at: Mapped[datetime | None]
    public: Mapped[bool] = mapped_column(default=False)
    expired_notified_at: Mapped[datetime | None]  # when certificate.expired was emitted
    # Corrections (app/services/lifecycle/corrections.py): 1 as issued, +1 per reissue; `reissues` is
    # what verifiers see of them ([{version, on, summary}]), kept here so the verify page stays one query.
    version: Mapped[int] = mapped_column(default=1)
    reissues: Mapped[list] = mapped_column(JSON, default=list)
    # Expiry administration (expiry.py): when an admin last set the expiry (reminders start over).
    expiry_set_at: Mapped[datetime | None]
    # Recertification (recertification.py): when the holder was re-enrolled for this certificate (once).
    reenrolled_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    certification: Mapped[Certification] = relationship()
    renewed_from: Mapped[Certificate | None] = relationship(remote_side=[id], foreign_keys=[renewed_from_id])
    revoked_by: Mapped[User | None] = relationship(foreign_keys=[revoked_by_id])

    __table_args__ = (
        UniqueConstraint("user_id", "certification_id", "cycle", name="uq_certificates_user_cert_cycle"),
        Index("ix_certificates_certification_issued", "certification_id", "issued_at"),
        Index("ix_certificates_user_issued", "user_id", "issued_at"),
        Index("ix_certificates_expires_at", "expires_at"),
        Index("ix_certificates_issued_at", "issued_at"),
        Index("ix_certificates_pdf_status", "pdf_status"),
        # The few revoked certificates, for the status lists' set bits (app/services/credentials/status.py)
        # without reading every certificate of a 131,072-entry list.
        Index("ix_certificates_revoked", "id", "revoked_at", postgresql_where=text("revoked_at IS NOT NULL"),
              sqlite_where=text("revoked_at IS NOT NULL")),
    )

    def status_at(self, now: datetime | None = None) -> str:
        now = now or utcnow()
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        if self.renewal_opens_at is not None and self.renewal_opens_at <= now:
            return "expiring"
        return "valid"

    @property
    def status(self) -> str:
        return self.status_at()

    @hybrid_method
    def has_status(self, status: str, now: datetime | None = None) -> bool:
        return self.status_at(now) == status

    @has_status.expression
    def has_status(cls, status: str, now: datetime | None = None):
        """SQL condition for a derived status (uses the indexed date columns)."""
        now = now or utcnow()
        not_revoked = cls.revoked_at.is_(None)
        not_expired = (cls.expires_at.is_(None)) | (cls.expires_at > now)
        in_window = cls.renewal_opens_at.is_not(None) & (cls.renewal_opens_at <= now)
        conditions = {
            "revoked": cls.revoked_at.is_not(None),
            "expired": and_(not_revoked, cls.expires_at.is_not(None), cls.expires_at <= now),
            "expiring": and_(not_revoked, not_expired, in_window),
            "valid": and_(not_revoked, not_expired, ~in_window | cls.renewal_opens_at.is_(None)),
        }
        return conditions.get(status, literal(False))

    @classmethod
    def status_case(cls, now: datetime | None = None):
        """SQL expression giving the derived status (for GROUP BY in stats)."""
        now = now or utcnow()
        return case(
            (cls.revoked_at.is_not(None), "revoked"),
            (and_(cls.expires_at.is_not(None), cls.expires_at <= now), "expired"),
            (and_(cls.renewal_opens_at.is_not(None), cls.renewal_opens_at <= now), "expiring"),
            else_="valid",
        )

    @classmethod
    def superseded(cls):
        """SQL: a newer cycle of the same user x certification exists (the certificate was renewed)."""
        newer = aliased(cls)
        return exists().where(newer.user_id == cls.user_id, newer.certification_id == cls.certification_id,
                              newer.cycle > cls.cycle)

    @property
    def is_valid(self) -> bool:
        """Counts as held: valid or expiring (inside the renewal window, not yet expired)."""
        return self.status in ("valid", "expiring")
