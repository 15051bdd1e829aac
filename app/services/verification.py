"""Public verification of certificates by code, or by serial + holder surname."""

from __future__ import annotations

from datetime import datetime

from app.models import Certificate


def lookup(code: str) -> Certificate | None:
    """The certificate with this verification code, or None. One indexed query either way (same cost)."""
    raise NotImplementedError


def verification_data(cert: Certificate, now: datetime | None = None) -> dict:
    """What a verifier may see: {code, serial, holder, certification, description, issuer, signatory_name,
    signatory_title, issued_at, expires_at, status, revoked_at, revoke_reason, courses,
    chain: [{serial, issued_at, status, code}]}. From the frozen snapshot."""
    raise NotImplementedError


def find_by_serial_and_surname(serial: str, surname: str) -> Certificate | None:
    """Case-insensitive: the surname is the last word of the holder name in the snapshot."""
    raise NotImplementedError
