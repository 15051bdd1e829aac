"""Integration jobs: one webhook delivery attempt, one sync run, and the periodic "run due syncs"."""

from __future__ import annotations

from app.extensions import db
from app.services import syncs, webhooks


def deliver(delivery_id: int, attempt: int = 0) -> str:
    """Make attempt `attempt + 1` of a delivery. Idempotent: a stale or duplicate job claims nothing."""
    row = webhooks.claim(delivery_id, attempt)
    db.session.commit()  # the claim is visible before the (slow) HTTP call
    if row is None:
        return "skipped"
    webhooks.attempt(row)
    status = row.status
    db.session.commit()
    return status


def run_sync(integration_id: int, trigger: str = "schedule") -> dict:
    """Run one sync (Moodle, SQL or file drop); a run never overlaps another of the same integration."""
    try:
        summary = syncs.run(integration_id, trigger=trigger)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    syncs.after_commit(summary)
    return summary


def run_due_syncs() -> dict:
    """Cron entry: enqueue a sync for every active integration whose frequency says it is due."""
    queued = syncs.enqueue_due()
    db.session.commit()
    return {"queued": queued}
