"""Revoking and reinstating certificates; the learner is told by mail."""

from __future__ import annotations

from app.models import Certificate
from app.services import audit


def revoke(cert: Certificate, reason: str, *, actor: audit.Actor) -> None:
    """Revoke with a required reason (ValidationError {"reason": ...}); NotAllowed if already revoked.
    Audited, emits certificate.revoked, queues the certificate_revoked mail."""
    raise NotImplementedError


def reinstate(cert: Certificate, *, actor: audit.Actor) -> None:
    """Undo a revocation; NotAllowed if not revoked. Audited, emits certificate.reinstated, mails."""
    raise NotImplementedError
