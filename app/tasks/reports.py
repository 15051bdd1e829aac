"""Scheduled analytics reports (run hourly by the cron process, see schedule.py)."""

from __future__ import annotations

from app.extensions import db
from app.queue import get_redis
from app.services.analytics import cache, figures, scheduled_reports

LOCK_KEY = "laurel:lock:scheduled-reports"
WARM_LOCK_KEY = "laurel:lock:analytics-warm"


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


def warm_analytics() -> dict:
    """Compute the figures of the unfiltered Analytics page that the cache lacks (run every minute), so
    the page admins open first answers from the cache even on a big install. Cheap when nothing changed:
    every figure is a cache hit."""
    if not cache.enabled():
        return {"skipped": "ANALYTICS_CACHE_SECONDS is 0"}
    lock = get_redis().lock(WARM_LOCK_KEY, timeout=600, blocking=False)
    if not lock.acquire():
        return {"skipped": "another warm-up is in progress"}
    try:
        filters = figures.Filters()
        missing = [name for name in figures.FIGURES if cache.cached(name, filters) is None]
        for name in missing:
            cache.figure(name, filters)
        return {"computed": missing}
    finally:
        db.session.rollback()  # read-only: end the transaction the queries opened
        lock.release()
