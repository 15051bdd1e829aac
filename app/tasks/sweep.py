"""Periodic work, run by the cron process (see `schedule.py`). Every step is idempotent.

A Redis lock keeps two sweeps from running at once; the database rules (conditional updates,
unique keys) keep even an overlapping run from doing anything twice.
"""

from __future__ import annotations

from app.extensions import db
from app.queue import get_redis
from app.services.messaging import outbox

LOCK_KEY = "laurel:lock:sweep"


def recover_stuck_work() -> dict:
    """Re-enqueue work the database says is due but Redis may have lost."""
    lock = get_redis().lock(LOCK_KEY, timeout=600, blocking=False)
    if not lock.acquire():
        return {"skipped": "another sweep is running"}
    try:
        counts = {"mail": outbox.recover()}
        for step in _extra_recovery_steps():
            counts.update(step())
        db.session.commit()
        return counts
    finally:
        lock.release()


def _extra_recovery_steps():
    """Recovery steps contributed by other capabilities (PDF rendering, webhooks)."""
    from app.services import recovery

    return recovery.steps()
