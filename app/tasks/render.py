"""Rendering certificate PDFs and building bulk ZIP exports."""

from __future__ import annotations

from app.documents import RenderError
from app.extensions import db
from app.models import Certificate
from app.services.documents import downloads, rendering
from app.tasks.outcome import commit_outcome


def render_certificate(cert_id: int, try_number: int = 1) -> str:
    """Render one certificate. Safe to run any number of times: only a pending row is claimed,
    and only the claimed version is published (see app/services/documents/rendering.py)."""
    version = rendering.claim(cert_id)
    db.session.commit()  # visible claim: a second job for the same certificate now skips
    if version is None:
        return "skipped"
    cert = db.session.get(Certificate, cert_id)
    if cert is None:
        return "gone"
    try:
        key = rendering.produce(cert, version)
    except Exception as exc:  # every failure is recorded on the row and shown; template faults do not retry
        db.session.rollback()
        retryable = exc.retryable if isinstance(exc, RenderError) else True
        message = str(exc) if isinstance(exc, RenderError) else f"{type(exc).__name__}: {exc}"
        outcome = rendering.mark_failed(cert_id, version, message, try_number=try_number, retryable=retryable)
        db.session.commit()
        return outcome
    # Stored: publish it at once (retrying a dropped connection), or the file is an orphan that
    # recovery deletes and renders again.
    won, obsolete = commit_outcome(lambda: rendering.mark_ready(
        db.session.get(Certificate, cert_id, populate_existing=True), version, key))
    rendering.discard(obsolete)
    return "ready" if won else "superseded"


def build_zip(export_id: int) -> str:
    """Build one bulk ZIP export, committing progress as it goes."""
    outcome = downloads.build_export(export_id, progress=db.session.commit)
    db.session.commit()
    return outcome
