"""Incoming completion webhooks: `/hooks/in/<token>` authenticates, validates and applies one event.

Every request is logged on the integration. A refusal (bad signature, stale timestamp, replayed id or
replayed signed content, malformed JSON, unknown course or learner) answers a 4xx JSON body and changes
nothing: the work runs in a savepoint that is rolled back, and the receipt (which makes the webhook id and
the signed content idempotent) is written in that same savepoint. Receipts are kept for
INCOMING_REPLAY_WINDOW_HOURS, then the sweep deletes them.

An `enrollment.upsert` that would move a completed enrollment back (an old message arriving late) is
answered 200 "ignored" and changes nothing: senders must not retry it, and only an admin may reopen.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, func, or_, select
from sqlalchemy.exc import IntegrityError

from app.connectors import incoming
from app.connectors.incoming import IncomingError
from app.database import utcnow
from app.extensions import db
from app.models import Course, Enrollment
from app.models.integration import IncomingReceipt, Integration
from app.services import recovery
from app.services.accounts import users
from app.services.errors import NotAllowed, ValidationError
from app.services.integrations import registry
from app.services.lifecycle import enrollment


def handle(token: str, headers: Mapping[str, str], body: bytes) -> tuple[int, dict]:
    """Process one request; returns (HTTP status, JSON body). The caller commits."""
    integration = db.session.scalar(
        select(Integration).where(
            Integration.incoming_token == token,
            Integration.type == "incoming",
            Integration.deleted_at.is_(None),
        )
    )
    if integration is None:
        return 404, {"error": "not_found", "detail": "No incoming hook at this address."}
    try:
        if not integration.active:
            raise IncomingError(403, "inactive", "This incoming hook is deactivated.")
        if len(body) > incoming.MAX_BODY:
            raise IncomingError(413, "too_large", f"The body exceeds {incoming.MAX_BODY // 1024} KiB.")
        scheme = (integration.config or {}).get("signature_scheme", "standard")
        msg_id = incoming.authenticate(headers, body, scheme, registry.signing_secrets(integration))
        digest = incoming.content_hash(headers, body, scheme)
        _refuse_seen(integration, msg_id, digest)
        event = incoming.parse(msg_id, body)
        result = _apply_once(integration, event, digest)
    except IncomingError as exc:
        registry.log(
            integration,
            "warning",
            f"Refused ({exc.status} {exc.code}): {exc.detail}",
            webhook_id=headers.get("webhook-id"),
            fields=exc.fields,
        )
        return exc.status, exc.body()
    registry.note_success(integration)
    status = "ignored" if result.get("ignored") else "processed"
    summary = f"Accepted {event.type} for {event.email} ({status})"
    registry.log(integration, "info", summary, webhook_id=msg_id, **result)
    return 200, {"status": status, "webhook_id": msg_id, **result}


def _window() -> timedelta:
    return timedelta(hours=current_app.config["INCOMING_REPLAY_WINDOW_HOURS"])


def _refuse_seen(integration: Integration, msg_id: str, digest: str) -> None:
    """409 if this webhook id, or the same signed content under another id (a replay), was processed."""
    seen = db.session.execute(
        select(IncomingReceipt.webhook_id).where(
            IncomingReceipt.integration_id == integration.id,
            or_(IncomingReceipt.webhook_id == msg_id, IncomingReceipt.content_hash == digest),
        ).limit(1)
    ).first()
    if seen is None:
        return
    if seen.webhook_id == msg_id:
        raise IncomingError(409, "duplicate", f"webhook-id {msg_id} was already processed; nothing changed.")
    raise IncomingError(
        409, "duplicate",
        f"The same signed message was already processed as webhook-id {seen.webhook_id}; nothing changed.",
    )


def _apply_once(integration: Integration, event: incoming.Incoming, digest: str) -> dict:
    try:
        with db.session.begin_nested():
            result = _apply(integration, event)
            db.session.add(
                IncomingReceipt(
                    integration_id=integration.id,
                    webhook_id=event.webhook_id,
                    content_hash=digest,
                    event_type=event.type,
                    result=result,
                )
            )
            db.session.flush()
    except IntegrityError:  # the same id or content processed concurrently by another request
        raise IncomingError(
            409, "duplicate", f"webhook-id {event.webhook_id} (or the same message) was already processed."
        ) from None
    except (ValidationError, NotAllowed) as exc:
        fields = exc.errors if isinstance(exc, ValidationError) else {}
        raise IncomingError(422, "rejected", str(exc), fields) from None
    return result


def _course(event: incoming.Incoming) -> Course:
    if event.course_code:
        course = db.session.scalar(select(Course).where(func.lower(Course.code) == event.course_code.lower()))
    else:
        matches = db.session.scalars(
            select(Course).where(Course.external_id == event.course_external_id)
        ).all()
        if len(matches) > 1:
            raise IncomingError(
                422,
                "ambiguous_course",
                f"Several courses have external id {event.course_external_id}; send course_code instead.",
            )
        course = matches[0] if matches else None
    if course is None:
        raise IncomingError(
            422,
            "unknown_course",
            f"No course {event.course_code or event.course_external_id}.",
            {"course_code": "unknown course"},
        )
    return course


def _apply(integration: Integration, event: incoming.Incoming) -> dict:
    course = _course(event)
    actor = f"integration:{integration.id}"
    user = users.find_by_email(event.email)
    created = False
    if user is None:
        if not (integration.config or {}).get("create_users"):
            raise IncomingError(
                422,
                "unknown_learner",
                f"No learner {event.email} (this hook does not create learners).",
                {"email": "unknown learner"},
            )
        if not event.name:
            raise IncomingError(
                422,
                "invalid_payload",
                "A name is required for a new learner.",
                {"name": "required for a new learner"},
            )
        user, created = (
            users.create_user(event.email, event.name, "learner", event.department, actor=actor),
            True,
        )
    issued = []
    if event.status == "completed":
        issued = enrollment.record_completion(
            user, course, score=event.score, completed_at=event.completed_at, actor=actor, source="webhook"
        )
    else:
        row = db.session.scalar(
            select(Enrollment).where(Enrollment.user_id == user.id, Enrollment.course_id == course.id)
        )
        if row is None:
            row = enrollment.enroll(user, course, actor=actor, source="webhook")
        elif enrollment.reopens(row, event.status):
            return {**_outcome(event, course, created), "ignored": "The enrollment is completed already."}
        fields = {
            "status": event.status,
            **({"progress": event.progress} if event.progress is not None else {}),
            **({"score": event.score} if event.score is not None else {}),
        }
        enrollment.update_enrollment(row, fields, actor=actor, source="webhook")
    return {**_outcome(event, course, created), "certificates_issued": [c.serial for c in issued]}


def _outcome(event: incoming.Incoming, course: Course, created: bool) -> dict:
    return {"type": event.type, "learner_created": created, "course": course.code, "certificates_issued": []}


@recovery.register
def forget_old_receipts(now: datetime | None = None) -> dict:
    """Sweep step: forget receipts older than the replay window. The window outlasts every sender retry
    schedule (Standard Webhooks: about 28 h; GitHub redelivery: 3 days); after it, a completion with the
    same completed_at is still recorded once, and no message can move a completed enrollment back."""
    cutoff = (now or utcnow()) - _window()
    result = db.session.execute(
        delete(IncomingReceipt).where(IncomingReceipt.received_at < cutoff)
        .execution_options(synchronize_session=False)
    )
    return {"incoming_receipts_forgotten": result.rowcount}
