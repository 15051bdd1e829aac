"""Admin › Payments › Stripe: the secret key and the webhook signing secret, encrypted at rest with the
app's SecretBox and never shown back (only a masked hint)."""

from __future__ import annotations

import re

from flask import current_app

from app.connectors import egress
from app.connectors.crypto import CryptoError, mask
from app.extensions import db
from app.models import PaymentSettings
from app.services import audit
from app.services.errors import ValidationError
from app.services.secrets import secret_box

_SECRET_KEY_RE = re.compile(r"^(sk|rk)_(test|live)_[A-Za-z0-9]{8,240}$")
_WEBHOOK_SECRET_RE = re.compile(r"^whsec_[A-Za-z0-9+/=]{8,240}$")
_KEY_FORMAT = "A Stripe secret or restricted key: sk_live_…, sk_test_…, rk_live_… or rk_test_…."
_HOOK_FORMAT = "The endpoint's signing secret from Stripe: whsec_…."


def settings() -> PaymentSettings | None:
    return db.session.get(PaymentSettings, 1)


def stripe_ready() -> bool:
    """Both secrets stored: learners get a "Pay" button (otherwise admins record manual payments)."""
    row = settings()
    return bool(row and row.stripe_secret_key and row.stripe_webhook_secret)


def save(fields: dict, *, actor: audit.Actor) -> PaymentSettings:
    """Store the secrets given (blank keeps the stored one; `clear` forgets both)."""
    row = settings() or PaymentSettings(id=1, stripe_secret_key_hint="", stripe_webhook_secret_hint="")
    if str(fields.get("clear") or "") in ("1", "true", "on", "y", "yes"):
        row.stripe_secret_key = row.stripe_webhook_secret = None
        row.stripe_secret_key_hint = row.stripe_webhook_secret_hint = ""
        db.session.add(row)
        audit.record(actor, "payments.stripe_cleared", "payment_settings", 1, "Stripe keys removed")
        db.session.flush()
        return row
    key = str(fields.get("secret_key") or "").strip()
    hook = str(fields.get("webhook_secret") or "").strip()
    errors = {}
    if key and not _SECRET_KEY_RE.match(key):
        errors["secret_key"] = _KEY_FORMAT
    if hook and not _WEBHOOK_SECRET_RE.match(hook):
        errors["webhook_secret"] = _HOOK_FORMAT
    if not key and not row.stripe_secret_key:
        errors.setdefault("secret_key", "This is required.")
    if not hook and not row.stripe_webhook_secret:
        errors.setdefault("webhook_secret", "This is required.")
    if errors:
        raise ValidationError(errors)
    box = secret_box()
    changed = []
    if key:
        row.stripe_secret_key, row.stripe_secret_key_hint = box.encrypt(key), mask(key)
        changed.append("secret key")
    if hook:
        row.stripe_webhook_secret, row.stripe_webhook_secret_hint = box.encrypt(hook), mask(hook)
        changed.append("webhook secret")
    row.updated_by_id = getattr(actor, "id", None)
    db.session.add(row)
    if changed:
        audit.record(actor, "payments.stripe_saved", "payment_settings", 1,
                     f"Stripe {' and '.join(changed)} saved", changed=changed)
    db.session.flush()
    return row


def _decrypted(token: str | None) -> str | None:
    if not token:
        return None
    try:
        return secret_box().decrypt(token)
    except CryptoError:
        return None  # keys rotated away: as if not configured until an admin saves it again


def secret_key() -> str | None:
    row = settings()
    return _decrypted(row.stripe_secret_key) if row else None


def webhook_secret() -> str | None:
    row = settings()
    return _decrypted(row.stripe_webhook_secret) if row else None


def api_base() -> str:
    return str(current_app.config.get("STRIPE_API_BASE") or "https://api.stripe.com")


def allow_private() -> bool:
    return egress.private_allowed(current_app.config)
