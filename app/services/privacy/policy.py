"""The organisation's privacy policy (Admin › Privacy): what an erasure does to certificates, and how
long mail bodies, audit rows, expired certificates' PDFs and data exports are kept."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import select

from app.extensions import db
from app.models import PrivacySettings
from app.models.privacy import ERASED_CERTIFICATE_POLICIES
from app.services import audit
from app.services.errors import ValidationError
from app.services.fields import clean_int

# (field, label, minimum, maximum): bounds that keep the arithmetic on dates sane.
LIMITS = {
    "mail_body_days": (1, 3650),
    "audit_years": (1, 50),
    "expired_pdf_years": (1, 50),
    "export_days": (1, 30),
}


@dataclass(frozen=True)
class Policy:
    erased_certificates: str = "keep"
    retention_enabled: bool = False
    mail_body_days: int = 90
    audit_years: int = 6
    expired_pdf_years: int = 6
    export_days: int = 7


def _row() -> PrivacySettings | None:
    return db.session.scalar(select(PrivacySettings).where(PrivacySettings.id == 1))


def current() -> Policy:
    row = _row()
    if row is None:
        return Policy()
    return Policy(**{name: getattr(row, name) for name in Policy.__dataclass_fields__})


def current_values() -> dict[str, Any]:
    return asdict(current())


def clean(values: dict[str, Any]) -> dict[str, Any]:
    """Check every field (ValidationError keyed by field) and return the typed values."""
    errors: dict[str, str] = {}
    cleaned: dict[str, Any] = {}
    choice = str(values.get("erased_certificates") or "")
    if choice not in ERASED_CERTIFICATE_POLICIES:
        errors["erased_certificates"] = "Choose keep or revoke."
    cleaned["erased_certificates"] = choice
    cleaned["retention_enabled"] = bool(values.get("retention_enabled"))
    for name, (low, high) in LIMITS.items():
        try:
            cleaned[name] = clean_int(values.get(name), minimum=low, maximum=high)
        except ValueError as exc:
            errors[name] = str(exc)
            continue
        if cleaned[name] is None:
            errors[name] = "Enter a whole number."
    if errors:
        raise ValidationError(errors)
    return cleaned


def update(values: dict[str, Any], *, actor: audit.Actor) -> Policy:
    cleaned = clean(values)
    row = _row()
    if row is None:
        row = PrivacySettings(id=1)
        db.session.add(row)
    before = current_values()
    for name, value in cleaned.items():
        setattr(row, name, value)
    db.session.flush()
    changed = {k: v for k, v in cleaned.items() if before.get(k) != v}
    audit.record(actor, "privacy.policy_updated", "privacy_settings", 1, "Privacy policy updated", **changed)
    return current()
