"""The daily sweep (cron, see schedule.py): renewal reminders, expiries, the weekly digest, old sessions,
recertification (re-enrolling holders whose renewal window opened), compliance (required notices,
escalations, the managers' weekly digest), the retention policy (app/services/privacy/retention.py), recovery.

Safe to run twice at once: a Redis lock lets one run at a time, and the database keys
(`reminders_sent` unique rows, the conditional `expired_notified_at` update, outbox dedupe keys) keep
even a run that slips past the lock (Redis flushed, lock expired) from sending anything twice.
"""

from __future__ import annotations

import contextlib
from datetime import datetime

from redis.exceptions import LockError

from app.database import utcnow
from app.extensions import db
from app.queue import get_redis
from app.services.accounts import sessions
from app.services.compliance import digest, notices
from app.services.lifecycle import recertification, reminders
from app.services.privacy import retention

LOCK_KEY = "laurel:lock:daily"
LOCK_TIMEOUT = 1800


def run_daily(now: str | None = None) -> dict:
    """Run every daily step; `now` (ISO 8601) lets tests and the CLI travel in time."""
    moment = datetime.fromisoformat(now) if now else utcnow()
    lock = get_redis().lock(LOCK_KEY, timeout=LOCK_TIMEOUT, blocking=False)
    if not lock.acquire():
        return {"skipped": "another daily sweep is running"}
    try:
        return run_steps(moment)
    finally:
        with contextlib.suppress(LockError):  # the lock expired meanwhile: nothing to release
            lock.release()


def run_steps(now: datetime) -> dict:
    """The steps without the lock; each commits so one failing step does not undo the others."""
    counts: dict = {}
    for name, step in (("reminders", reminders.send_due_reminders), ("expired", reminders.notify_expired),
                       ("digests", reminders.send_weekly_digest), ("sessions", sessions.clean_up),
                       ("reenrolled", recertification.reenrol_due),
                       ("required_notices", notices.send_required_notices),
                       ("escalations", notices.send_escalations),
                       ("compliance_digests", digest.send_digests),
                       ("retention", retention.enforce)):
        try:
            counts[name] = step(now)
            db.session.commit()
        except Exception:
            db.session.rollback()
            raise
    from app.tasks.sweep import recover_stuck_work  # late: the sweep pulls in every recovery step

    counts["recovery"] = recover_stuck_work()
    return counts
