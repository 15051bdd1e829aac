"""Integrations: create from a template, edit, activate/deactivate, delete (soft), logs and health.

Secrets (API keys, tokens, passwords, client secrets, the Moodle token, the SQL URL, the Slack URL,
signing secrets) are encrypted with the application's SecretBox before they touch a row and are never
given back: shapes carry only a masked hint (last 4 characters). A blank secret field in an update keeps
the stored value. Outgoing deliveries live in `webhooks`, sync runs in `syncs`.
"""

from __future__ import annotations

import json
import secrets as _secrets
from datetime import datetime, timedelta

import requests
from flask import current_app
from sqlalchemy import Select, func, select

from app.database import utcnow
from app.extensions import db
from app.integrations import signing
from app.integrations.crypto import SecretBox, box_from_config, mask
from app.integrations.http import UnsafeURLError, check_url
from app.integrations.oauth2 import AUTH_TYPES
from app.models import Certification
from app.models.integration import (INTEGRATION_TYPES, LOG_LEVELS, OUTGOING_TYPES, SYNC_TYPES, Integration,
                                    IntegrationLog, SyncRun, WebhookDelivery)
from app.services import audit
from app.services.errors import NotAllowed, ValidationError

TEMPLATES: dict[str, dict] = {
    "generic_webhook": {"label": "Generic webhook", "summary": "Signed JSON events to any HTTPS endpoint."},
    "slack": {"label": "Slack", "summary": "Readable messages in a channel via a Slack incoming webhook."},
    "moodle": {"label": "Moodle / IOMAD", "summary": "Sync courses, learners and completions from Moodle."},
    "incoming": {"label": "Incoming completions", "summary": "Other systems post signed completions to Laurel."},
    "sql": {"label": "SQL database", "summary": "Pull completions from a read-only SQL query."},
    "file_drop": {"label": "CSV drop folder", "summary": "Import CSV files dropped into a folder."},
}
EVENT_TYPES = (
    "certificate.issued", "certificate.revoked", "certificate.reinstated", "certificate.expiring",
    "certificate.expired", "certificate.renewed", "certificate.shared", "enrollment.created",
    "enrollment.completed", "enrollment.withdrawn", "user.created", "certification.created",
    "certification.updated", "certification.deleted", "ping",
)
SECRET_FIELDS = ("api_key", "token", "password", "client_secret", "moodle_token", "database_url", "webhook_url")
CONFIG_FIELDS = {
    "generic_webhook": ("url", "header_name", "username", "token_url", "client_id", "scope", "auth_method"),
    "slack": (),
    "moodle": ("site_url", "company_id", "create_users"),
    "incoming": ("signature_scheme", "create_users"),
    "sql": ("query",),
    "file_drop": ("folder", "settle_seconds"),
}
REQUIRED_SECRETS = {"slack": ("webhook_url",), "moodle": ("moodle_token",), "sql": ("database_url",)}
SECRET_GRACE = timedelta(hours=24)


def secret_box() -> SecretBox:
    """The app's SecretBox (INTEGRATIONS_ENCRYPTION_KEYS, else a key derived from SECRET_KEY)."""
    box = current_app.extensions.get("laurel_secret_box")
    if box is None:
        box = box_from_config(current_app.config.get("INTEGRATIONS_ENCRYPTION_KEYS"),
                              current_app.config["SECRET_KEY"])
        current_app.extensions["laurel_secret_box"] = box
    return box


def credentials(integration: Integration) -> dict[str, str]:
    """The decrypted credentials (for connectors and delivery only; never for display)."""
    if not integration.credentials_encrypted:
        return {}
    return json.loads(secret_box().decrypt(integration.credentials_encrypted))


def signing_secrets(integration: Integration, now: datetime | None = None) -> list[str]:
    """Current signing secret, plus the previous one during its grace period (rotation)."""
    box = secret_box()
    found = [box.decrypt(integration.signing_secret_encrypted)] if integration.signing_secret_encrypted else []
    if integration.previous_secret_encrypted and integration.previous_secret_until \
            and integration.previous_secret_until > (now or utcnow()):
        found.append(box.decrypt(integration.previous_secret_encrypted))
    return found


def allow_private() -> bool:
    return bool(current_app.config.get("WEBHOOKS_ALLOW_PRIVATE"))


# --------------------------------------------------------------------------- validation


