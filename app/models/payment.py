"""Certification fees: one row per payment attempt, and the organisation's Stripe settings.

A payment pays for one certificate: user x certification x cycle (1 for the first, +1 per renewal),
so a renewal is paid again. Card data never reaches Laurel: Stripe Checkout collects it on Stripe's
pages; we keep Stripe's ids (Checkout Session, PaymentIntent) and the amounts it reports.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.database import utcnow
from app.extensions import db
from app.models.catalog import Certification
from app.models.user import User

PAYMENT_METHODS = ("stripe", "manual")
# pending: a Checkout Session is open; paid; refunded (fully); expired: the session ended unpaid
PAYMENT_STATUSES = ("pending", "paid", "refunded", "expired")


class Payment(db.Model):
    __tablename__ = "payments"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(40), unique=True)  # random: Stripe metadata, receipts
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    certification_id: Mapped[int] = mapped_column(ForeignKey("certifications.id", ondelete="CASCADE"))
    cycle: Mapped[int] = mapped_column(default=1)
    method: Mapped[str] = mapped_column(String(16))  # PAYMENT_METHODS
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    amount: Mapped[int]  # minor units, as charged
    currency: Mapped[str] = mapped_column(String(3))
    tax_note: Mapped[str] = mapped_column(String(300), default="")
    reference: Mapped[str] = mapped_column(String(200), default="")  # invoice number (manual)
    checkout_session_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    checkout_url: Mapped[str | None] = mapped_column(Text)
    payment_intent_id: Mapped[str | None] = mapped_column(String(255), index=True)
    refunded_amount: Mapped[int] = mapped_column(default=0)
    refund_note: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    paid_at: Mapped[datetime | None]
    refunded_at: Mapped[datetime | None]
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    certification: Mapped[Certification] = relationship()

    __table_args__ = (Index("ix_payments_gate", "user_id", "certification_id", "cycle", "status"),)


class PaymentSettings(db.Model):
    """One row (id 1), or none: Stripe not configured (manual payments only)."""

    __tablename__ = "payment_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    stripe_secret_key: Mapped[str | None] = mapped_column(Text)  # SecretBox token (app.services.secrets)
    stripe_secret_key_hint: Mapped[str] = mapped_column(String(16), default="")
    stripe_webhook_secret: Mapped[str | None] = mapped_column(Text)  # SecretBox token
    stripe_webhook_secret_hint: Mapped[str] = mapped_column(String(16), default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
