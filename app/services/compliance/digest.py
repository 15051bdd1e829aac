"""The weekly compliance digest: each manager gets their people's gaps (overdue, missing, expired) and
upcoming expiries; the admins get the same for the people no manager looks after (no department, or a
department with no manager at or above it). Once per ISO week per recipient (outbox dedupe key), on
DIGEST_WEEKDAY or later that week, and only when there is something to say."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from flask import current_app
from sqlalchemy import select

from app.extensions import db
from app.models import User, department_managers
from app.services import audit
from app.services.compliance import matrix
from app.services.compliance.notices import _url, admins
from app.services.lifecycle.reminders import digest_week
from app.services.messaging import outbox

LIST_LIMIT = 20


def managers() -> list[User]:
    stmt = (select(User).where(User.active.is_(True), User.role.in_(("manager", "staff")),
                               User.id.in_(select(department_managers.c.user_id))).order_by(User.id))
    return list(db.session.scalars(stmt))


def context(f: matrix.Filters, now: datetime, viewer: User | None) -> dict | None:
    """What one digest says, or None when everyone in it is compliant and nothing expires soon."""
    summary = matrix.summary(f, now, viewer)
    counts = summary.overall.counts
    if not (counts["overdue"] or counts["missing"] or counts["expired"] or counts["expiring"]):
        return None
    overdue, _ = matrix.page(replace(f, state="overdue"), now, viewer, 1, LIST_LIMIT)
    expiring, _ = matrix.page(replace(f, state="expiring"), now, viewer, 1, LIST_LIMIT)
    return {"summary": summary, "overdue": overdue, "expiring": expiring,
            "matrix_url": _url("compliance.matrix", "/compliance")}


def send_digests(now: datetime, *, force: bool = False) -> int:
    if not force and now.weekday() < current_app.config["DIGEST_WEEKDAY"]:
        return 0
    week = digest_week(now)
    count = 0
    for manager in managers():
        count += _send(manager, context(matrix.Filters(), now, manager), week)
    org = context(matrix.Filters(unmanaged=True), now, None)
    for admin in admins():
        count += _send(admin, org, week)
    if count:
        audit.record("system", "compliance.digest_sent", "digest", week,
                     f"Compliance digest {week} to {count} people", recipients=count)
    return count


def _send(recipient: User, ctx: dict | None, week: str) -> int:
    if ctx is None:
        return 0
    row = outbox.queue_email(recipient.email, "compliance_digest", user_id=recipient.id,
                             dedupe_key=f"compliance-digest:{week}:{recipient.id}",
                             subject=f"Compliance this week ({week})",
                             context=ctx | {"name": recipient.name, "week": week})
    return int(row is not None)