def _text(fields: dict, key: str, limit: int = 500) -> str:
    value = fields.get(key)
    return "" if value is None else str(value).strip()[:limit]


def _flag(value: object) -> bool:
    return value in (True, 1) or str(value).strip().lower() in ("1", "true", "yes", "on", "y")


def _check_url(url: str, errors: dict, key: str) -> None:
    try:
        check_url(url, allow_private=allow_private())
    except UnsafeURLError as exc:
        errors[key] = str(exc)
    except requests.RequestException as exc:
        errors[key] = f"Cannot resolve this address: {exc}"


def _event_types(value: object, errors: dict) -> list[str]:
    items = value.split(",") if isinstance(value, str) else list(value or [])
    chosen = sorted({str(v).strip() for v in items if str(v).strip()})
    unknown = [t for t in chosen if t not in EVENT_TYPES]
    if unknown:
        errors["event_types"] = f"Unknown event type(s): {', '.join(unknown)}."
    elif not chosen:
        errors["event_types"] = "Choose at least one event type."
    return chosen


def _clean(kind: str, fields: dict, existing: Integration | None) -> dict:
    """Validate a create/update; returns attribute values, `config` and `secrets` (only those given)."""
    errors: dict[str, str] = {}
    values: dict = {}
    if existing is None or "name" in fields:
        values["name"] = _text(fields, "name", 120)
        if not values["name"]:
            errors["name"] = "Give the integration a name."
    config = dict(existing.config or {}) if existing else {}
    for key in CONFIG_FIELDS[kind]:
        if key in fields:
            config[key] = _flag(fields[key]) if key == "create_users" else _text(fields, key, 5000)
    new_secrets = {k: str(fields[k]).strip() for k in SECRET_FIELDS if fields.get(k) not in (None, "")}
    have = set((existing.credential_hints or {}) if existing else {}) | set(new_secrets)
    for key in REQUIRED_SECRETS.get(kind, ()):
        if key not in have:
            errors[key] = "This is required."
    if kind in OUTGOING_TYPES:
        if existing is None or "event_types" in fields:
            values["event_types"] = _event_types(fields.get("event_types"), errors)
        target = config.get("url") if kind == "generic_webhook" else new_secrets.get("webhook_url")
        key = "url" if kind == "generic_webhook" else "webhook_url"
        if kind == "generic_webhook" and not target:
            errors["url"] = "Enter the endpoint URL."
        elif target and (key in fields):
            _check_url(target, errors, key)
        _clean_conditions(fields, values, errors)
    if kind == "generic_webhook":
        _clean_auth(fields, config, have, values, errors, existing)
    if kind == "moodle":
        if not config.get("site_url"):
            errors["site_url"] = "Enter the Moodle site address."
        elif "site_url" in fields:
            _check_url(config["site_url"], errors, "site_url")
        if config.get("company_id") and not str(config["company_id"]).isdigit():
            errors["company_id"] = "The IOMAD company id is a number."
    if kind == "incoming" and config.setdefault("signature_scheme", "standard") not in ("standard", "github"):
        errors["signature_scheme"] = "Choose standard or github."
    if kind == "sql" and not str(config.get("query", "")).strip().lower().startswith(("select", "with")):
        errors["query"] = "Enter a SELECT query returning email, name, course_code, status, score, completed_at."
    if kind == "file_drop" and not config.get("folder"):
        errors["folder"] = "Enter the folder to watch."
    if kind in SYNC_TYPES and "sync_every_minutes" in fields:
        raw = _text(fields, "sync_every_minutes")
        if raw and (not raw.isdigit() or not 5 <= int(raw) <= 10080):
            errors["sync_every_minutes"] = "Between 5 and 10080 minutes, or empty for on demand only."
        values["sync_every_minutes"] = int(raw) if raw.isdigit() else None
    if errors:
        raise ValidationError(errors)
    values["config"] = config
    values["secrets"] = new_secrets
    return values


