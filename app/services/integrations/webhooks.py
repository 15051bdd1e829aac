"""Outgoing webhooks: lifecycle events become signed deliveries, sent and retried by RQ jobs.

Every lifecycle event (`events.emit`) that an active outgoing integration subscribes to becomes one
`WebhookEvent` (its id is the `webhook-id` of every attempt) and one `WebhookDelivery` per matching
integration, in the same transaction as the change itself; the delivery job is enqueued after commit.
The database is the truth: `recover` (a sweep step) re-enqueues deliveries whose job got lost.

Retries follow app.connectors.retry (Retry-After honoured). 410 Gone disables the integration; one
failing for 5 days is disabled and the admins are emailed.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import Select, or_, select, update

from app import live, liveness
from app.connectors import chat, retry, slack
from app.connectors import delivery as http_delivery
from app.connectors.crypto import CryptoError
from app.connectors.http import make_session
from app.connectors.oauth2 import AuthConfigError, OAuth2Error, auth_headers
from app.database import utcnow
from app.extensions import db
from app.models import Certification, Course, User
from app.models.integration import CHAT_TYPES, OUTGOING_TYPES, Integration, WebhookDelivery, WebhookEvent
from app.queue import enqueue_after_commit
from app.rules import display
from app.services import audit, events
from app.services.errors import NotAllowed
from app.services.integrations import registry
from app.services.messaging import outbox

DELIVER_JOB = "app.tasks.integrations.deliver"
FAILING_LIMIT = timedelta(days=5)
#: Fallback only, when worker liveness is unknown: a worker that died mid-attempt is normally
#: detected within about a minute (`free_abandoned`, app/liveness.py).
STUCK_DELIVERING = timedelta(minutes=2)  # 15 s timeout + generous margin
#: Default of RECOVERY_LOST_JOB_SECONDS: the RQ scheduler polls every few seconds; later means lost.
OVERDUE = timedelta(minutes=1)
ABANDONED = "The worker stopped during this attempt."


def envelope(event_type: str, data: dict, timestamp: datetime) -> dict:
    """The documented payload: {"type", "timestamp" (ISO 8601 UTC, Z), "data"}."""
    return {"type": event_type, "timestamp": timestamp.isoformat().replace("+00:00", "Z"), "data": data}


def _enrich(data: dict) -> dict:
    """Add readable context receivers need without a call back: user, certification, course summaries."""
    data = dict(data)
    if isinstance(data.get("user_id"), int) and "user" not in data:
        user = db.session.get(User, data["user_id"])
        if user is not None:
            data["user"] = {
                "id": user.id,
                "email": user.email,
                "name": user.name,
                "department": user.department,
            }
    if isinstance(data.get("certification_id"), int) and "certification" not in data:
        cert = db.session.get(Certification, data["certification_id"])
        if cert is not None:
            data["certification"] = {"id": cert.id, "name": cert.name}
    if isinstance(data.get("course_id"), int) and "course" not in data:
        course = db.session.get(Course, data["course_id"])
        if course is not None:
            data["course"] = {"id": course.id, "code": course.code, "title": course.title}
    return data


def _matches(integration: Integration, event_type: str, data: dict) -> bool:
    if event_type not in (integration.event_types or []):
        return False
    if integration.condition_certification_id is not None:
        cert_id = data.get(
            "certification_id", data.get("id") if event_type.startswith("certification.") else None
        )
        if cert_id != integration.condition_certification_id:
            return False
    if integration.condition_department:
        department = (data.get("user") or {}).get("department") or data.get("department")
        if (department or "").lower() != integration.condition_department.lower():
            return False
    return True


@events.subscribe("*")
def on_event(event: events.Event) -> None:
    """Queue a delivery per matching active outgoing integration (same transaction as the change)."""
    targets = [t for t in _outgoing() if event.type in (t.event_types or [])]
    if not targets:
        return
    data = _enrich(event.data)
    targets = [t for t in targets if _matches(t, event.type, data)]
    if targets:
        queue_event(event.id, event.type, data, event.timestamp, targets)


def _outgoing() -> list[Integration]:
    """The active outgoing integrations: one query per event, or one per `events.batch()` block (an
    import of 10,000 rows emits ~30,000 events; the subscriptions cannot change inside its transaction)."""
    cache = events.batch_cache()
    if cache is not None and "webhooks.outgoing" in cache:
        return cache["webhooks.outgoing"]
    targets = list(db.session.scalars(
        select(Integration).where(
            Integration.active.is_(True),
            Integration.deleted_at.is_(None),
            Integration.type.in_(OUTGOING_TYPES),
        )
    ))
    if cache is not None:
        cache["webhooks.outgoing"] = targets
    return targets


def queue_event(
    event_id: str, event_type: str, data: dict, timestamp: datetime, targets: list[Integration]
) -> list[WebhookDelivery]:
    """Store the event and one pending delivery per target; jobs go out after commit."""
    row = WebhookEvent(
        id=event_id, type=event_type, payload=envelope(event_type, data, timestamp), created_at=timestamp
    )
    db.session.add(row)
    deliveries = [WebhookDelivery(event_id=event_id, integration_id=t.id, status="pending") for t in targets]
    db.session.add_all(deliveries)
    db.session.flush()
    for item in deliveries:
        enqueue(item)
    if deliveries:
        live.announce(db.session, "deliveries")
    return deliveries


def enqueue(row: WebhookDelivery, delay: timedelta | None = None) -> None:
    # The job carries the attempt count it expects: a stale duplicate (sweep, redeliver) claims nothing.
    enqueue_after_commit(
        db.session,
        DELIVER_JOB,
        row.id,
        row.attempt,
        queue="default",
        delay=delay,
        job_id=f"whd-{row.id}-{row.attempt}",
    )


# --------------------------------------------------------------------------- one attempt


def claim(delivery_id: int, expected_attempt: int) -> WebhookDelivery | None:
    """Take a due delivery for one attempt (conditional UPDATE: one worker wins, duplicates skip)."""
    now = utcnow()
    result = db.session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.id == delivery_id,
            WebhookDelivery.attempt == expected_attempt,
            WebhookDelivery.status.in_(("pending", "failed")),
        )
        .values(status="delivering", attempt=WebhookDelivery.attempt + 1, delivering_since=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return None
    liveness.hold("webhook", delivery_id)
    row = db.session.get(WebhookDelivery, delivery_id, populate_existing=True)
    integration = row.integration
    if not integration.active or integration.deleted_at is not None:
        row.status, row.attempt, row.delivering_since = "gave_up", row.attempt - 1, None
        row.last_error = "The integration is inactive; replay once it is active again."
        return None
    return row


def attempt(row: WebhookDelivery, *, schedule_retry: bool = True) -> http_delivery.Attempt:
    """Send the claimed delivery once and record the outcome (retry, disable, or done)."""
    body, result = send_once(row)
    _record(row, body, result, schedule_retry)
    return result


def record(delivery_id: int, body: bytes, result: http_delivery.Attempt) -> str:
    """Record an attempt made by `send_once` (re-loads the row: may run again after a rollback)."""
    row = db.session.get(WebhookDelivery, delivery_id, populate_existing=True)
    assert row is not None
    _record(row, body, result, True)
    return row.status


def _formatted(kind: str, payload: dict) -> dict:
    """The body a chat integration posts (Slack, Teams, Discord), or the signed envelope itself."""
    if kind == "slack":
        return slack.format_message(payload)
    formatter = chat.FORMATTERS.get(kind)
    return formatter(payload) if formatter else payload


def send_once(row: WebhookDelivery) -> tuple[bytes, http_delivery.Attempt]:
    """One HTTP attempt of the claimed delivery; nothing is recorded on the row."""
    integration = row.integration
    payload = row.event.payload
    body = http_delivery.encode(_formatted(integration.type, payload))
    private = registry.allow_private()
    try:
        creds = registry.credentials(integration)
        signing_secrets = registry.signing_secrets(integration)
        extra = auth_headers(
            integration.auth_type,
            integration.config or {},
            creds,
            session_factory=lambda: make_session(private),
        )
    except CryptoError as exc:  # keys changed: visible on the delivery, retried once the keys are fixed
        result = http_delivery.Attempt("fail", {}, error=f"Stored secrets unreadable: {exc}")
    except (AuthConfigError, OAuth2Error) as exc:
        result = http_delivery.Attempt("fail", {}, error=f"Authentication failed: {exc}")
    else:
        url = (
            creds.get("webhook_url") if integration.type in CHAT_TYPES
            else (integration.config or {}).get("url")
        )
        result = http_delivery.send(
            url or "", row.event_id, body, signing_secrets, auth_headers=extra, allow_private=private
        )
    return body, result


def _record(row: WebhookDelivery, body: bytes, result: http_delivery.Attempt, schedule_retry: bool) -> None:
    integration = row.integration
    now = utcnow()
    row.request_headers, row.request_body = result.request_headers, body.decode("utf-8")
    row.response_status, row.response_body = result.status_code, result.response_body
    row.duration_ms, row.last_attempt_at, row.delivering_since = result.duration_ms, now, None
    live.announce(db.session, "deliveries")
    data = {
        "delivery_id": row.id,
        "event_id": row.event_id,
        "attempt": row.attempt,
        "status_code": result.status_code,
        "duration_ms": result.duration_ms,
    }
    if result.outcome == "ok":
        row.status, row.delivered_at, row.last_error = "delivered", now, None
        registry.note_success(integration)
        registry.log(integration, "info", f"Delivered {row.event.type} (attempt {row.attempt})", **data)
        return
    row.last_error = result.error
    registry.log(integration, "warning", f"Delivery of {row.event.type} failed: {result.error}", **data)
    if not schedule_retry:
        row.status = "gave_up"
        return
    registry.note_failure(integration, result.error or "failed")
    if result.outcome == "disable":
        row.status = "gave_up"
        disable(integration, "The endpoint answered 410 Gone: it no longer wants deliveries.")
        return
    if integration.failing_since and now - integration.failing_since >= FAILING_LIMIT:
        row.status = "gave_up"
        disable(
            integration,
            f"Deliveries failed for 5 days (since {display.moment(integration.failing_since)}).",
        )
        return
    delay = retry.next_delay(row.attempt, result.retry_after, status_code=result.status_code)
    if delay is None:
        row.status = "gave_up"
        registry.log(
            integration, "error", f"Gave up on {row.event.type} after {row.attempt} attempts", **data
        )
        return
    row.status, row.next_attempt_at = "failed", now + timedelta(seconds=delay)
    enqueue(row, timedelta(seconds=delay))


def disable(integration: Integration, reason: str) -> None:
    """Deactivate an integration for a delivery reason and email every active admin (once per cause)."""
    registry.set_active(integration, False, actor="system", reason=reason)
    registry.log(integration, "error", f"Disabled: {reason}")
    admins = db.session.scalars(select(User).where(User.role == "admin", User.active.is_(True))).all()
    stamp = int((integration.failing_since or utcnow()).timestamp())
    for admin in admins:
        outbox.queue_email(
            admin.email,
            "integration_disabled",
            subject=f"Integration disabled: {integration.name}",
            context={
                "integration": integration,
                "reason": reason,
                "url": outbox.external_url("integrations.detail", integration_id=integration.id),
            },
            user_id=admin.id,
            dedupe_key=f"integration-disabled:{integration.id}:{stamp}:{admin.id}",
        )


# --------------------------------------------------------------------------- admin actions


def send_test(integration: Integration, *, actor: audit.Actor) -> dict:
    """Send a `ping` now (inline, no retries) and return what happened."""
    now = utcnow()
    event_id = f"evt_{uuid.uuid4().hex}"
    data = {"message": "Laurel can reach this endpoint.", "integration_id": integration.id}
    db.session.add(
        WebhookEvent(id=event_id, type="ping", payload=envelope("ping", data, now), created_at=now)
    )
    row = WebhookDelivery(
        event_id=event_id, integration_id=integration.id, status="delivering", attempt=1, delivering_since=now
    )
    db.session.add(row)
    db.session.flush()
    result = attempt(row, schedule_retry=False)
    audit.record(
        actor,
        "integration.tested",
        "integration",
        integration.id,
        f"Test ping to {integration.name}: {'ok' if result.outcome == 'ok' else result.error}",
    )
    return {
        "ok": result.outcome == "ok",
        "status_code": result.status_code,
        "duration_ms": result.duration_ms,
        "error": result.error,
        "delivery_id": row.id,
        "response_body": result.response_body[:500],
    }


def redeliver(row: WebhookDelivery, *, actor: audit.Actor) -> None:
    """Send one delivery again now, with the same webhook-id (a fresh retry cycle)."""
    if row.status in ("pending", "delivering"):
        raise NotAllowed("This delivery is already on its way.")
    if not row.integration.active:
        raise NotAllowed("Activate the integration first.")
    _reset(row)
    audit.record(actor, "webhook.redelivered", "webhook_delivery", row.id, f"Delivery {row.id} queued again")


def replay_failed(integration: Integration, since: datetime | str, *, actor: audit.Actor) -> int:
    """Queue again every failed or abandoned delivery created since `since` (RFC 3339 text too); the count."""
    since = registry.utc_moment(since, "since")
    if not integration.active:
        raise NotAllowed("Activate the integration first.")
    rows = db.session.scalars(
        select(WebhookDelivery).where(
            WebhookDelivery.integration_id == integration.id,
            WebhookDelivery.created_at >= since,
            WebhookDelivery.status.in_(("failed", "gave_up")),
        )
    ).all()
    for row in rows:
        _reset(row)
    audit.record(
        actor,
        "webhook.replayed",
        "integration",
        integration.id,
        f"{len(rows)} failed deliveries of {integration.name} replayed",
        since=since.isoformat(),
    )
    registry.log(
        integration, "info", f"Replay of {len(rows)} failed deliveries since {display.moment(since)}"
    )
    return len(rows)


def _reset(row: WebhookDelivery) -> None:
    row.status, row.attempt, row.next_attempt_at, row.last_error = "pending", 0, utcnow(), None
    db.session.flush()
    enqueue(row)


# --------------------------------------------------------------------------- queries and shapes


def delivery_query(integration: Integration | None = None, status: str = "", event_type: str = "") -> Select:
    stmt = select(WebhookDelivery).join(WebhookEvent)
    if integration is not None:
        stmt = stmt.where(WebhookDelivery.integration_id == integration.id)
    if status:
        stmt = stmt.where(WebhookDelivery.status == status)
    if event_type:
        stmt = stmt.where(or_(WebhookEvent.type == event_type, WebhookEvent.type.like(f"{event_type}.%")))
    return stmt.order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id.desc())


def delivery_data(row: WebhookDelivery, *, full: bool = False) -> dict:
    shape = {
        "id": row.id,
        "event_id": row.event_id,
        "event_type": row.event.type,
        "integration_id": row.integration_id,
        "status": row.status,
        "attempt": row.attempt,
        "next_attempt_at": registry._iso(row.next_attempt_at) if row.status == "failed" else None,
        "response_status": row.response_status,
        "duration_ms": row.duration_ms,
        "last_error": row.last_error,
        "created_at": registry._iso(row.created_at),
        "last_attempt_at": registry._iso(row.last_attempt_at),
        "delivered_at": registry._iso(row.delivered_at),
    }
    if full:
        shape.update(
            request_headers=row.request_headers or {},
            request_body=row.request_body,
            response_body=row.response_body,
            payload=row.event.payload,
        )
    return shape
