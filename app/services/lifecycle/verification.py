"""Public verification of certificates by code, or by serial + holder surname."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from app.database import utcnow
from app.extensions import db
from app.models import Certificate, Certification
from app.services.fields import isodate
from app.services.lifecycle.certificates import chain

MAX_CODE = 64


def lookup(code: str) -> Certificate | None:
    """The certificate with this verification code, or None. One indexed query either way (same cost)."""
    # An over-long code still runs the same query (on a value that cannot match): a miss must not be
    # distinguishable from a hit by timing.
    code = (code or "")[:MAX_CODE]
    # The certification comes in the same query (its minimum score is one of the criteria shown).
    return db.session.scalar(select(Certificate).options(joinedload(Certificate.certification))
                             .where(Certificate.code == code))


def verification_data(cert: Certificate, now: datetime | None = None) -> dict:
    """What a verifier may see: {code, serial, holder, certification, description, issuer, signatory_name,
    signatory_title, issued_at, expires_at, status, revoked_at, revoke_reason, courses, min_score,
    chain: [{serial, issued_at, status, code}]}. From the frozen snapshot (the minimum score from the
    certification: snapshots do not keep it)."""
    now = now or utcnow()
    snap = cert.snapshot or {}
    certification = cert.certification if cert.certification_id else None
    return {
        "code": cert.code, "serial": cert.serial, "holder": snap.get("holder_name", ""),
        "certification": snap.get("certification_name", ""),
        "description": snap.get("certification_description", ""),
        "issuer": snap.get("issuer_name", ""), "signatory_name": snap.get("signatory_name", ""),
        "signatory_title": snap.get("signatory_title", ""),
        "issued_at": isodate(cert.issued_at), "expires_at": isodate(cert.expires_at),
        "status": cert.status_at(now), "revoked_at": isodate(cert.revoked_at),
        "revoke_reason": cert.revoke_reason,
        "courses": _courses(snap, certification),
        "min_score": certification.min_score if certification is not None else None,
        "chain": [{"serial": c.serial, "issued_at": isodate(c.issued_at), "status": c.status_at(now),
                   "code": c.code} for c in chain(cert)],
    }


def _courses(snap: dict, certification: Certification | None) -> list[dict]:
    """The courses the certificate required: from the snapshot (the completions it was issued for); a
    certificate issued by hand has none there, so the certification's current list stands in."""
    courses = [{"code": c.get("code"), "title": c.get("title")} for c in snap.get("courses", [])]
    if not courses and certification is not None:
        courses = [{"code": c.code, "title": c.title} for c in certification.courses]
    return courses


def find_by_serial_and_surname(serial: str, surname: str) -> Certificate | None:
    """Case-insensitive: the surname is the last word of the holder name in the snapshot."""
    serial, surname = (serial or "").strip().upper()[:MAX_CODE], (surname or "").strip().casefold()
    cert = db.session.scalar(select(Certificate).where(func.upper(Certificate.serial) == serial))
    if cert is None or not surname:
        return None
    words = str((cert.snapshot or {}).get("holder_name", "")).split()
    return cert if words and words[-1].casefold() == surname else None