def _clean_auth(fields: dict, config: dict, have: set, values: dict, errors: dict,
                existing: Integration | None) -> None:
    auth = _text(fields, "auth_type") if "auth_type" in fields else (existing.auth_type if existing else "none")
    auth = auth or "none"
    if auth not in AUTH_TYPES:
        errors["auth_type"] = f"Choose one of {', '.join(AUTH_TYPES)}."
        return
    values["auth_type"] = auth
    needs = {"api_key": ("api_key",), "bearer": ("token",), "basic": ("password",), "oauth2": ("client_secret",)}
    for key in needs.get(auth, ()):
        if key not in have:
            errors[key] = "This is required for the chosen authentication."
    if auth == "basic" and not config.get("username"):
        errors["username"] = "Enter the user name."
    if auth == "oauth2":
        for key in ("token_url", "client_id"):
            if not config.get(key):
                errors[key] = "This is required for OAuth2."
        if config.get("token_url") and "token_url" in fields:
            _check_url(config["token_url"], errors, "token_url")


def _clean_conditions(fields: dict, values: dict, errors: dict) -> None:
    if "condition_certification_id" in fields:
        raw = _text(fields, "condition_certification_id")
        if raw and (not raw.isdigit() or db.session.get(Certification, int(raw)) is None):
            errors["condition_certification_id"] = "No such certification."
        values["condition_certification_id"] = int(raw) if raw.isdigit() else None
    if "condition_department" in fields:
        values["condition_department"] = _text(fields, "condition_department", 120) or None


def _store_secrets(integration: Integration, new: dict[str, str]) -> None:
    if not new:
        return
    merged = {**credentials(integration), **new}
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
    values = _clean(kind, fields, None)
    secrets = values.pop("secrets")
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
    audit.record(actor, "integration.created", "integration", integration.id,
                 f"Integration {integration.name} ({kind}) created", type=kind)
    log(integration, "info", "Integration created")
    return integration, signing_secret


def update(integration: Integration, fields: dict, *, actor: audit.Actor) -> Integration:
    """Change the given settings; blank secret fields keep the stored secret. Raises ValidationError."""
    _alive(integration)
    values = _clean(integration.type, fields, integration)
    secrets = values.pop("secrets")
    changed = sorted(k for k, v in values.items() if getattr(integration, k) != v)
    for key, value in values.items():
        setattr(integration, key, value)
    _store_secrets(integration, secrets)
    db.session.flush()
    audit.record(actor, "integration.updated", "integration", integration.id,
                 f"Integration {integration.name} updated", changed=changed, secrets_changed=sorted(secrets))
    return integration


def set_active(integration: Integration, active: bool, *, actor: audit.Actor, reason: str | None = None) -> None:
    """Activate or deactivate. Activating clears the failure state (a fresh start)."""
    _alive(integration)
    if integration.active == active:
        return
    integration.active = active
    integration.disabled_reason = None if active else (reason or "Deactivated by an admin")
    if active:
        integration.failing_since = None
    action = "activated" if active else "deactivated"
    audit.record(actor, f"integration.{action}", "integration", integration.id,
                 f"Integration {integration.name} {action}", reason=reason)
    log(integration, "info" if active else "warning", f"Integration {action}" + (f": {reason}" if reason else ""))


def delete(integration: Integration, *, actor: audit.Actor) -> None:
    """Soft delete: the integration stops and disappears from lists; its history stays."""
    _alive(integration)
    integration.active = False
    integration.deleted_at = utcnow()
    integration.incoming_token = None
    audit.record(actor, "integration.deleted", "integration", integration.id, f"Integration {integration.name} deleted")
    log(integration, "warning", "Integration deleted")


def rotate_signing_secret(integration: Integration, *, actor: audit.Actor,
                          grace: timedelta = SECRET_GRACE) -> str:
    """New signing secret; the old one keeps signing (outgoing) / verifying (incoming) for `grace`."""
    _alive(integration)
    if integration.signing_secret_encrypted is None:
        raise NotAllowed("This integration has no signing secret.")
    new = signing.generate_secret()
    integration.previous_secret_encrypted = integration.signing_secret_encrypted
    integration.previous_secret_until = utcnow() + grace
    _set_signing_secret(integration, new)
    audit.record(actor, "integration.secret_rotated", "integration", integration.id,
                 f"Signing secret of {integration.name} rotated", grace_hours=grace.total_seconds() / 3600)
    log(integration, "info", "Signing secret rotated; the previous one stays valid until "
        f"{integration.previous_secret_until:%Y-%m-%d %H:%M} UTC")
    return new


def _alive(integration: Integration) -> None:
    if integration.deleted_at is not None:
        raise NotAllowed("This integration was deleted.")


