"""Integration health at a glance: counts by status, failing integrations and the delivery backlog."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from app.database import utcnow
from app.extensions import db
from app.models.integration import WebhookDelivery
from app.services.integrations.registry import _iso, integration_query


def health() -> dict:
    """Health at a glance: counts by status, failing integrations, delivery backlog."""
    integrations = db.session.scalars(integration_query()).all()
    by_status: dict[str, int] = {"active": 0, "failing": 0, "inactive": 0}
    for integration in integrations:
        by_status[integration.status] = by_status.get(integration.status, 0) + 1
    since = utcnow() - timedelta(hours=24)
    recent = dict(
        db.session.execute(
            select(WebhookDelivery.status, func.count())
            .where(WebhookDelivery.created_at >= since)
            .group_by(WebhookDelivery.status)
        ).all()
    )
    oldest = db.session.scalar(
        select(func.min(WebhookDelivery.created_at)).where(
            WebhookDelivery.status.in_(("pending", "failed", "delivering"))
        )
    )
    failing = [i for i in integrations if i.status == "failing"]
    return {
        "status": "failing" if failing else "ok",
        "integrations": {"total": len(integrations), **by_status},
        "deliveries_24h": {
            s: int(recent.get(s, 0)) for s in ("pending", "delivering", "delivered", "failed", "gave_up")
        },
        "oldest_undelivered_at": _iso(oldest),
        "failing": [
            {
                "id": i.id,
                "name": i.name,
                "type": i.type,
                "last_error": i.last_error,
                "failing_since": _iso(i.failing_since),
            }
            for i in failing
        ],
        "items": [
            {
                "id": i.id,
                "name": i.name,
                "type": i.type,
                "status": i.status,
                "last_success_at": _iso(i.last_success_at),
                "last_error": i.last_error,
            }
            for i in integrations
        ],
    }
