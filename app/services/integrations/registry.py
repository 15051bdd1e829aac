"""Integrations: create from a template, edit, activate/deactivate, delete (soft), logs and health.

Secrets (API keys, tokens, passwords, client secrets, the Moodle token, the SQL URL, the Slack URL,
signing secrets) are encrypted with the application's SecretBox before they touch a row and are never
given back: shapes carry only a masked hint (last 4 characters). A blank secret field in an update keeps
the stored value. Outgoing deliveries live in `webhooks`, sync runs in `syncs`.
"""

from __future__ import annotations

import json
import secrets as _secrets
from datetime import UTC, datetime, timedelta

from flask import current_app
from sqlalchemy import Select, func, select

from app.connectors import signing
from app.connectors.crypto import mask
from app.database import utcnow
from app.extensions import db
from app.models.integration import (
    INTEGRATION_TYPES,
    LOG_LEVELS,
    OUTGOING_TYPES,
    ExportedPdf,
    Integration,
    IntegrationLog,
    SyncRun,
    WebhookDelivery,
)
from app.rules import display
from app.services import audit, locking
from app.services.errors import NotAllowed, ValidationError
from app.services.integrations.settings import EVENT_TYPES, SECRET_FIELDS, allow_private, clean  # noqa: F401 - re-exported for views and the API
from app.services.secrets import secret_box

TEMPLATES: dict[str, dict] = {
    "generic_webhook": {"label": "Generic webhook", "summary": "Signed JSON events to any HTTPS endpoint."},
    "slack": {"label": "Slack", "summary": "Readable messages in a channel via a Slack incoming webhook."},
    "teams": {"label": "Microsoft Teams",
              "summary": "Adaptive Cards in a channel via a Teams incoming webhook or a Workflows webhook."},
    "discord": {"label": "Discord", "summary": "Embeds in a channel via a Discord webhook."},
    "moodle": {"label": "Moodle / IOMAD", "summary": "Sync courses, learners and completions from Moodle."},
    "incoming": {
        "label": "Incoming completions",
        "summary": "Other systems post signed completions to Laurel.",
    },
    "sql": {"label": "SQL database", "summary": "Pull completions from a read-only SQL query."},
    "file_drop": {
        "label": "CSV drop folder / S3",
        "summary": "Import CSV files dropped into a folder or an S3 bucket.",
    },
    "pdf_export": {
        "label": "Certificate PDF export",
        "summary": "Copy each new certificate PDF to a folder or an S3 bucket, as <serial>.pdf.",
    },
}
SECRET_GRACE = timedelta(hours=24)


def credentials(integration: Integration) -> dict[str, str]:
    """The decrypted credentials (for connectors and delivery only; never for display)."""
    if not integration.credentials_encrypted:
        return {}
    return json.loads(secret_box().decrypt(integration.credentials_encrypted))


def signing_secrets(integration: Integration, now: datetime | None = None) -> list[str]:
    """Current signing secret, plus the previous one during its grace period (rotation)."""
    box = secret_box()
    found = (
        [box.decrypt(integration.signing_secret_encrypted)] if integration.signing_secret_encrypted else []
    )
    if (
        integration.previous_secret_encrypted
        and integration.previous_secret_until
        and integration.previous_secret_until > (now or utcnow())
    ):
        found.append(box.decrypt(integration.previous_secret_encrypted))
    return found


def _store_secrets(integration: Integration, new: dict[str, str], drop: list[str] | tuple = ()) -> None:
    """Add or replace the `new` secrets and delete the `drop` ones (another authentication type's)."""
    stored = credentials(integration)
    if not new and not set(drop) & set(stored):
        return
    merged = {k: v for k, v in {**stored, **new}.items() if k not in drop}
    integration.credentials_encrypted = secret_box().encrypt(json.dumps(merged))
    integration.credential_hints = {k: mask(v) for k, v in merged.items()}


def _set_signing_secret(integration: Integration, secret: str) -> None:
    integration.signing_secret_encrypted = secret_box().encrypt(secret)
    integration.signing_secret_hint = mask(secret)


# --------------------------------------------------------------------------- commands