def log(integration: Integration, level: str, message: str, **data: object) -> IntegrationLog:
    """Add a log line to the integration's log (same transaction)."""
    entry = IntegrationLog(integration_id=integration.id, level=level if level in LOG_LEVELS else "info",
                           message=message[:1000], data=audit._jsonable(data))
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
    stmt = select(Integration).where(Integration.deleted_at.is_(None)).order_by(Integration.name, Integration.id)
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


def counts(integration: Integration) -> dict:
    """Deliveries by status (outgoing) or the last run's counts (syncs)."""
    if integration.is_outgoing:
        rows = db.session.execute(select(WebhookDelivery.status, func.count()).where(
            WebhookDelivery.integration_id == integration.id).group_by(WebhookDelivery.status)).all()
        return {status: n for status, n in rows}
    if integration.is_sync:
        run = db.session.scalar(select(SyncRun).where(SyncRun.integration_id == integration.id)
                                .order_by(SyncRun.started_at.desc(), SyncRun.id.desc()).limit(1))
        return {} if run is None else {k: getattr(run, k) for k in ("created", "updated", "unchanged", "failed")}
    return {"received": db.session.scalar(select(func.count(IntegrationLog.id)).where(
        IntegrationLog.integration_id == integration.id, IntegrationLog.message.like("Accepted%"))) or 0}


def integration_data(integration: Integration) -> dict:
    """Public shape (API/UI): settings without secrets; secrets only as masked hints."""
    return {
        "id": integration.id, "type": integration.type, "name": integration.name, "active": integration.active,
        "status": integration.status, "config": dict(integration.config or {}), "auth_type": integration.auth_type,
        "credentials": dict(integration.credential_hints or {}), "event_types": list(integration.event_types or []),
        "condition_certification_id": integration.condition_certification_id,
        "condition_department": integration.condition_department,
        "signing_secret": integration.signing_secret_hint, "incoming_url": incoming_url(integration),
        "sync_every_minutes": integration.sync_every_minutes, "last_run_at": _iso(integration.last_run_at),
        "last_success_at": _iso(integration.last_success_at), "last_error": integration.last_error,
        "last_error_at": _iso(integration.last_error_at), "failing_since": _iso(integration.failing_since),
        "disabled_reason": integration.disabled_reason, "created_at": _iso(integration.created_at),
        "deleted_at": _iso(integration.deleted_at), "counts": counts(integration),
    }


def log_query(integration: Integration, level: str = "") -> Select:
    """Newest first; `level` shows that level and above (warning -> warning + error)."""
    stmt = select(IntegrationLog).where(IntegrationLog.integration_id == integration.id)
    if level in LOG_LEVELS:
        stmt = stmt.where(IntegrationLog.level.in_(LOG_LEVELS[LOG_LEVELS.index(level):]))
    return stmt.order_by(IntegrationLog.at.desc(), IntegrationLog.id.desc())


def log_data(entry: IntegrationLog) -> dict:
    return {"id": entry.id, "level": entry.level, "message": entry.message, "data": entry.data or {},
            "at": _iso(entry.at)}


def health() -> dict:
    """Health at a glance: counts by status, failing integrations, delivery backlog."""
    integrations = db.session.scalars(integration_query()).all()
    by_status: dict[str, int] = {"active": 0, "failing": 0, "inactive": 0}
    for integration in integrations:
        by_status[integration.status] = by_status.get(integration.status, 0) + 1
    since = utcnow() - timedelta(hours=24)
    recent = dict(db.session.execute(select(WebhookDelivery.status, func.count()).where(
        WebhookDelivery.created_at >= since).group_by(WebhookDelivery.status)).all())
    oldest = db.session.scalar(select(func.min(WebhookDelivery.created_at)).where(
        WebhookDelivery.status.in_(("pending", "failed", "delivering"))))
    failing = [i for i in integrations if i.status == "failing"]
    return {
        "status": "failing" if failing else "ok",
        "integrations": {"total": len(integrations), **by_status},
        "deliveries_24h": {s: int(recent.get(s, 0)) for s in ("pending", "delivering", "delivered", "failed",
                                                              "gave_up")},
        "oldest_undelivered_at": _iso(oldest),
        "failing": [{"id": i.id, "name": i.name, "type": i.type, "last_error": i.last_error,
                     "failing_since": _iso(i.failing_since)} for i in failing],
        "items": [{"id": i.id, "name": i.name, "type": i.type, "status": i.status,
                   "last_success_at": _iso(i.last_success_at), "last_error": i.last_error} for i in integrations],
    }
