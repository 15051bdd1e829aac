"""Validation of integration settings per template (used by app.services.integrations.registry).

`clean(kind, fields, existing)` checks what was given and returns attribute values plus `config`
(non-secret settings) and `secrets` (only the secret fields actually given: blank keeps the stored one).
Outgoing URLs and SQL source URLs are checked against the outgoing-address policy
(app/connectors/egress.py) when saved, and folders against app/path_policy.py; both are checked
again when used.
"""

from __future__ import annotations

import re
from pathlib import Path

import requests
from flask import current_app

from app import path_policy
from app.connectors import egress, sql_source
from app.connectors.http import UnsafeURLError, check_url
from app.connectors.oauth2 import AUTH_TYPES
from app.extensions import db
from app.models import Certification
from app.models.integration import OUTGOING_TYPES, SYNC_TYPES, Integration
from app.rules import plain_text
from app.services.errors import ValidationError
from app.services.numbers import MAX_ID, whole_number

EVENT_TYPES = (
    "certificate.issued",
    "certificate.revoked",
    "certificate.reinstated",
    "certificate.expiring",
    "certificate.expired",
    "certificate.renewed",
    "certificate.reissued",
    "certificate.shared",
    "enrollment.created",
    "enrollment.completed",
    "enrollment.withdrawn",
    "user.created",
    "user.erased",
    "certification.created",
    "certification.updated",
    "certification.deleted",
    "session.registered",
    "session.attended",
    "payment.completed",
    "payment.refunded",
    "evidence.submitted",
    "evidence.reviewed",
    "ping",
)
SECRET_FIELDS = (
    "api_key",
    "token",
    "password",
    "client_secret",
    "moodle_token",
    "database_url",
    "webhook_url",
    "access_key_id",
    "secret_access_key",
)
CONFIG_FIELDS = {
    "generic_webhook": ("url", "header_name", "username", "token_url", "client_id", "scope", "auth_method"),
    "slack": (),
    "teams": (),
    "discord": (),
    "moodle": ("site_url", "company_id", "create_users"),
    "incoming": ("signature_scheme", "create_users"),
    "sql": ("query",),
    "file_drop": ("location", "folder", "settle_seconds", "bucket", "prefix", "region", "endpoint_url"),
    "pdf_export": ("location", "folder", "bucket", "prefix", "region", "endpoint_url"),
}
# Each authentication type's own settings and secrets: a webhook keeps only the chosen type's, so switching
# from Basic to Bearer forgets the password (the form hides the other types' fields; the API may send them).
AUTH_FIELDS: dict[str, tuple[str, ...]] = {
    "none": (),
    "api_key": ("header_name", "api_key"),
    "bearer": ("token",),
    "basic": ("username", "password"),
    "oauth2": ("token_url", "client_id", "client_secret", "scope", "auth_method"),
}
# where the file integrations read or write (app.services.integrations.locations)
LOCATIONS = ("folder", "s3")
_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
MULTI_LINE_FIELDS = ("query",)
REQUIRED_SECRETS = {"slack": ("webhook_url",), "teams": ("webhook_url",), "discord": ("webhook_url",),
                    "moodle": ("moodle_token",), "sql": ("database_url",)}


def allow_private() -> bool:
    """OUTGOING_ALLOW_PRIVATE (or its deprecated alias WEBHOOKS_ALLOW_PRIVATE): outgoing connections
    may reach private/loopback hosts (dev and tests only). The policy: app/connectors/egress.py."""
    return egress.private_allowed(current_app.config)


def sql_import_dir() -> Path | None:
    """SQL_IMPORT_DIR's real path, or None (SQLite sources refused) when unset or, since start-up,
    re-pointed into the code tree or instance/ (a symlink can change)."""
    raw = current_app.config.get("SQL_IMPORT_DIR")
    if not raw:
        return None
    try:
        return path_policy.check_folder(raw, current_app.instance_path, label="SQL_IMPORT_DIR")
    except path_policy.UnsafePathError:
        return None


def own_database() -> str:
    """Laurel's own database URL: never acceptable as a SQL source."""
    return str(current_app.config["SQLALCHEMY_DATABASE_URI"])


def check_folder(folder: str) -> Path:
    """A drop/export folder's real path; UnsafePathError when it is inside the code tree or instance/."""
    return path_policy.check_folder(folder, current_app.instance_path)


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


def _check_database_url(url: str, errors: dict) -> None:
    # The same check runs again before each connection (app.connectors.sql_source.fetch_rows).
    try:
        sql_source.check_url(
            url, allow_private=allow_private(), import_dir=sql_import_dir(), own_database=own_database()
        )
    except sql_source.SourceError as exc:
        errors["database_url"] = str(exc)


def _event_types(value: object, errors: dict) -> list[str]:
    items = value.split(",") if isinstance(value, str) else list(value or [])
    chosen = sorted({str(v).strip() for v in items if str(v).strip()})
    unknown = [t for t in chosen if t not in EVENT_TYPES]
    if unknown:
        errors["event_types"] = f"Unknown event type(s): {', '.join(unknown)}."
    elif not chosen:
        errors["event_types"] = "Choose at least one event type."
    return chosen


