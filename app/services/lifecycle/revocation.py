"""Revoking and reinstating certificates; the learner is told by mail."""

from __future__ import annotations

from app.database import utcnow
from app.extensions import db
from app.models import Certificate, User
from app.services import audit, events, locking
from app.services.errors import NotAllowed, ValidationError
from app.services.fields import checked_text
from app.services.lifecycle.certificates import certificate_data, verify_url
from app.services.messaging import outbox

MAX_REASON = 1000


def revoke(cert: Certificate, reason: str, *, actor: audit.Actor) -> None:
    """Revoke with a required reason (ValidationError {"reason": ...}); NotAllowed if already revoked.
    Audited, emits certificate.revoked, queues the certificate_revoked mail."""
    reason = checked_text((reason or "").strip(), "reason", multiline=True)
    if not reason:
        raise ValidationError({"reason": "Give the reason for revoking: verifiers will see it."})
    if len(reason) > MAX_REASON:
        raise ValidationError({"reason": f"At most {MAX_REASON} characters."})
    locking.hold(cert)  # two revocations at once: the second sees the first (one event, one mail)
    if cert.revoked_at is not None:
        raise NotAllowed(f"{cert.serial} is already revoked.")
    cert.revoked_at = utcnow()
    cert.revoke_reason = reason
    cert.revoked_by_id = actor.id if isinstance(actor, User) else None
    db.session.flush()
    audit.record(actor, "certificate.revoked", "certificate", cert.id, f"{cert.serial} revoked: {reason}",
                 serial=cert.serial, reason=reason)
    events.emit("certificate.revoked", certificate_data(cert))
    _notify(cert, "certificate_revoked", f"Your certificate {cert.serial} has been revoked")


def reinstate(cert: Certificate, *, actor: audit.Actor) -> None:
    """Undo a revocation; NotAllowed if not revoked. Audited, emits certificate.reinstated, mails."""
    locking.hold(cert)
    if cert.revoked_at is None:
        raise NotAllowed(f"{cert.serial} is not revoked.")
    previous = cert.revoke_reason
    cert.revoked_at = None
    cert.revoke_reason = None
    cert.revoked_by_id = None
    db.session.flush()
    audit.record(actor, "certificate.reinstated", "certificate", cert.id, f"{cert.serial} reinstated",
                 serial=cert.serial, previous_reason=previous)
    events.emit("certificate.reinstated", certificate_data(cert))
    _notify(cert, "certificate_reinstated", f"Your certificate {cert.serial} is valid again")


def _notify(cert: Certificate, template: str, subject: str) -> None:
    holder = cert.user
    name = (cert.snapshot or {}).get("certification_name") or cert.certification.name
    outbox.queue_email(holder.email, template, subject=subject, user_id=holder.id, context={
        "name": holder.name, "certification": name,
        "serial": cert.serial, "reason": cert.revoke_reason, "revoked_at": cert.revoked_at,
        "verify_url": verify_url(cert),
    })
