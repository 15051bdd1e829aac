"""The organisation's PDF signing identities (X.509 certificate + encrypted private key) and the TSA setting.

One identity is current (``current`` is True on exactly one row: a unique column where every other row holds
NULL, so two processes creating the first identity at once cannot both succeed). Replaced identities stay,
so PDFs signed before a change still show "signed by us" on the verify page.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.database import utcnow
from app.extensions import db

IDENTITY_KINDS = ("self_issued", "uploaded")


class PdfSigningIdentity(db.Model):
    __tablename__ = "pdf_signing_identities"
    __table_args__ = (UniqueConstraint("current", name="uq_pdf_signing_identities_current"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # IDENTITY_KINDS
    # True for the identity that signs new PDFs, NULL for the replaced ones (never False: see above).
    current: Mapped[bool | None] = mapped_column(default=True)
    subject: Mapped[str] = mapped_column(String(1000))
    issuer: Mapped[str] = mapped_column(String(1000))
    common_name: Mapped[str] = mapped_column(String(300))
    fingerprint: Mapped[str] = mapped_column(String(100), index=True)  # SHA-256, colon-separated hex
    not_before: Mapped[datetime]
    not_after: Mapped[datetime]
    certificate_pem: Mapped[str] = mapped_column(Text)
    chain_pem: Mapped[str] = mapped_column(Text, default="")  # the rest of an uploaded chain
    private_key: Mapped[str] = mapped_column(Text)  # PKCS#8 PEM encrypted with app.services.secrets
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    replaced_at: Mapped[datetime | None]


class PdfSigningSettings(db.Model):
    """One row (id 1), or none: no timestamp server."""

    __tablename__ = "pdf_signing_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    tsa_url: Mapped[str] = mapped_column(String(500), default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
