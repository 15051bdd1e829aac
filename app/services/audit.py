"""The audit trail: writing a row for every lifecycle change, and the filtered query the admin pages read."""

from __future__ import annotations

from sqlalchemy import Select, select

from app.extensions import db
from app.models import AuditEvent, User

Actor = User | str | None  # a user, or a label such as "system", "cli", "api"


def record(actor: Actor, action: str, subject_type: str, subject_id: object | None,
           summary: str, **data: object) -> AuditEvent:
    """Add one audit row in the current transaction."""
    user = actor if isinstance(actor, User) else None
    label = actor.email if isinstance(actor, User) else (actor or "system")
    event = AuditEvent(
        actor_id=user.id if user else None,
        actor_label=label,
        action=action,
        subject_type=subject_type,
        subject_id=None if subject_id is None else str(subject_id),
        summary=summary[:500],
        data={k: _jsonable(v) for k, v in data.items()},
    )
    db.session.add(event)
    return event


def query(action: str = "", actor: str = "", subject_type: str = "", subject_id: str = "") -> Select:
    """Newest first; `action` matches a prefix ("certificate." finds every certificate action)."""
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


def _jsonable(value: object) -> object:
    if isinstance(value, str | int | float | bool | type(None)):
        return value
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return str(value)
