"""Health of the parts Laurel needs: database, Redis, and at least one live worker."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import current_app
from rq import Worker
from sqlalchemy import text

from app.extensions import db
from app.queue import get_redis


def check() -> dict:
    """{"status": "ok"|"degraded", "checks": {...}}: degraded when any part is down."""
    checks = {"database": _database(), "redis": _redis()}
    checks["worker"] = _worker() if checks["redis"]["ok"] else {"ok": False, "error": "Redis is down"}
    healthy = all(c["ok"] for c in checks.values())
    return {"status": "ok" if healthy else "degraded", "checks": checks}


def _database() -> dict:
    try:
        db.session.execute(text("SELECT 1"))
        return {"ok": True}
    except Exception as exc:  # report, never raise: this is the health page
        db.session.rollback()
        return {"ok": False, "error": type(exc).__name__}


def _redis() -> dict:
    try:
        get_redis().ping()
        return {"ok": True}
    except Exception as exc:
        return {"ok": False, "error": type(exc).__name__}


def _worker() -> dict:
    max_age = current_app.config["WORKER_HEARTBEAT_MAX_AGE"]
    now = datetime.now(UTC)
    beats = [w.last_heartbeat for w in Worker.all(connection=get_redis()) if w.last_heartbeat]
    latest = max((b.replace(tzinfo=UTC) if b.tzinfo is None else b for b in beats), default=None)
    if latest is None:
        return {"ok": False, "workers": 0, "error": "no worker has reported"}
    age = (now - latest).total_seconds()
    return {"ok": age <= max_age, "workers": len(beats), "last_heartbeat": latest.isoformat(),
            "age_seconds": round(age, 1)}
