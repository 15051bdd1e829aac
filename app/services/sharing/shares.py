"""Sharing a certificate: public/private, by email, on LinkedIn; the public share page's rules.

Who may do what (also in docs/architecture.md):
- The holder toggles their own certificates public/private (private by default). An admin may toggle
  anyone's (e.g. to take a page down on request); staff may not. Every change is audited.
- Only the holder shares by email or adds to LinkedIn. A revoked certificate cannot be made public or
  shared (it can always be made private).
- There is one public page per certificate, `/verify/<code>` (`/s/<code>`, the old share page,
  redirects to it): the validity check is always there; the picture and the PDF only while the
  certificate is public (PRIVACY_MODEL says it in one sentence).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from urllib.parse import quote, urlencode

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from sqlalchemy import func, select

from app.database import utcnow
from app.extensions import db
from app.models import AuditEvent, Certificate, User
from app.services import audit, events, organisation
from app.services.errors import NotAllowed, RateLimited, ValidationError
from app.services.fields import checked_text
from app.services.lifecycle import certificates
from app.services.lifecycle.certificates import certificate_data, verify_url
from app.services.lifecycle.verification import MAX_CODE
from app.services.messaging import outbox
from app.services.sharing import engagement

# The privacy model in one sentence, the same on the learner's pages, the share form and the public page.
PRIVACY_MODEL = ("Anyone with the link can check that this certificate is valid; making it public also "
                 "shows the picture and the PDF.")
MAX_RECIPIENTS = 5
MAX_MESSAGE = 1000
LINKEDIN_ADD = "https://www.linkedin.com/profile/add"
_SPLIT = re.compile(r"[\s,;]+")


def can_toggle(user: User, cert: Certificate) -> bool:
    return cert.user_id == user.id or user.is_admin


def set_public(cert: Certificate, public: bool, *, actor: User) -> bool:
    """Make the certificate public or private. Returns whether anything changed."""
    if not can_toggle(actor, cert):
        raise NotAllowed("Only the holder (or an admin) can change who sees this certificate.")
    if public and cert.revoked_at is not None:
        raise NotAllowed("A revoked certificate cannot be made public.")
    if cert.public == public:
        return False
    cert.public = public
    db.session.flush()
    state = "public" if public else "private"
    audit.record(actor, f"certificate.made_{state}", "certificate", cert.id, f"{cert.serial} made {state}",
                 serial=cert.serial, public=public)
    return True


def public_certificate(code: str) -> Certificate | None:
    """The certificate behind a share link, only while it is public (None looks like unknown)."""
    code = (code or "")[:MAX_CODE]
    return db.session.scalar(select(Certificate).where(Certificate.code == code,
                                                       Certificate.public.is_(True)))


def certificate_by_code(code: str) -> Certificate | None:
    code = (code or "")[:MAX_CODE]
    return db.session.scalar(select(Certificate).where(Certificate.code == code))


def share_url(cert: Certificate) -> str:
    """Where to send people: the one public page (the verify page); what it shows follows `public`."""
    return verify_url(cert)


def _require_holder(cert: Certificate, actor: User) -> None:
    if cert.user_id != actor.id:
        raise NotAllowed("Only the holder can share this certificate.")
    if cert.revoked_at is not None:
        raise NotAllowed("A revoked certificate cannot be shared.")


def parse_recipients(raw: str | list[str]) -> list[str]:
    """Up to five distinct, valid addresses (comma, semicolon, space or newline separated)."""
    parts = raw if isinstance(raw, list) else _SPLIT.split(raw or "")
    addresses: list[str] = []
    for part in (p.strip() for p in parts):
        if not part:
            continue
        try:
            address = validate_email(part, check_deliverability=False).normalized.lower()
        except EmailNotValidError:
            raise ValidationError({"recipients": f"{part[:100]} is not a valid email address."}) from None
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise ValidationError({"recipients": "Enter at least one email address."})
    if len(addresses) > MAX_RECIPIENTS:
        raise ValidationError({"recipients": f"At most {MAX_RECIPIENTS} addresses at a time."})
    return addresses


def recipients_last_hour(user: User, now: datetime | None = None) -> int:
    """Share mails this user sent in the last hour (counted from the audit trail: survives restarts)."""
    now = now or utcnow()
    rows = db.session.scalars(select(AuditEvent.data).where(
        AuditEvent.actor_id == user.id, AuditEvent.action == "certificate.shared",
        AuditEvent.at >= now - timedelta(hours=1)))
    return sum(int((data or {}).get("recipients", 0)) for data in rows)


def share_by_email(cert: Certificate, recipients: str | list[str], message: str = "", *, actor: User,
                   now: datetime | None = None) -> list[str]:
    """Queue one mail per recipient through the outbox. Rate limited per user (SHARE_EMAIL_RATE_LIMIT
    recipients an hour). Audited (the count, not the addresses), counted, emits certificate.shared."""
    _require_holder(cert, actor)
    addresses = parse_recipients(recipients)
    message = checked_text((message or "").strip(), "message", multiline=True)
    if len(message) > MAX_MESSAGE:
        raise ValidationError({"message": f"At most {MAX_MESSAGE} characters."})
    limit = current_app.config["SHARE_EMAIL_RATE_LIMIT"]
    if recipients_last_hour(actor, now) + len(addresses) > limit:
        raise RateLimited(f"You can share with at most {limit} addresses an hour. Try again later.")
    name = (cert.snapshot or {}).get("certification_name") or cert.certification.name
    context = {"sender": actor.name, "certification": name, "serial": cert.serial, "message": message,
               "share_url": share_url(cert), "verify_url": verify_url(cert), "issued_at": cert.issued_at,
               "expires_at": cert.expires_at}
    for address in addresses:
        outbox.queue_email(address, "certificate_shared",
                           subject=f"{actor.name} shared a certificate: {name}",
                           context=context)
    # The audit row is also the rate limiter's memory; it keeps how many, never who.
    audit.record(actor, "certificate.shared", "certificate", cert.id,
                 f"{cert.serial} shared by email with {len(addresses)} address(es)",
                 serial=cert.serial, recipients=len(addresses), channel="email")
    engagement.record(cert.id, "share")
    events.emit("certificate.shared", {**certificate_data(cert), "channel": "email",
                                       "recipients": len(addresses)})
    return addresses


def linkedin_url(cert: Certificate) -> str:
    """LinkedIn's add-to-profile link (docs: shared/reference/standards.md)."""
    config = current_app.config
    name = (cert.snapshot or {}).get("certification_name") or cert.certification.name
    params: list[tuple[str, str]] = [("startTask", "CERTIFICATION_NAME"), ("name", name)]
    if config.get("LINKEDIN_ORGANIZATION_ID"):
        params.append(("organizationId", str(config["LINKEDIN_ORGANIZATION_ID"])))
    else:
        params.append(("organizationName", organisation.branding().name))
    params += [("issueYear", str(cert.issued_at.year)), ("issueMonth", str(cert.issued_at.month))]
    if cert.expires_at is not None:
        params += [("expirationYear", str(cert.expires_at.year)),
                   ("expirationMonth", str(cert.expires_at.month))]
    params += [("certUrl", verify_url(cert)), ("certId", cert.serial or "")]
    return f"{LINKEDIN_ADD}?{urlencode(params, quote_via=quote, safe='')}"


def linkedin_click(cert: Certificate, *, actor: User) -> str:
    """Count the click and give the URL to redirect to (holder only)."""
    _require_holder(cert, actor)
    engagement.record(cert.id, "linkedin")
    return linkedin_url(cert)


def my_certificates(user: User) -> list[Certificate]:
    """Every certificate the user holds or held: valid first, revoked last, newest first within each."""
    from sqlalchemy.orm import joinedload

    return certificates.holder_order(list(db.session.scalars(
        select(Certificate).options(joinedload(Certificate.certification))
        .where(Certificate.user_id == user.id)
        .order_by(Certificate.issued_at.desc(), Certificate.id.desc()))))


def own_certificate(user: User, cert_id: int) -> Certificate | None:
    """The certificate if the user may manage its sharing (holder or admin), else None (-> 404)."""
    cert = db.session.get(Certificate, cert_id)
    if cert is None or not can_toggle(user, cert):
        return None
    return cert


def public_count() -> int:
    return db.session.scalar(select(func.count(Certificate.id)).where(Certificate.public.is_(True))) or 0
