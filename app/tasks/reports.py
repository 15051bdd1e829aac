"""Scheduled analytics reports (run hourly by the cron process, see schedule.py)."""

from __future__ import annotations

from app.extensions import db
from app.queue import get_redis
from app.services import scheduled_reports

LOCK_KEY = "laurel:lock:scheduled-reports"


def send_scheduled_reports() -> dict:
    """Queue the weekly/monthly report mails that are due. Idempotent: each period goes out once
    (outbox dedupe keys); the lock only keeps two overlapping runs from racing on the same key."""
    lock = get_redis().lock(LOCK_KEY, timeout=900, blocking=False)
    if not lock.acquire():
        return {"skipped": "another report run is in progress"}
    try:
        queued = scheduled_reports.send_due()
        db.session.commit()
        return {"queued": queued}
    finally:
        lock.release()
