"""Reading the audit trail and the mail log for the admin pages."""

from __future__ import annotations

from sqlalchemy import select

from app.models import AuditEvent, OutboxEmail
from app.models.notification import MAIL_STATUSES


def audit_query(action: str = "", actor: str = "", subject_type: str = "", subject_id: str = ""):
    stmt = select(AuditEvent).order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    if action:
        stmt = stmt.where(AuditEvent.action.startswith(action))
    if actor:
        stmt = stmt.where(AuditEvent.actor_label.contains(actor.lower()))
    if subject_type:
        stmt = stmt.where(AuditEvent.subject_type == subject_type)
    if subject_id:
        stmt = stmt.where(AuditEvent.subject_id == subject_id)
    return stmt


def mail_query(status: str = "", search: str = ""):
    stmt = select(OutboxEmail).order_by(OutboxEmail.created_at.desc(), OutboxEmail.id.desc())
    if status in MAIL_STATUSES:
        stmt = stmt.where(OutboxEmail.status == status)
    if search:
        stmt = stmt.where(OutboxEmail.to.contains(search.lower()) | OutboxEmail.subject.contains(search))
    return stmt
