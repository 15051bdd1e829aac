"""Training session reminders (cron every 10 minutes, see schedule.py)."""

from __future__ import annotations

from datetime import datetime

from app.database import utcnow
from app.extensions import db
from app.services.training import invitations


def send_session_reminders(now: str | None = None) -> dict:
    """Remind people of sessions starting within 24 hours. Idempotent without a lock: each registration's
    reminder is claimed by a conditional UPDATE (and the mail has a dedupe key), so overlapping runs send
    each reminder once. `now` (ISO 8601) lets tests travel in time."""
    moment = datetime.fromisoformat(now) if now else utcnow()
    sent = invitations.send_due_reminders(moment)
    db.session.commit()
    return {"reminders": sent}
