"""Recovering certificate renders: due renders whose job was lost (Redis flushed) are queued again,
renders claimed by a job no live worker holds are freed (and their unpublished file deleted).

Registered with the recovery sweep (app/tasks/sweep.py); the render itself is
app.services.documents.rendering.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, select, update

from app.database import utcnow
from app.extensions import db
from app.models import Certificate
from app.queue import waiting
from app.services import recovery
from app.services.documents.rendering import (
    INTERRUPTED,
    PENDING_GRACE_SECONDS,
    STUCK_SECONDS,
    attached_to_unsent_mail,
    discard,
    pdf_key,
    request_render,
    still_mine,
)


def recover(now: datetime | None = None) -> dict:
    """Re-enqueue renders the database says are due (Redis flushed, worker killed)."""
    now = now or utcnow()
    config = current_app.config
    stuck_before = now - timedelta(seconds=config.get("PDF_STUCK_SECONDS", STUCK_SECONDS))
    grace = config.get("PDF_PENDING_GRACE_SECONDS",
                       config.get("RECOVERY_LOST_JOB_SECONDS", PENDING_GRACE_SECONDS))
    grace_before = now - timedelta(seconds=grace)
    stuck = (Certificate.pdf_status == "rendering", Certificate.pdf_updated_at < stuck_before)
    for cert in db.session.scalars(select(Certificate).where(*stuck)):
        _discard_unpublished(cert, cert.pdf_attempts)
    # Interrupted twice: something about this certificate kills workers; stop and show it.
    db.session.execute(update(Certificate).where(*stuck, Certificate.pdf_error == INTERRUPTED)
                       .values(pdf_status="failed", pdf_updated_at=now,
                               pdf_error="the render was interrupted twice (worker killed or timed out)")
                       .execution_options(synchronize_session=False))
    db.session.execute(update(Certificate).where(*stuck)
                       .values(pdf_status="pending", pdf_error=INTERRUPTED, pdf_updated_at=grace_before)
                       .execution_options(synchronize_session=False))
    due = db.session.scalars(select(Certificate).where(
        Certificate.pdf_status == "pending",
        func.coalesce(Certificate.pdf_updated_at, Certificate.issued_at) <= grace_before)).all()
    alive = waiting([f"pdf-{cert.id}-{cert.pdf_attempts}-1" for cert in due])
    due = [cert for cert in due if f"pdf-{cert.id}-{cert.pdf_attempts}-1" not in alive]
    for cert in due:
        request_render(cert)
    return {"pdf": len(due)}


recovery.register(recover)


@recovery.register_abandoned
def free_abandoned(claims: recovery.Claims) -> dict:
    """Renders "rendering" whose job no live worker holds (worker killed, database dropped before
    the job's last commit): render again now -- or fail it, if it was interrupted before -- and
    delete the PDF file the interrupted attempt may have stored without publishing it."""
    rows = db.session.execute(select(Certificate.id, Certificate.pdf_attempts, Certificate.pdf_error).where(
        Certificate.pdf_status == "rendering", Certificate.pdf_updated_at < claims.claimed_before)).all()
    freed = 0
    for cert_id, version, error in rows:
        if not claims.abandoned("pdf", cert_id):
            continue
        again = error == INTERRUPTED
        result = db.session.execute(
            update(Certificate).where(*still_mine(cert_id, version))
            .values(pdf_status="failed" if again else "pending", pdf_updated_at=claims.now,
                    pdf_error="the render was interrupted twice (worker killed or timed out)" if again
                    else INTERRUPTED)
            .execution_options(synchronize_session=False))
        if result.rowcount != 1:
            continue
        freed += 1
        cert = db.session.get(Certificate, cert_id, populate_existing=True)
        assert cert is not None
        _discard_unpublished(cert, version)
        if not again:
            request_render(cert)
    return {"pdf_abandoned": freed}


def _discard_unpublished(cert: Certificate, version: int) -> None:
    """The file an interrupted attempt stored (it never became the certificate's PDF)."""
    key = pdf_key(cert, version)
    if key != cert.pdf_key and not attached_to_unsent_mail(key):
        discard(key)