def clean(kind: str, fields: dict, existing: Integration | None) -> dict:
    """Validate a create/update; returns attribute values, `config` and `secrets` (only those given)."""
    # Every value is one line (names, URLs, header names, secrets sent as HTTP headers), but the query.
    errors: dict[str, str] = plain_text.field_problems(fields, multiline=MULTI_LINE_FIELDS)
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
    values["drop_secrets"] = []
    if kind == "generic_webhook":
        values["drop_secrets"] = _other_auth_fields(fields, config, new_secrets, have, existing)
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
        if config.get("company_id") and whole_number(config["company_id"], minimum=0) is None:
            errors["company_id"] = "The IOMAD company id is a number."
    if kind == "incoming" and config.setdefault("signature_scheme", "standard") not in ("standard", "github"):
        errors["signature_scheme"] = "Choose standard or github."
    if kind == "sql" and "database_url" in new_secrets:
        _check_database_url(new_secrets["database_url"], errors)
    if kind == "sql" and not str(config.get("query", "")).strip().lower().startswith(("select", "with")):
        errors["query"] = (
            "Enter a SELECT query returning email, name, course_code, status, score, completed_at."
        )
    if kind in ("file_drop", "pdf_export"):
        _clean_location(kind, fields, config, have, errors)
    if kind in SYNC_TYPES and "sync_every_minutes" in fields:
        raw = _text(fields, "sync_every_minutes")
        minutes = whole_number(raw, minimum=5, maximum=10080)
        if raw and minutes is None:
            errors["sync_every_minutes"] = "Between 5 and 10080 minutes, or empty for on demand only."
        values["sync_every_minutes"] = minutes
    if errors:
        raise ValidationError(errors)
    values["config"] = config
    values["secrets"] = new_secrets
    return values


def _other_auth_fields(
    fields: dict, config: dict, new_secrets: dict, have: set, existing: Integration | None
) -> list[str]:
    """Forget what belongs to the authentication types not chosen: their settings leave `config`, their
    secrets sent now are ignored; returns the stored secrets to delete."""
    auth = _text(fields, "auth_type") if "auth_type" in fields else (existing.auth_type if existing else "")
    if (auth or "none") not in AUTH_FIELDS:
        return []  # _clean_auth names the problem
    keep = set(AUTH_FIELDS[auth or "none"])
    others = {name for names in AUTH_FIELDS.values() for name in names} - keep
    for name in others:
        config.pop(name, None)
        new_secrets.pop(name, None)
    stored = sorted(others & have & set(SECRET_FIELDS))
    have.difference_update(others)
    return stored


def _clean_auth(
    fields: dict, config: dict, have: set, values: dict, errors: dict, existing: Integration | None
) -> None:
    auth = (
        _text(fields, "auth_type") if "auth_type" in fields else (existing.auth_type if existing else "none")
    )
    auth = auth or "none"
    if auth not in AUTH_TYPES:
        errors["auth_type"] = f"Choose one of {', '.join(AUTH_TYPES)}."
        return
    values["auth_type"] = auth
    needs = {
        "api_key": ("api_key",),
        "bearer": ("token",),
        "basic": ("password",),
        "oauth2": ("client_secret",),
    }
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


def _clean_location(kind: str, fields: dict, config: dict, have: set, errors: dict) -> None:
    """A folder, or an S3 bucket with its keys (the endpoint URL under the webhook SSRF policy)."""
    location = config.get("location") or "folder"
    config["location"] = location
    if location not in LOCATIONS:
        errors["location"] = "Choose a folder or an S3 bucket."
        return
    if kind == "file_drop":
        settle = str(config.get("settle_seconds") or "5")
        if whole_number(settle, minimum=0, maximum=86400) is None:
            errors["settle_seconds"] = "A whole number of seconds (0 to 86400)."
    if location == "folder":
        if not config.get("folder"):
            errors["folder"] = "Enter the folder to watch." if kind == "file_drop" else "Enter the folder."
        elif "folder" in fields or "location" in fields:
            try:
                check_folder(config["folder"])
            except path_policy.UnsafePathError as exc:
                errors["folder"] = str(exc)
        return
    if not _BUCKET_RE.match(config.get("bucket") or ""):
        errors["bucket"] = "Enter the bucket name (3-63 lower-case letters, digits, dots and hyphens)."
    config["prefix"] = (config.get("prefix") or "").strip().lstrip("/")
    if config.get("endpoint_url") and "endpoint_url" in fields:
        _check_url(config["endpoint_url"], errors, "endpoint_url")
    for key in ("access_key_id", "secret_access_key"):
        if key not in have:
            errors[key] = "This is required for an S3 bucket."


def _clean_conditions(fields: dict, values: dict, errors: dict) -> None:
    if "condition_certification_id" in fields:
        raw = _text(fields, "condition_certification_id")
        cert_id = whole_number(raw, maximum=MAX_ID)
        if raw and (cert_id is None or db.session.get(Certification, cert_id) is None):
            errors["condition_certification_id"] = "No such certification."
        values["condition_certification_id"] = cert_id
    if "condition_department" in fields:
        values["condition_department"] = _text(fields, "condition_department", 120) or None
