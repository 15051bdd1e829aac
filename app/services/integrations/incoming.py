"""Incoming completion webhooks: `/hooks/in/<token>` authenticates, validates and applies one event.

Every request is logged on the integration. A refusal (bad signature, stale timestamp, replayed id,
malformed JSON, unknown course or learner) answers a 4xx JSON body and changes nothing: the work runs in
a savepoint that is rolled back, and the receipt (which makes the webhook id idempotent) is written in
that same savepoint.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.connectors import incoming
from app.connectors.incoming import IncomingError
from app.extensions import db
from app.models import Course, Enrollment
from app.models.integration import IncomingReceipt, Integration
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
        if _seen(integration, msg_id):
            raise IncomingError(
                409, "duplicate", f"webhook-id {msg_id} was already processed; nothing changed."
            )
        event = incoming.parse(msg_id, body)
        result = _apply_once(integration, event)
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
    registry.log(
        integration, "info", f"Accepted {event.type} for {event.email}", webhook_id=msg_id, **result
    )
    return 200, {"status": "processed", "webhook_id": msg_id, **result}


def _seen(integration: Integration, msg_id: str) -> bool:
    return (
        db.session.scalar(
            select(IncomingReceipt.id).where(
                IncomingReceipt.integration_id == integration.id, IncomingReceipt.webhook_id == msg_id
            )
        )
        is not None
    )


def _apply_once(integration: Integration, event: incoming.Incoming) -> dict:
    try:
        with db.session.begin_nested():
            result = _apply(integration, event)
            db.session.add(
                IncomingReceipt(
                    integration_id=integration.id,
                    webhook_id=event.webhook_id,
                    event_type=event.type,
                    result=result,
                )
            )
            db.session.flush()
    except IntegrityError:  # the same id processed concurrently by another request
        raise IncomingError(
            409, "duplicate", f"webhook-id {event.webhook_id} was already processed."
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
        fields = {
            "status": event.status,
            **({"progress": event.progress} if event.progress is not None else {}),
            **({"score": event.score} if event.score is not None else {}),
        }
        enrollment.update_enrollment(row, fields, actor=actor, source="webhook")
    return {
        "type": event.type,
        "learner_created": created,
        "course": course.code,
        "certificates_issued": [c.serial for c in issued],
    }
