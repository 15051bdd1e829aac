"""Counting views, downloads, shares and LinkedIn clicks per certificate (no personal data)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from app.database import utcnow
from app.extensions import db
from app.models.engagement import ENGAGEMENT_KINDS, EngagementCounter
from app.services import recovery


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


PENDING_KEY = "laurel:engagement:pending"


def count_later(certificate_id: int | None, kind: str = "view") -> None:
    """Count without touching the database: one Redis HINCRBY, the same for a hit and a miss.

    The public verify page must answer in the same time whether or not a code exists; the
    counts reach the database when the sweep calls `flush_pending()`.
    """
    from app.queue import get_redis

    try:
        count_in(get_redis(), certificate_id, kind)
    except Exception:  # a lost view count must never break the verify page
        return


def count_in(pipe, certificate_id: int | None, kind: str = "view", by: int = 1) -> None:
    """The HINCRBY of `count_later` on a pipeline (or client) the caller sends: a replayed verify answer
    counts its view in the round trip it makes anyway (app/web/replay.py); `by=-1` takes one back."""
    pipe.hincrby(PENDING_KEY, f"{certificate_id or 0}:{kind}:{utcnow().date().isoformat()}", by)


def flush_pending() -> dict:
    """Move counts gathered in Redis into the daily counters.

    The hash is renamed first, so views arriving meanwhile start a fresh one and nothing is counted
    twice; a crash before the caller commits loses that batch of view counts (never anything else).
    """
    from app.queue import get_redis

    redis = get_redis()
    batch_key = f"{PENDING_KEY}:flushing"
    try:
        redis.rename(PENDING_KEY, batch_key)
    except Exception:  # no pending counts (RENAME of a missing key is an error)
        return {"engagement": 0}
    pending = redis.hgetall(batch_key)
    redis.delete(batch_key)
    counts = []
    for field, count in pending.items():
        cert_id, kind, day = field.decode().split(":")
        if cert_id != "0" and kind in ENGAGEMENT_KINDS:  # "0": views of unknown codes
            counts.append((int(cert_id), kind, date.fromisoformat(day), int(count)))
    existing = _existing_certificates({cert_id for cert_id, *_ in counts})
    for cert_id, kind, day, count in counts:
        if cert_id in existing:  # else deleted since it was viewed
            _add(cert_id, kind, day, count)
    return {"engagement": sum(count for cert_id, *_, count in counts if cert_id in existing)}


def _existing_certificates(ids: set[int]) -> set[int]:
    from app.models import Certificate

    if not ids:
        return set()
    return set(db.session.scalars(select(Certificate.id).where(Certificate.id.in_(ids))))


def _add(certificate_id: int, kind: str, day: date, count: int) -> None:
    insert = pg_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = insert(EngagementCounter).values(certificate_id=certificate_id, kind=kind, day=day, count=count)
    db.session.execute(stmt.on_conflict_do_update(
        index_elements=["certificate_id", "kind", "day"],
        set_={"count": EngagementCounter.count + count},
    ))


recovery.register(flush_pending)