def create(kind: str, fields: dict, *, actor: audit.Actor) -> tuple[Integration, str | None]:
    """Create an (inactive) integration from a template. Returns it and the new signing secret, shown
    once (None for types without one). Raises ValidationError."""
    if kind not in INTEGRATION_TYPES:
        raise ValidationError({"type": f"Choose one of {', '.join(INTEGRATION_TYPES)}."})
    values = clean(kind, fields, None)
    secrets = values.pop("secrets")
    values.pop("drop_secrets", None)  # nothing stored yet
    integration = Integration(type=kind, **values)
    signing_secret = None
    if kind in (*OUTGOING_TYPES, "incoming"):
        signing_secret = signing.generate_secret()
        _set_signing_secret(integration, signing_secret)
    if kind == "incoming":
        integration.incoming_token = _secrets.token_urlsafe(24)
    db.session.add(integration)
    _store_secrets(integration, secrets)
    db.session.flush()
    audit.record(
        actor,
        "integration.created",
        "integration",
        integration.id,
        f"Integration {integration.name} ({kind}) created",
        type=kind,
    )
    log(integration, "info", "Integration created")
    return integration, signing_secret


def update(integration: Integration, fields: dict, *, actor: audit.Actor) -> Integration:
    """Change the given settings; blank secret fields keep the stored secret. Raises ValidationError."""
    ensure_alive(integration)
    values = clean(integration.type, fields, integration)
    secrets = values.pop("secrets")
    dropped = values.pop("drop_secrets", [])
    changed = sorted(k for k, v in values.items() if getattr(integration, k) != v)
    for key, value in values.items():
        setattr(integration, key, value)
    _store_secrets(integration, secrets, dropped)
    db.session.flush()
    audit.record(
        actor,
        "integration.updated",
        "integration",
        integration.id,
        f"Integration {integration.name} updated",
        changed=changed,
        secrets_changed=sorted({*secrets, *dropped}),
    )
    return integration


def set_active(
    integration: Integration, active: bool, *, actor: audit.Actor, reason: str | None = None
) -> None:
    """Activate or deactivate. Activating clears the failure state (a fresh start)."""
    locking.hold(integration)  # two toggles at once: one change, one audit entry and log line
    ensure_alive(integration)
    if integration.active == active:
        return
    integration.active = active
    integration.disabled_reason = None if active else (reason or "Deactivated by an admin")
    if active:
        integration.failing_since = None
        if integration.type == "pdf_export" and not (integration.cursor or {}).get("export_since"):
            # The sweep catches up PDFs rendered while the export was off, but only from its first
            # activation on: turning an export on does not copy the whole archive.
            integration.cursor = {**(integration.cursor or {}), "export_since": utcnow().isoformat()}
    action = "activated" if active else "deactivated"
    audit.record(
        actor,
        f"integration.{action}",
        "integration",
        integration.id,
        f"Integration {integration.name} {action}",
        reason=reason,
    )
    log(
        integration,
        "info" if active else "warning",
        f"Integration {action}" + (f": {reason}" if reason else ""),
    )


def delete(integration: Integration, *, actor: audit.Actor) -> None:
    """Soft delete: the integration stops and disappears from lists; its history stays."""
    locking.hold(integration)
    ensure_alive(integration)
    integration.active = False
    integration.deleted_at = utcnow()
    integration.incoming_token = None
    audit.record(
        actor, "integration.deleted", "integration", integration.id, f"Integration {integration.name} deleted"
    )
    log(integration, "warning", "Integration deleted")


def rotate_signing_secret(
    integration: Integration, *, actor: audit.Actor, grace: timedelta = SECRET_GRACE
) -> str:
    """New signing secret; the old one keeps signing (outgoing) / verifying (incoming) for `grace`."""
    locking.hold(integration)  # two rotations at once would leave the first new secret unknown to anyone
    ensure_alive(integration)
    if integration.signing_secret_encrypted is None:
        raise NotAllowed("This integration has no signing secret.")
    new = signing.generate_secret()
    integration.previous_secret_encrypted = integration.signing_secret_encrypted
    integration.previous_secret_until = utcnow() + grace
    _set_signing_secret(integration, new)
    audit.record(
        actor,
        "integration.secret_rotated",
        "integration",
        integration.id,
        f"Signing secret of {integration.name} rotated",
        grace_hours=grace.total_seconds() / 3600,
    )
    log(
        integration,
        "info",
        "Signing secret rotated; the previous one stays valid until "
        f"{display.moment(integration.previous_secret_until)}",
    )
    return new


def ensure_alive(integration: Integration) -> None:
    """Refuse (NotAllowed) to act on a deleted integration: its history stays, it does nothing more."""
    if integration.deleted_at is not None:
        raise NotAllowed("This integration was deleted.")



def log(integration: Integration, level: str, message: str, **data: object) -> IntegrationLog:
    """Add a log line to the integration's log (same transaction)."""
    entry = IntegrationLog(
        integration_id=integration.id,
        level=level if level in LOG_LEVELS else "info",
        message=message[:1000],
        data=audit._jsonable(data),
    )
    db.session.add(entry)
    return entry


def note_success(integration: Integration) -> None:
    integration.last_success_at = utcnow()
    integration.failing_since = None


