"""A certification's badge image (Open Badges): uploaded (PNG or SVG) or drawn from the branding."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.database import utcnow
from app.extensions import db

if TYPE_CHECKING:
    from app.models.catalog import Certification

BADGE_SOURCES = ("generated", "png", "svg")


class BadgeImage(db.Model):
    """One per certification, made with it (app/services/credentials/badges.py).

    `token` is random and names the badge in public URLs (/badges/<token>.png, /ob2/badges/<token>), so
    nobody can walk the certifications by id. `source` "generated": no file, the PNG is drawn from the
    certification's name and the branding (and kept in storage under a key derived from what it shows);
    "png": `png_key` is the re-encoded upload; "svg": `svg_key` is the checked upload and `png_key` its
    rasterised copy (what baking and importers that cannot show SVG use). `version` goes up on every
    change, so the public URLs carry it and may be cached for long.
    """

    __tablename__ = "badge_images"

    id: Mapped[int] = mapped_column(primary_key=True)
    certification_id: Mapped[int] = mapped_column(
        ForeignKey("certifications.id", ondelete="CASCADE"), unique=True)
    token: Mapped[str] = mapped_column(String(32), unique=True)
    source: Mapped[str] = mapped_column(String(16), default="generated")
    png_key: Mapped[str | None] = mapped_column(String(255))
    svg_key: Mapped[str | None] = mapped_column(String(255))
    version: Mapped[int] = mapped_column(default=1)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    certification: Mapped[Certification] = relationship()
