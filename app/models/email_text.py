"""An admin's own wording for one lifecycle email (subject and body); no row: the file template."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.database import utcnow
from app.extensions import db


class EmailText(db.Model):
    __tablename__ = "email_texts"

    # The template name in templates/emails/ (e.g. "certificate_issued"): one custom text per email.
    template: Mapped[str] = mapped_column(String(100), primary_key=True)
    subject: Mapped[str] = mapped_column(String(200))
    # Plain text with {{ placeholder }}s, paragraphs and [Label](link) buttons
    # (app/services/messaging/email_texts.py).
    body: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
