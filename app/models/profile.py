"""A learner's public profile (/p/<handle>) and the one-time wallet exchanges of their credentials."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.database import utcnow
from app.extensions import db
from app.models.certificate import Certificate
from app.models.user import User


class PublicProfile(db.Model):
    """Opt-in: one per user. The handle is stored lower-cased, so uniqueness is case-insensitive on every
    backend; a disabled profile keeps its handle (switching it back on gives the same address)."""

    __tablename__ = "public_profiles"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    handle: Mapped[str] = mapped_column(String(30), unique=True)
    enabled: Mapped[bool] = mapped_column(default=True)
    headline: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    user: Mapped[User] = relationship()


class WalletExchange(db.Model):
    """A VC-API exchange the holder opened for one credential: short-lived and single use.

    Only a SHA-256 of the exchange token is kept (the URL is the secret, shown once to the holder)."""

    __tablename__ = "wallet_exchanges"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    certificate_id: Mapped[int] = mapped_column(ForeignKey("certificates.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]

    certificate: Mapped[Certificate] = relationship()

    __table_args__ = (Index("ix_wallet_exchanges_user_created", "user_id", "created_at"),)
