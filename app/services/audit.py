"""The audit trail: writing a row for every lifecycle change, and the filtered query the admin pages read."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Select, insert, select

from app.database import utcnow
from app.extensions import db
from app.models import AuditEvent, User

Actor = User | str | None  # a user, or a label such as "system", "cli", "api"


_BATCH_KEY = "laurel_audit_batch"


def record(actor: Actor, action: str, subject_type: str, subject_id: object | None,
           summary: str, **data: object) -> AuditEvent | None:
    """Add one audit row in the current transaction (inside `batch()`: queued for its INSERT batch,
    and None is returned)."""
    user = actor if isinstance(actor, User) else None
    values = {
        "actor_id": user.id if user else None,
        "actor_label": actor.email if isinstance(actor, User) else (actor or "system"),
        "action": action,
        "subject_type": subject_type,
        "subject_id": None if subject_id is None else str(subject_id),
        "summary": summary[:500],
        "data": {k: _jsonable(v) for k, v in data.items()},
    }
    pending = db.session.info.get(_BATCH_KEY)
    if pending is not None:
        pending.append({**values, "at": utcnow()})
        return None
    event = AuditEvent(**values)
    db.session.add(event)
    return event


@contextmanager
def batch() -> Iterator[None]:
    """Bulk work (a CSV import: ~15,000 audit rows): the rows recorded inside the block are written with
    one INSERT executemany when it ends, instead of one ORM object each. Same transaction, same rows
    (their `at` is the moment they were recorded); nothing is written if the block raises, so use it
    where an exception means the transaction is rolled back (an import; a sync whose items catch their
    own errors: `sync_items.item` drops a failed item's rows with `drop_after`)."""
    if _BATCH_KEY in db.session.info:  # nested: the outer block writes
        yield
        return
    pending: list[dict] = []
    db.session.info[_BATCH_KEY] = pending
    try:
        yield
    finally:
        db.session.info.pop(_BATCH_KEY, None)
    for start in range(0, len(pending), 1000):
        # Core, not the ORM's bulk path: nothing needs these rows as objects.
        db.session.execute(insert(AuditEvent.__table__), pending[start:start + 1000])


def batch_mark() -> int | None:
    """How many rows the current `batch()` holds (None outside one): `drop_after(mark)` forgets the rows
    recorded since, for work undone by a rolled-back SAVEPOINT (one item of a sync)."""
    pending = db.session.info.get(_BATCH_KEY)
    return None if pending is None else len(pending)


def drop_after(mark: int | None) -> None:
    pending = db.session.info.get(_BATCH_KEY)
    if mark is not None and pending is not None:
        del pending[mark:]


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
