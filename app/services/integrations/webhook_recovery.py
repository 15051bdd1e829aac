"""Recovering webhook deliveries: due deliveries whose job was lost are queued again, deliveries claimed
by a job no live worker holds are freed. Registered with the recovery sweep (app/tasks/sweep.py).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select, update

from app.database import utcnow
from app.extensions import db
from app.models.integration import Integration, WebhookDelivery
from app.queue import enqueue_after_commit, waiting
from app.services import recovery
from app.services.integrations.webhooks import ABANDONED, DELIVER_JOB, OVERDUE, STUCK_DELIVERING, enqueue


@recovery.register
def recover(now: datetime | None = None) -> dict:
    """Sweep step: free deliveries stuck in `delivering`, re-enqueue overdue ones (lost jobs)."""
    now = now or utcnow()
    db.session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.status == "delivering", WebhookDelivery.delivering_since < now - STUCK_DELIVERING
        )
        .values(
            status="failed",
            delivering_since=None,
            next_attempt_at=now,
            last_error=ABANDONED,
        )
        .execution_options(synchronize_session=False)
    )
    overdue = timedelta(seconds=current_app.config.get("RECOVERY_LOST_JOB_SECONDS", OVERDUE.total_seconds()))
    due = db.session.scalars(
        select(WebhookDelivery)
        .where(
            WebhookDelivery.status.in_(("pending", "failed")),
            WebhookDelivery.next_attempt_at <= now - overdue,
        )
        .join(Integration)
        .where(Integration.active.is_(True))
    ).all()
    alive = waiting([f"whd-{row.id}-{row.attempt}" for row in due])
    lost = [row for row in due if f"whd-{row.id}-{row.attempt}" not in alive]
    for row in lost:
        enqueue(row)
    return {"webhooks": len(lost)}


@recovery.register_abandoned
def free_abandoned(claims: recovery.Claims) -> dict:
    """Deliveries "delivering" whose job no live worker holds: retry them now (same webhook-id)."""
    rows = db.session.execute(
        select(WebhookDelivery.id, WebhookDelivery.attempt).where(
            WebhookDelivery.status == "delivering", WebhookDelivery.delivering_since < claims.claimed_before
        )
    ).all()
    freed = 0
    for delivery_id, attempt_no in rows:
        if not claims.abandoned("webhook", delivery_id):
            continue
        result = db.session.execute(
            update(WebhookDelivery)
            .where(
                WebhookDelivery.id == delivery_id,
                WebhookDelivery.status == "delivering",
                WebhookDelivery.attempt == attempt_no,
            )
            .values(status="failed", delivering_since=None, next_attempt_at=claims.now, last_error=ABANDONED)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 1:
            freed += 1
            enqueue_after_commit(
                db.session, DELIVER_JOB, delivery_id, attempt_no, queue="default",
                job_id=f"whd-{delivery_id}-{attempt_no}",
            )
    return {"webhooks_abandoned": freed}
