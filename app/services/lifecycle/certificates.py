"""Reading certificates: their public shape, filtered lists and renewal chains."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta

from flask import current_app
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import joinedload
from werkzeug.routing import BuildError

from app.database import utcnow
from app.extensions import db
from app.models import Certificate, User
from app.services.accounts import scope, users
from app.services.fields import isodate, like_pattern
from app.services.messaging.outbox import external_url


def certificate_data(cert: Certificate, now: datetime | None = None) -> dict:
    """Public shape: {id, serial, code, user_id, certification_id, status, issued_at, expires_at, revoked_at,
    revoke_reason, renewed_from_id, verify_url, public, pdf_status, pdf_url} with ISO 8601 UTC datetimes."""
    return {"id": cert.id, "serial": cert.serial, "code": cert.code, "user_id": cert.user_id,
            "certification_id": cert.certification_id, "status": cert.status_at(now),
            "issued_at": isodate(cert.issued_at), "expires_at": isodate(cert.expires_at),
            "revoked_at": isodate(cert.revoked_at), "revoke_reason": cert.revoke_reason,
            "renewed_from_id": cert.renewed_from_id, "verify_url": verify_url(cert),
            "public": cert.public, "pdf_status": pdf_state(cert), "pdf_url": pdf_url(cert)}


def pdf_state(cert: Certificate) -> str:
    """pending | ready | failed, as the API and pages show it (a running render is pending)."""
    return "pending" if cert.pdf_status == "rendering" else cert.pdf_status


def pdf_url(cert: Certificate) -> str | None:
    """The API download link, once a PDF exists (the last ready one stays served while re-rendering)."""
    if not cert.pdf_key:
        return None
    try:
        return external_url("api.certificate_pdf", id=cert.id)
    except BuildError:  # the API blueprint is not registered (CLI tools, partial apps)
        return f"{current_app.config['BASE_URL']}/api/v1/certificates/{cert.id}/pdf"


def verify_url(cert: Certificate) -> str:
    """The public verification link printed on the certificate (absolute, under BASE_URL)."""
    try:
        return external_url("verify.show", code=cert.code)
    except BuildError:  # the verify blueprint is not registered (CLI tools, partial apps): same path
        return f"{current_app.config['BASE_URL']}/verify/{cert.code}"


# What a holder looks at first: what they can use now, then what needs renewing; revoked last.
HOLDER_ORDER = {"valid": 0, "expiring": 1, "expired": 2, "revoked": 3}


def holder_order(certs: list[Certificate], now: datetime | None = None) -> list[Certificate]:
    """A holder's certificates, valid ones first and revoked ones last; newest first within each state
    (the sort is stable, so pass them newest first)."""
    now = now or utcnow()
    return sorted(certs, key=lambda c: HOLDER_ORDER.get(c.status_at(now), len(HOLDER_ORDER)))


def _day_start(value: date | datetime) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.combine(value, time.min, tzinfo=UTC)


def certificate_query(certification_id: int | None = None, user_id: int | None = None, status: str = "",
                      department: str = "", issued_from: date | datetime | None = None,
                      issued_to: date | datetime | None = None, search: str = "",
                      now: datetime | None = None, pdf_status: str = "",
                      viewer: User | None = None) -> Select:
    """A select of certificates, newest first. `issued_to` is inclusive (a date means that whole day);
    `search` matches holder name/email or serial; status is the derived status in SQL; `pdf_status`
    (pending, ready, failed) finds the PDFs to render again; `department` takes in its sub-departments;
    `viewer`: only the holders that user may see (app/services/accounts/scope.py)."""
    stmt = (select(Certificate)
            .options(joinedload(Certificate.user), joinedload(Certificate.certification))
            .order_by(Certificate.issued_at.desc(), Certificate.id.desc()))
    if certification_id:
        stmt = stmt.where(Certificate.certification_id == certification_id)
    if user_id:
        stmt = stmt.where(Certificate.user_id == user_id)
    if status:
        stmt = stmt.where(Certificate.has_status(status, now))
    if pdf_status:
        stmt = stmt.where(Certificate.pdf_status == pdf_status)
    if department:
        stmt = stmt.where(users.in_department(Certificate.user_id, department))
    if viewer is not None:
        stmt = scope.restrict(stmt, Certificate.user_id, viewer)
    if issued_from:
        stmt = stmt.where(Certificate.issued_at >= _day_start(issued_from))
    if issued_to:
        if isinstance(issued_to, datetime):
            stmt = stmt.where(Certificate.issued_at <= _day_start(issued_to))
        else:
            stmt = stmt.where(Certificate.issued_at < _day_start(issued_to) + timedelta(days=1))
    if search.strip():
        pattern = like_pattern(search)
        # Subqueries, not a join: pages and counts must not hash-join every user.
        matches = [Certificate.user_id.in_(select(User.id).where(or_(
            func.lower(User.name).like(pattern, escape="\\"), User.email.like(pattern, escape="\\"))))]
        if any(ch.isdigit() for ch in search):  # serials look like LAU-2026-000123
            matches.append(func.lower(Certificate.serial).like(pattern, escape="\\"))
        stmt = stmt.where(or_(*matches))
    return stmt


def chain(cert: Certificate) -> list[Certificate]:
    """The renewal chain this certificate belongs to, oldest first (both directions).

    One query: every certificate of the same holder and certification, then the links are followed here.
    """
    siblings = db.session.scalars(select(Certificate).where(
        Certificate.user_id == cert.user_id, Certificate.certification_id == cert.certification_id)).all()
    return link_chain(cert, siblings)


def link_chain(cert, siblings: Sequence) -> list:
    """Order `siblings` (rows with id and renewed_from_id: models or Core rows) into `cert`'s chain."""
    by_id = {c.id: c for c in siblings}
    successor = {c.renewed_from_id: c for c in siblings if c.renewed_from_id}
    first = cert
    while first.renewed_from_id in by_id and by_id[first.renewed_from_id] is not cert:
        first = by_id[first.renewed_from_id]
    result, current, seen = [], first, set()
    while current is not None and current.id not in seen:
        seen.add(current.id)
        result.append(current)
        current = successor.get(current.id)
    return result
