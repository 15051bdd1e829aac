"""How often certificates are viewed, downloaded and shared: daily counters, no viewer data kept."""

from __future__ import annotations

from datetime import date

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db

ENGAGEMENT_KINDS = ("view", "download", "share", "linkedin")


class EngagementCounter(db.Model):
    """One row per certificate x kind x day; increments are upserts, so it stays small and private."""

    __tablename__ = "engagement_counters"

    id: Mapped[int] = mapped_column(primary_key=True)
    certificate_id: Mapped[int] = mapped_column(ForeignKey("certificates.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    day: Mapped[date]
    count: Mapped[int] = mapped_column(default=0)

    __table_args__ = (
        UniqueConstraint("certificate_id", "kind", "day", name="uq_engagement_counters_cert_kind_day"),
        Index("ix_engagement_counters_day_kind", "day", "kind"),
    )
