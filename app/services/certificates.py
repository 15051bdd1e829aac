"""Reading certificates: their public shape, filtered lists and renewal chains."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Select

from app.models import Certificate


def certificate_data(cert: Certificate, now: datetime | None = None) -> dict:
    """Public shape: {id, serial, code, user_id, certification_id, status, issued_at, expires_at, revoked_at,
    revoke_reason, renewed_from_id, verify_url} with ISO 8601 UTC datetimes."""
    raise NotImplementedError


def certificate_query(certification_id: int | None = None, user_id: int | None = None, status: str = "",
                      department: str = "", issued_from: date | datetime | None = None,
                      issued_to: date | datetime | None = None, search: str = "",
                      now: datetime | None = None) -> Select:
    """A select of certificates, newest first. `issued_to` is inclusive (a date means that whole day);
    `search` matches holder name/email or serial; status is the derived status in SQL."""
    raise NotImplementedError


def chain(cert: Certificate) -> list[Certificate]:
    """The renewal chain this certificate belongs to, oldest first (both directions)."""
    raise NotImplementedError
