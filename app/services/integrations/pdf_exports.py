"""Certificate PDF export: every newly rendered certificate PDF copied to a folder or an S3 bucket.

Flow: `rendering.mark_ready` emits `certificate.pdf_ready`; `on_pdf_ready` (same transaction) makes
one `ExportedPdf` row per active export integration pending and queues `export_pdf` after commit;
the job copies the stored PDF to `<serial>.pdf` at the destination.

Idempotent: a row already exported with the same `pdf_key` is skipped; a job for an older key is
superseded (a regenerated PDF re-queues the row with the new key and the copy is overwritten under
the same name). Failures retry with backoff, then show as failed with a Retry button. The database is
the truth: the sweep (`recover`) re-queues pending rows whose job was lost, and catches up PDFs that
became ready while the integration was inactive (since it was first activated). Revoked certificates
are not exported; a copy made before the revocation stays (its QR code verifies as revoked).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import Select, and_, exists, select
from sqlalchemy.exc import IntegrityError

from app.connectors.file_drop import FolderError
from app.connectors.s3_bucket import BucketError
from app.database import utcnow
from app.documents.storage import StorageError, get_storage
from app.extensions import db
from app.models import Certificate
from app.models.integration import ExportedPdf, Integration
from app.queue import enqueue_after_commit, waiting
from app.services import audit, events, recovery
from app.services.errors import NotAllowed
from app.services.integrations import locations, registry

EXPORT_JOB = "app.tasks.integrations.export_pdf"
EVENT = "certificate.pdf_ready"
MAX_TRIES = 4
BACKOFF_SECONDS = (30, 300, 1800)
#: A pending row this much past its due time lost its job (Redis flushed, worker killed); the
#: setting RECOVERY_LOST_JOB_SECONDS (default 60 s) replaces it when present.
OVERDUE = timedelta(minutes=5)
CATCH_UP_BATCH = 200
COPY_ERRORS = (StorageError, BucketError, FolderError, OSError)
MAX_ROW_ID = 2_147_483_647  # ids are 32-bit on PostgreSQL: a larger one names no row (never query it)


def _targets() -> list[Integration]:
    return list(
        db.session.scalars(
            select(Integration).where(
                Integration.type == "pdf_export",
                Integration.active.is_(True),
                Integration.deleted_at.is_(None),
            )
        )
    )


def export_name(cert: Certificate) -> str:
    """One file per certificate: a regenerated PDF overwrites it, a renewal (new serial) does not."""
    return f"{cert.serial or f'certificate-{cert.id}'}.pdf"


@events.subscribe(EVENT)
def on_pdf_ready(event: events.Event) -> None:
    """Queue a copy for every active export integration (same transaction as the PDF becoming ready)."""
    targets = _targets()
    if not targets:
        return
    cert = db.session.get(Certificate, event.data["id"])
    if cert is None or not cert.pdf_key or cert.revoked_at is not None:
        return
    for integration in targets:
        queue(integration, cert)


def queue(integration: Integration, cert: Certificate, *, now: datetime | None = None) -> ExportedPdf:
    """Make the (integration, certificate) row pending for the certificate's current PDF and queue
    its job; an export already done for this very PDF is left alone."""
    assert cert.pdf_key
    row = _row(integration.id, cert.id)
    if row is not None and row.pdf_key == cert.pdf_key and row.status != "failed":
        return row  # exported, or already on its way
    if row is None:
        try:
            with db.session.begin_nested():  # a concurrent sweep may insert the same pair
                row = ExportedPdf(integration_id=integration.id, certificate_id=cert.id, pdf_key=cert.pdf_key)
                db.session.add(row)
                db.session.flush()
        except IntegrityError:
            row = _row(integration.id, cert.id)
            assert row is not None
    row.pdf_key, row.status, row.attempts, row.last_error = cert.pdf_key, "pending", 0, None
    row.next_attempt_at = now or utcnow()
    db.session.flush()
    _enqueue(row)
    return row


def _row(integration_id: int, certificate_id: int) -> ExportedPdf | None:
    return db.session.scalar(
        select(ExportedPdf).where(
            ExportedPdf.integration_id == integration_id, ExportedPdf.certificate_id == certificate_id
        )
    )


def _enqueue(row: ExportedPdf, delay: timedelta | None = None) -> None:
    # The job carries the key it copies: a job for a PDF regenerated meanwhile finds another key and stops.
    enqueue_after_commit(
        db.session,
        EXPORT_JOB,
        row.id,
        row.pdf_key,
        queue="low",
        delay=delay,
        job_id=f"pdfx-{row.id}-{row.attempts}",
    )


# --------------------------------------------------------------------------- the job


def export(row_id: int, pdf_key: str, *, now: datetime | None = None) -> str:
    """Copy one PDF (the caller commits). Safe to run any number of times."""
    now = now or utcnow()
    row = db.session.get(ExportedPdf, row_id)
    if row is None:
        return "gone"
    if row.pdf_key != pdf_key:
        return "superseded"
    if row.status == "exported":
        return "skipped"
    integration = registry.get(row.integration_id)
    if integration is None or not integration.active:
        return "inactive"  # stays pending: the sweep queues it again once the integration is active
    cert = db.session.get(Certificate, row.certificate_id)
    if cert is None or cert.revoked_at is not None:
        db.session.delete(row)
        return "revoked"
    try:
        data = get_storage().read(pdf_key)
        location = locations.export_target(integration).put(export_name(cert), data, "application/pdf")
    except COPY_ERRORS as exc:
        return _failed(row, integration, cert, str(exc) or type(exc).__name__)
    row.status, row.location, row.exported_at, row.last_error = "exported", location, now, None
    row.attempts += 1
    registry.note_success(integration)
    registry.log(
        integration, "info", f"{cert.serial}: PDF copied to {location}", certificate_id=cert.id, key=pdf_key
    )
    return "exported"


def _failed(row: ExportedPdf, integration: Integration, cert: Certificate, error: str) -> str:
    row.attempts += 1
    row.last_error = error[:2000]
    registry.note_failure(integration, f"{cert.serial}: {error}")
    if row.attempts >= MAX_TRIES:
        row.status = "failed"
        registry.log(
            integration,
            "error",
            f"{cert.serial}: copy failed after {row.attempts} attempts: {error}",
            certificate_id=cert.id,
        )
        return "failed"
    delay = BACKOFF_SECONDS[min(row.attempts - 1, len(BACKOFF_SECONDS) - 1)]
    row.next_attempt_at = utcnow() + timedelta(seconds=delay)
    registry.log(
        integration,
        "warning",
        f"{cert.serial}: copy failed (attempt {row.attempts} of {MAX_TRIES}; next in {delay} s): {error}",
        certificate_id=cert.id,
    )
    _enqueue(row, delay=timedelta(seconds=delay))
    return "retrying"


# --------------------------------------------------------------------------- retry, test, queries


def retry_failed(integration: Integration, *, actor: audit.Actor, row_id: int | None = None) -> int:
    """Queue failed copies again (one, or all of the integration's); returns how many."""
    if integration.type != "pdf_export":
        raise NotAllowed("Only PDF export integrations copy files.")
    stmt = select(ExportedPdf).where(
        ExportedPdf.integration_id == integration.id, ExportedPdf.status == "failed"
    )
    if row_id is not None:
        stmt = stmt.where(ExportedPdf.id == row_id)
    rows = list(db.session.scalars(stmt))
    now = utcnow()
    for row in rows:
        row.status, row.attempts, row.next_attempt_at = "pending", 0, now
        _enqueue(row)
    if rows:
        audit.record(
            actor,
            "integration.exports_retried",
            "integration",
            integration.id,
            f"{len(rows)} failed PDF copies of {integration.name} queued again",
            count=len(rows),
        )
        registry.log(integration, "info", f"{len(rows)} failed PDF copies queued again")
    return len(rows)


def retry_one(integration: Integration, row_id: int, *, actor: audit.Actor) -> ExportedPdf:
    """Queue one failed copy again. LookupError: not one of this integration's copies; NotAllowed: the
    copy has not failed (it is pending or done, so a retry would copy it twice)."""
    row = db.session.get(ExportedPdf, row_id) if 0 < row_id <= MAX_ROW_ID else None
    if row is None or row.integration_id != integration.id:
        raise LookupError(f"No PDF copy {row_id} for this integration.")
    if row.status != "failed":
        raise NotAllowed(f"Only a failed copy can be retried; this one is {row.status}.")
    retry_failed(integration, actor=actor, row_id=row.id)
    return row


def test(integration: Integration) -> dict:
    """Write and remove a probe file at the destination; nothing is exported."""
    try:
        message = locations.export_target(integration).check()
    except COPY_ERRORS as exc:
        return {"ok": False, "error": str(exc)}
    return {"ok": True, "message": message}


def copy_query(integration: Integration, status: str = "") -> Select:
    """The integration's copies (one status, or all), the latest attempts first."""
    stmt = select(ExportedPdf).where(ExportedPdf.integration_id == integration.id)
    if status:
        stmt = stmt.where(ExportedPdf.status == status)
    return stmt.order_by(ExportedPdf.next_attempt_at.desc(), ExportedPdf.id.desc())


def copy_data(row: ExportedPdf) -> dict:
    cert = db.session.get(Certificate, row.certificate_id)
    return {
        "id": row.id,
        "integration_id": row.integration_id,
        "certificate_id": row.certificate_id,
        "serial": cert.serial if cert else None,
        "status": row.status,
        "attempts": row.attempts,
        "location": row.location,
        "last_error": row.last_error,
        "next_attempt_at": registry._iso(row.next_attempt_at),
        "exported_at": registry._iso(row.exported_at),
    }


def failed_query(integration: Integration) -> Select:
    return (
        select(ExportedPdf, Certificate.serial)
        .join(Certificate, Certificate.id == ExportedPdf.certificate_id)
        .where(ExportedPdf.integration_id == integration.id, ExportedPdf.status == "failed")
        .order_by(ExportedPdf.next_attempt_at.desc(), ExportedPdf.id.desc())
    )


# --------------------------------------------------------------------------- recovery


@recovery.register
def recover(now: datetime | None = None) -> dict:
    """Sweep step: re-queue copies whose job was lost, and catch up PDFs no row covers yet."""
    now = now or utcnow()
    overdue = timedelta(seconds=current_app.config.get("RECOVERY_LOST_JOB_SECONDS", OVERDUE.total_seconds()))
    lost = list(
        db.session.scalars(
            select(ExportedPdf)
            .join(Integration, Integration.id == ExportedPdf.integration_id)
            .where(
                ExportedPdf.status == "pending",
                ExportedPdf.next_attempt_at < now - overdue,
                Integration.active.is_(True),
                Integration.deleted_at.is_(None),
            )
            .limit(CATCH_UP_BATCH)
        )
    )
    alive = waiting([f"pdfx-{row.id}-{row.attempts}" for row in lost])
    lost = [row for row in lost if f"pdfx-{row.id}-{row.attempts}" not in alive]
    for row in lost:
        row.next_attempt_at = now
        _enqueue(row)
    caught_up = sum(_catch_up(integration, now) for integration in _targets())
    return {"pdf_exports": len(lost), "pdf_exports_caught_up": caught_up}


def _catch_up(integration: Integration, now: datetime) -> int:
    """Ready, unrevoked PDFs since the export went live that have no row for their current version."""
    since = (integration.cursor or {}).get("export_since")
    if not since:
        return 0
    covered = exists().where(
        and_(
            ExportedPdf.integration_id == integration.id,
            ExportedPdf.certificate_id == Certificate.id,
            ExportedPdf.pdf_key == Certificate.pdf_key,
        )
    )
    missing = list(
        db.session.scalars(
            select(Certificate)
            .where(
                Certificate.pdf_status == "ready",
                Certificate.pdf_key.is_not(None),
                Certificate.revoked_at.is_(None),
                Certificate.pdf_updated_at >= datetime.fromisoformat(since),
                Certificate.pdf_updated_at < now - OVERDUE,  # a fresh one is still in its own transaction
                ~covered,
            )
            .order_by(Certificate.id)
            .limit(CATCH_UP_BATCH)
        )
    )
    for cert in missing:
        queue(integration, cert, now=now)
    if missing:
        registry.log(integration, "info", f"Catching up: {len(missing)} PDF(s) queued for copying")
    return len(missing)
