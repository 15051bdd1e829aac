"""In-app notifications (the bell) and the once-only record of reminders."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.database import utcnow
from app.extensions import db

NOTIFICATION_KINDS = ("issued", "renewed", "revoked", "reinstated", "expiring", "expired", "reissued")


class Notification(db.Model):
    """One message in a user's bell. Unread while `read_at` is empty."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    link: Mapped[str | None] = mapped_column(String(500))  # a path inside the app
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None]

    __table_args__ = (
        Index("ix_notifications_user_read", "user_id", "read_at"),
        Index("ix_notifications_user_created", "user_id", "created_at"),
    )


class ReminderSent(db.Model):
    """A renewal reminder that went out: unique per certificate x reminder day, so it happens once.

    Kept apart from the outbox because a learner who opted out of reminder mail still gets the
    `certificate.expiring` event and the in-app notification exactly once.
    """

    __tablename__ = "reminders_sent"

    id: Mapped[int] = mapped_column(primary_key=True)
    certificate_id: Mapped[int] = mapped_column(ForeignKey("certificates.id", ondelete="CASCADE"))
    days: Mapped[int]
    emailed: Mapped[bool] = mapped_column(default=False)
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("certificate_id", "days", name="uq_reminders_sent_certificate_days"),)
