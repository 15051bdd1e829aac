"""Counting views, downloads, shares and LinkedIn clicks per certificate (no personal data)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from app.database import utcnow
from app.extensions import db
from app.models.engagement import ENGAGEMENT_KINDS, EngagementCounter


def record(certificate_id: int, kind: str, day: date | None = None) -> None:
    """Add one to today's counter: a single upsert, safe under concurrent requests."""
    if kind not in ENGAGEMENT_KINDS:
        raise ValueError(f"unknown engagement kind {kind!r}")
    day = day or utcnow().date()
    insert = pg_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = insert(EngagementCounter).values(certificate_id=certificate_id, kind=kind, day=day, count=1)
    stmt = stmt.on_conflict_do_update(
        index_elements=["certificate_id", "kind", "day"],
        set_={"count": EngagementCounter.count + 1},
    )
    db.session.execute(stmt)


def totals(certificate_id: int) -> dict[str, int]:
    """All-time counts per kind for one certificate."""
    rows = db.session.execute(
        select(EngagementCounter.kind, func.sum(EngagementCounter.count))
        .where(EngagementCounter.certificate_id == certificate_id)
        .group_by(EngagementCounter.kind)
    ).all()
    counts = dict.fromkeys(ENGAGEMENT_KINDS, 0)
    counts.update({kind: int(total) for kind, total in rows})
    return counts
