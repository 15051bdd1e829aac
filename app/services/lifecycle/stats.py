"""Dashboard figures, computed with SQL aggregates (a constant number of queries, whatever the size).

The tiles are whole-table counts (O(rows): ~85 ms at 100,000 certificates, more at 1M), so the
dashboard reads them from a Redis cache that any commit touching what they count makes stale at once
(a generation number bumped after the commit: app/services/lifecycle/generations.py). What moves
with the clock alone (issued this month, expiring within 30 days) is at most DASHBOARD_CACHE_SECONDS
old. Redis trouble never breaks the dashboard: the tiles are then computed directly.
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import datetime, timedelta

import redis
from flask import current_app
from sqlalchemy import Select, String, and_, case, cast, func, or_, select, true
from sqlalchemy.orm import joinedload, lazyload

from app.database import utcnow
from app.extensions import db
from app.models import AuditEvent, Certificate, Certification, Enrollment, User
from app.services.accounts import scope
from app.services.lifecycle import generations

# Audit actions shown in the activity feed: the certification lifecycle, not logins or settings.
LIFECYCLE_PREFIXES = ("certificate.", "enrollment.", "certification.", "course.", "import.")


def _held(now: datetime):
    """SQL: the certificate counts as held (valid or expiring)."""
    not_expired = Certificate.expires_at.is_(None) | (Certificate.expires_at > now)
    return Certificate.revoked_at.is_(None) & not_expired


log = logging.getLogger(__name__)

TILES_KEY = "laurel:dashboard:tiles:{generation}"
#: Per table, the columns the tiles count by: inserting or deleting a row, or changing one of these.
TILE_COLUMNS: dict[str, frozenset[str]] = {
    "certificates": frozenset({"issued_at", "expires_at", "revoked_at"}),
    "enrollments": frozenset({"status"}),
    "certifications": frozenset({"status"}),
    "users": frozenset({"role", "active", "department_id"}),
}
generations.track("dashboard", TILE_COLUMNS)


def cached_tiles(viewer: User | None = None) -> dict:
    """The dashboard tiles for now (of the people `viewer` may see), from the cache when the data has not
    changed since. Scoped viewers get a cache entry per set of departments."""
    seconds = current_app.config.get("DASHBOARD_CACHE_SECONDS", 30)
    if not seconds:
        return dashboard_tiles(viewer=viewer)
    try:
        client = redis_client()
        key = TILES_KEY.format(generation=generations.current("dashboard")) + _scope_suffix(viewer)
        raw = client.get(key)
        if raw:
            return json.loads(raw)
        # The key was taken before counting: a change meanwhile bumps past it, never serving older data.
        tiles = dashboard_tiles(viewer=viewer)
        client.set(key, json.dumps(tiles), ex=seconds)
        return tiles
    except redis.RedisError as exc:
        log.warning("dashboard cache unavailable: %s", exc)
        return dashboard_tiles(viewer=viewer)


def _scope_suffix(viewer: User | None) -> str:
    ids = scope.department_ids(viewer) if viewer is not None else None
    if ids is None:
        return ""
    return ":scope:" + hashlib.sha256(",".join(map(str, sorted(ids))).encode()).hexdigest()[:16]


def _people(column, viewer: User | None):
    """SQL: the person in `column` is one `viewer` may see (always true without a viewer)."""
    return scope.user_clause(column, viewer) if viewer is not None else true()


LIST_COUNT_KEY = "laurel:lists:count:{generation}:{digest}"
# Any change to the rows a list may count or filter by (names for searches, departments, statuses).
generations.track("lists", {table: generations.ANY for table in
                            ("certificates", "enrollments", "users", "courses", "certifications")})
# The audit log apart: nearly every write adds an audit row, which must not empty the other lists' cache.
generations.track("audit", {"audit_events": generations.ANY, "users": generations.ANY})


def list_count(stmt: Select, generation: str = "lists") -> int:
    """How many rows `stmt` selects (a list's total), from Redis while nothing it reads has changed.

    `generation` must track every table `stmt` reads ("lists": certificates, enrollments, users,
    courses, certifications; "audit": audit_events and users).

    A list's count is a scan of every matching row (300,000 enrollments: ~70 ms); its page is not.
    Filters holding the current time (a derived status) make a new key each request: counted afresh.
    """
    seconds = current_app.config.get("DASHBOARD_CACHE_SECONDS", 30)
    compiled = stmt.compile(dialect=db.session.get_bind().dialect)
    identity = str(compiled) + json.dumps(compiled.params, sort_keys=True, default=str)
    digest = hashlib.sha256(identity.encode()).hexdigest()[:32]
    key = raw = None
    try:
        if seconds:
            key = LIST_COUNT_KEY.format(generation=f"{generation}:{generations.current(generation)}",
                                        digest=digest)
            raw = redis_client().get(key)
    except redis.RedisError as exc:
        log.warning("list count cache unavailable: %s", exc)
        key = raw = None
    if raw is not None:
        return int(raw)
    sub = stmt.options(lazyload("*")).order_by(None).subquery()
    total = db.session.scalar(select(func.count()).select_from(sub)) or 0
    if key:
        try:
            redis_client().set(key, total, ex=seconds)
        except redis.RedisError as exc:
            log.warning("list count cache unavailable: %s", exc)
    return total


def redis_client():
    from app.queue import get_redis

    return get_redis()


def dashboard_tiles(now: datetime | None = None, viewer: User | None = None) -> dict:
    """{certificates_valid (valid + expiring), active_certifications, learners (active learner accounts),
    completion_rate (completed / non-withdrawn enrollments, percent, one decimal), issued_this_month,
    expiring_30_days (valid or expiring, expiring within 30 days)}, counting only the people `viewer`
    may see (certifications are the catalog: everyone sees them all)."""
    now = now or utcnow()
    month_start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    certs = db.session.execute(select(
        func.count(case((_held(now), 1))),
        func.count(case((Certificate.issued_at >= month_start, 1))),
        func.count(case((_held(now) & (Certificate.expires_at <= now + timedelta(days=30)), 1))),
    ).where(_people(Certificate.user_id, viewer))).one()
    enrollments = db.session.execute(select(
        func.count(case((Enrollment.status == "completed", 1))),
        func.count(case((Enrollment.status != "withdrawn", 1))),
    ).where(_people(Enrollment.user_id, viewer))).one()
    active = db.session.scalar(select(func.count(Certification.id)).where(Certification.status == "active"))
    learners = db.session.scalar(select(func.count(User.id)).where(User.role == "learner",
                                                                   User.active.is_(True),
                                                                   _people(User.id, viewer)))
    completed, counted = enrollments
    return {
        "certificates_valid": certs[0], "active_certifications": active, "learners": learners,
        "completion_rate": round(100 * completed / counted, 1) if counted else 0.0,
        "issued_this_month": certs[1], "expiring_30_days": certs[2],
    }


def recent_activity(limit: int = 15, viewer: User | None = None) -> list[AuditEvent]:
    """Latest lifecycle audit events (certificates, enrollments, catalog), newest first. A scoped `viewer`
    sees only the events about certificates and enrollments of their people."""
    lifecycle = or_(*(AuditEvent.action.like(f"{prefix}%") for prefix in LIFECYCLE_PREFIXES))
    if viewer is not None and scope.department_ids(viewer) is not None:
        lifecycle = or_(*(and_(AuditEvent.subject_type == kind, AuditEvent.subject_id.in_(
            select(cast(model.id, String)).where(scope.user_clause(model.user_id, viewer))))
            for kind, model in (("certificate", Certificate), ("enrollment", Enrollment))))
    # Document plumbing (PDF rendered/failed/regenerated) has its own page; it would drown the feed.
    stmt = (select(AuditEvent).where(lifecycle, ~AuditEvent.action.like("certificate.pdf%"))
            .order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(limit))
    return list(db.session.scalars(stmt.options(joinedload(AuditEvent.actor))))


def expiring_soon(days: int = 30, limit: int = 10, now: datetime | None = None,
                  viewer: User | None = None) -> list[Certificate]:
    """Non-revoked certificates expiring within `days`, soonest first (user and certification loaded)."""
    now = now or utcnow()
    stmt = (select(Certificate)
            # The explicit lower bound lets the expires_at index skip everything already expired.
            .where(_held(now), Certificate.expires_at > now,
                   Certificate.expires_at <= now + timedelta(days=days), _people(Certificate.user_id, viewer))
            .order_by(Certificate.expires_at, Certificate.id).limit(limit)
            .options(joinedload(Certificate.user), joinedload(Certificate.certification)))
    return list(db.session.scalars(stmt))

