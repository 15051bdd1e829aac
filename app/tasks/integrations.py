"""Integration jobs: a webhook delivery attempt, a PDF copy, a sync run, and the periodic "run due syncs"."""

from __future__ import annotations

import contextlib

from redis.exceptions import LockError

from app.extensions import db
from app.services.integrations import pdf_exports, syncs, webhooks
from app.tasks.outcome import commit_outcome


def deliver(delivery_id: int, attempt: int = 0) -> str:
    """Make attempt `attempt + 1` of a delivery. Idempotent: a stale or duplicate job claims nothing."""
    row = webhooks.claim(delivery_id, attempt)
    db.session.commit()  # the claim is visible before the (slow) HTTP call
    if row is None:
        return "skipped"
    body, result = webhooks.send_once(row)
    # Sent: record it at once (retrying a dropped connection), or it is delivered again.
    return commit_outcome(lambda: webhooks.record(delivery_id, body, result))


def export_pdf(row_id: int, pdf_key: str) -> str:
    """Copy one certificate PDF out (PDF export integration).

    Idempotent: see app.services.integrations.pdf_exports."""
    outcome = pdf_exports.export(row_id, pdf_key)
    db.session.commit()
    return outcome


def run_sync(integration_id: int, trigger: str = "schedule") -> dict:
    """Run one sync (Moodle, SQL or file drop); a run never overlaps another of the same integration."""
    lock = syncs.lock(integration_id)
    if not lock.acquire():
        syncs.skipped(integration_id, "another run of this integration is still going")
        db.session.commit()
        return {"status": "skipped"}
    try:
        summary = syncs.run(integration_id, trigger=trigger)
        db.session.commit()
        if syncs.after_commit(summary):
            db.session.commit()  # the log lines of moves that failed
        return {k: v for k, v in summary.items() if k != "moves"}
    except Exception:
        db.session.rollback()
        raise
    finally:
        with contextlib.suppress(LockError):  # expired meanwhile: nothing left to release
            lock.release()


def run_due_syncs() -> dict:
    """Cron entry: enqueue a sync for every active integration whose frequency says it is due."""
    queued = syncs.enqueue_due()
    db.session.commit()
    return {"queued": queued}
