"""The mail outbox: every email is a row first, then a job sends it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.database import utcnow
from app.extensions import db

MAIL_STATUSES = ("queued", "sending", "sent", "failed")


class OutboxEmail(db.Model):
    __tablename__ = "outbox_emails"

    id: Mapped[int] = mapped_column(primary_key=True)
    to: Mapped[str] = mapped_column(String(254), index=True)
    subject: Mapped[str] = mapped_column(String(300))
    template: Mapped[str] = mapped_column(String(100))
    text_body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str] = mapped_column(Text)
    # [{"filename", "content_type", "storage_key"}]: attached at send time, never stored twice.
    attachments: Mapped[list] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    # Unique when set: a reminder or digest keyed this way is queued at most once, ever.
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    # Made when the row is created and sent on every attempt: receivers can drop a duplicate that a
    # crash between the SMTP hand-over and our commit caused (at-least-once, docs/reliability.md).
    message_id: Mapped[str | None] = mapped_column(String(250))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    sending_since: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_outbox_emails_status_next", "status", "next_attempt_at"),)