def note_failure(integration: Integration, error: str) -> None:
    now = utcnow()
    integration.last_error, integration.last_error_at = error[:2000], now
    integration.failing_since = integration.failing_since or now


# --------------------------------------------------------------------------- queries and shapes


def get(integration_id: int, *, include_deleted: bool = False) -> Integration | None:
    integration = db.session.get(Integration, integration_id)
    if integration is None or (integration.deleted_at is not None and not include_deleted):
        return None
    return integration


def integration_query(kind: str = "", status: str = "") -> Select:
    stmt = (
        select(Integration).where(Integration.deleted_at.is_(None)).order_by(Integration.name, Integration.id)
    )
    if kind:
        stmt = stmt.where(Integration.type == kind)
    if status == "active":
        stmt = stmt.where(Integration.active.is_(True))
    elif status == "inactive":
        stmt = stmt.where(Integration.active.is_(False))
    return stmt


def incoming_url(integration: Integration) -> str | None:
    if not integration.incoming_token:
        return None
    return f"{current_app.config['BASE_URL']}/hooks/in/{integration.incoming_token}"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def utc_moment(value: datetime | str, field: str) -> datetime:
    """A UTC datetime from a datetime or RFC 3339 text (no offset: UTC, as the console says).
    ValidationError({field: ...}) when the text is not a moment."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip().upper().replace("Z", "+00:00"))
        except ValueError:
            raise ValidationError({field: "Use a date and time like 2026-03-01T00:00:00Z."}) from None
    try:
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    except OverflowError:  # 0001-01-01T00:00:00+14:00 is no representable UTC moment
        raise ValidationError({field: "This moment is out of range."}) from None


def _status_counts(model: type[WebhookDelivery] | type[ExportedPdf], integration_id: int) -> dict[str, int]:
    rows = db.session.execute(
        select(model.status, func.count())
        .where(model.integration_id == integration_id)
        .group_by(model.status)
    ).all()
    return {status: n for status, n in rows}


def counts(integration: Integration) -> dict:
    """Deliveries by status (outgoing) or the last run's counts (syncs)."""
    if integration.is_outgoing:
        return _status_counts(WebhookDelivery, integration.id)
    if integration.is_sync:
        run = db.session.scalar(
            select(SyncRun)
            .where(SyncRun.integration_id == integration.id)
            .order_by(SyncRun.started_at.desc(), SyncRun.id.desc())
            .limit(1)
        )
        return (
            {} if run is None else {k: getattr(run, k) for k in ("created", "updated", "unchanged", "failed")}
        )
    if integration.type == "pdf_export":
        return _status_counts(ExportedPdf, integration.id)
    return {
        "received": db.session.scalar(
            select(func.count(IntegrationLog.id)).where(
                IntegrationLog.integration_id == integration.id, IntegrationLog.message.like("Accepted%")
            )
        )
        or 0
    }


def integration_data(integration: Integration) -> dict:
    """Public shape (API/UI): settings without secrets; secrets only as masked hints."""
    return {
        "id": integration.id,
        "type": integration.type,
        "name": integration.name,
        "active": integration.active,
        "status": integration.status,
        "config": dict(integration.config or {}),
        "auth_type": integration.auth_type,
        "credentials": dict(integration.credential_hints or {}),
        "event_types": list(integration.event_types or []),
        "condition_certification_id": integration.condition_certification_id,
        "condition_department": integration.condition_department,
        "signing_secret": integration.signing_secret_hint,
        "incoming_url": incoming_url(integration),
        "sync_every_minutes": integration.sync_every_minutes,
        "last_run_at": _iso(integration.last_run_at),
        "last_success_at": _iso(integration.last_success_at),
        "last_error": integration.last_error,
        "last_error_at": _iso(integration.last_error_at),
        "failing_since": _iso(integration.failing_since),
        "disabled_reason": integration.disabled_reason,
        "created_at": _iso(integration.created_at),
        "deleted_at": _iso(integration.deleted_at),
        "counts": counts(integration),
    }


def log_query(integration: Integration, level: str = "") -> Select:
    """Newest first; `level` shows that level and above (warning -> warning + error)."""
    stmt = select(IntegrationLog).where(IntegrationLog.integration_id == integration.id)
    if level in LOG_LEVELS:
        stmt = stmt.where(IntegrationLog.level.in_(LOG_LEVELS[LOG_LEVELS.index(level) :]))
    return stmt.order_by(IntegrationLog.at.desc(), IntegrationLog.id.desc())


def log_data(entry: IntegrationLog) -> dict:
    return {
        "id": entry.id,
        "level": entry.level,
        "message": entry.message,
        "data": entry.data or {},
        "at": _iso(entry.at),
    }
