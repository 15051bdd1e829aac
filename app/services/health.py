"""Health of the parts Laurel needs: database, Redis, and at least one live worker."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import current_app
from rq import Worker
from sqlalchemy import text

from app import liveness
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
    """The freshest heartbeat among live workers: RQ's registrations and Laurel's liveness keys.

    RQ's registry is emptied by a Redis flush and RQ does not re-create it until the worker restarts;
    the liveness keys (app/liveness.py) are written again by every live worker within seconds.
    """
    max_age = current_app.config["WORKER_HEARTBEAT_MAX_AGE"]
    now = datetime.now(UTC)
    client = get_redis()
    beats = {w.name: _aware(w.last_heartbeat) for w in Worker.all(connection=client) if w.last_heartbeat}
    for name, at in liveness.read(client).workers.items():
        beat = datetime.fromtimestamp(at, UTC)
        beats[name] = max(beat, beats.get(name, beat))
    latest = max(beats.values(), default=None)
    if latest is None:
        return {"ok": False, "workers": 0, "error": "no worker has reported"}
    age = (now - latest).total_seconds()
    return {"ok": age <= max_age, "workers": len(beats), "last_heartbeat": latest.isoformat(),
            "age_seconds": round(age, 1)}


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
