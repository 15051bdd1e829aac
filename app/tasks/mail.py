"""Sending outbox mail."""

from __future__ import annotations

from app.extensions import db
from app.models import OutboxEmail
from app.services.messaging import outbox
from app.tasks.outcome import commit_outcome


def send_email(email_id: int) -> str:
    """Send one outbox row. Safe to run any number of times: only a due, unclaimed row is sent."""
    row = outbox.claim(email_id)
    db.session.commit()
    if row is None:
        return "skipped"
    try:
        outbox.send(row)
    except Exception as exc:  # any backend failure is recorded on the row and retried
        outbox.mark_failed(row, f"{type(exc).__name__}: {exc}")
        db.session.commit()
        return row.status
    # Handed over: record it at once (retrying a dropped connection), or it is sent again.
    commit_outcome(lambda: outbox.mark_sent(db.session.get(OutboxEmail, email_id, populate_existing=True)))
    return "sent"
