"""Who may download which certificate PDF, reading it, and bulk ZIP exports per certification.

Access rules (the same for pages and the API):

- a learner downloads their own certificates;
- staff and admins download any certificate;
- anyone (logged out too) downloads a certificate its holder made public, unless it is revoked.

Everyone else gets "not found" (never "forbidden"), so ids and codes reveal nothing.
"""

from __future__ import annotations

import io
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

from flask import current_app
from sqlalchemy import select, update

from app import liveness
from app.credentials.errors import CredentialError
from app.database import utcnow
from app.documents.storage import StorageError, get_storage
from app.extensions import db
from app.models import Certificate, Certification, User
from app.models.template import PdfExport
from app.queue import enqueue_after_commit
from app.rules import display
from app.services import audit, organisation, recovery
from app.services.accounts import scope
from app.services.credentials import pdf_signing
from app.services.documents.rendering import download_name
from app.services.errors import NotAllowed
from app.services.lifecycle.certificates import verify_url

ZIP_JOB = "app.tasks.render.build_zip"
PROGRESS_EVERY = 50


def can_download(user: User | None, cert: Certificate) -> bool:
    """The access rule for one certificate's PDF (``user`` None or anonymous: the public rule)."""
    known = user is not None and getattr(user, "is_authenticated", False)
    if known and (cert.user_id == user.id or (  # type: ignore[union-attr]
            user.is_staff and scope.can_see_user(user, cert.user))):  # type: ignore[union-attr]
        return True
    return is_public(cert)


def is_public(cert: Certificate) -> bool:
    return bool(cert.public) and cert.revoked_at is None


def has_pdf(cert: Certificate) -> bool:
    """A PDF can be served (the last ready version stays downloadable while a new one renders)."""
    return bool(cert.pdf_key)


def read_pdf(cert: Certificate) -> tuple[bytes, str]:
    """``(pdf bytes, download filename)``; raises LookupError when there is no PDF (yet).

    A revoked or expired certificate's PDF comes stamped REVOKED / EXPIRED on every page (the stored
    original is never rewritten: reinstating or renewing shows it clean again).
    """
    if not cert.pdf_key:
        raise LookupError("no PDF yet")
    try:
        data = get_storage().read(cert.pdf_key)
    except StorageError as exc:
        raise LookupError(str(exc)) from exc
    stamp = stamp_for(cert)
    if stamp:
        try:
            data = stamp_pdf(data, *stamp)
        except Exception as exc:  # noqa: BLE001 - never hand out an unstamped PDF of a void certificate
            raise LookupError(f"could not stamp the PDF: {exc}") from exc
        data = _signed_copy(data, f"Marked {stamp[0]} by {organisation.branding().name}")
    return data, download_name(cert)


def _signed_copy(data: bytes, reason: str) -> bytes:
    """The stamped copy signed by us (it shows who stamped it); stamped but unsigned if signing fails."""
    try:
        return pdf_signing.sign_copy(data, reason)
    except CredentialError as exc:
        current_app.logger.warning("stamped PDF handed out unsigned: %s", exc)
        return data


def stamp_for(cert: Certificate) -> tuple[str, str] | None:
    """``(big word, small line)`` for a certificate whose PDF must not look valid, else None."""
    status, where = cert.status, f"See the verify page: {verify_url(cert)}"
    if status == "revoked":
        return "REVOKED", f"Revoked on {display.day(cert.revoked_at)}. {where}"
    if status == "expired":
        return "EXPIRED", f"Expired on {display.day(cert.expires_at)}. {where}"
    return None


def stamp_pdf(data: bytes, word: str, line: str) -> bytes:
    """Overlay a big diagonal ``word`` and a banner ``line`` on every page (pypdf + reportlab)."""
    from pypdf import PdfReader, PdfWriter
    from reportlab.lib.colors import Color
    from reportlab.pdfgen import canvas

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    _drop_signatures(writer)
    for page in writer.pages:
        width, height = float(page.mediabox.width), float(page.mediabox.height)
        overlay = io.BytesIO()
        sheet = canvas.Canvas(overlay, pagesize=(width, height))
        sheet.setFillColor(Color(0.75, 0.05, 0.1, alpha=0.35))
        sheet.setFont("Helvetica-Bold", min(width, height) / 4.5)
        sheet.saveState()
        sheet.translate(width / 2, height / 2)
        sheet.rotate(30)
        sheet.drawCentredString(0, -min(width, height) / 14, word)
        sheet.restoreState()
        sheet.setFillColor(Color(0.75, 0.05, 0.1, alpha=0.9))
        sheet.rect(0, height - 34, width, 34, stroke=0, fill=1)
        sheet.setFillColor(Color(1, 1, 1))
        sheet.setFont("Helvetica-Bold", 11)
        sheet.drawCentredString(width / 2, height - 22, f"{word} · {line}")
        sheet.save()
        page.merge_page(PdfReader(io.BytesIO(overlay.getvalue())).pages[0])
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _drop_signatures(writer) -> None:  # type: ignore[no-untyped-def]
    """Remove the original's signature fields: rewritten, the copy no longer matches them (a reader would
    call it "altered"); the stamped copy gets a signature of its own (`_signed_copy`)."""
    from pypdf.generic import ArrayObject, NameObject

    def is_signature(ref) -> bool:  # type: ignore[no-untyped-def]
        return ref.get_object().get("/FT") == "/Sig"

    root = writer.root_object
    root.pop(NameObject("/Perms"), None)
    form = root.get("/AcroForm")
    if form is not None:
        form = form.get_object()
        fields = ArrayObject(f for f in form.get("/Fields", []) if not is_signature(f))
        if fields:
            form[NameObject("/Fields")] = fields
            form.pop(NameObject("/SigFlags"), None)
        else:
            root.pop(NameObject("/AcroForm"), None)
    for page in writer.pages:
        annotations = page.get("/Annots")
        if annotations is not None:
            kept = (a for a in annotations.get_object() if not is_signature(a))
            page[NameObject("/Annots")] = ArrayObject(kept)


def presigned_url(cert: Certificate, expires: int = 300) -> str | None:
    """A short-lived direct link (S3 storage only; None with local storage or no PDF, or when the PDF
    must be stamped on the way out)."""
    if not cert.pdf_key or stamp_for(cert):
        return None
    return get_storage().url(cert.pdf_key, expires=expires, filename=download_name(cert))


# --------------------------------------------------------------------------------------------
# Bulk ZIP exports
# --------------------------------------------------------------------------------------------


def start_export(certification: Certification, *, actor: User) -> PdfExport:
    """Queue a ZIP of every ready PDF of a certification; the job reports progress on the row."""
    running = db.session.scalar(select(PdfExport).where(
        PdfExport.certification_id == certification.id, PdfExport.status.in_(("queued", "running"))))
    if running is not None:
        return running
    export = PdfExport(certification_id=certification.id, requested_by_id=actor.id, status="queued")
    db.session.add(export)
    db.session.flush()
    audit.record(actor, "certification.pdf_export", "certification", certification.id,
                 f"ZIP of the PDFs of {certification.name} requested", export_id=export.id)
    # With the renders (behind new certificates): a ZIP of thousands of PDFs must not hold up mail.
    enqueue_after_commit(db.session, ZIP_JOB, export.id, queue="render-bulk", job_id=f"zip-{export.id}")
    return export


def recent_exports(certification_id: int, limit: int = 5) -> list[PdfExport]:
    return list(db.session.scalars(select(PdfExport).where(PdfExport.certification_id == certification_id)
                                   .order_by(PdfExport.created_at.desc(), PdfExport.id.desc()).limit(limit)))


def export_key(export: PdfExport, certification: Certification) -> str:
    return f"exports/{export.id}/certification-{certification.id}-pdfs.zip"


def build_export(export_id: int, progress: Callable[[], None]) -> str:
    """Write the ZIP (claimed by a conditional UPDATE, so a duplicate job does nothing).

    ``progress`` is called after each batch so the job can commit the counters the page polls.
    """
    claimed = db.session.execute(
        update(PdfExport).where(PdfExport.id == export_id, PdfExport.status == "queued")
        .values(status="running", started_at=utcnow()).execution_options(synchronize_session=False))
    if claimed.rowcount != 1:
        return "skipped"
    liveness.hold("zip", export_id)
    export = db.session.get(PdfExport, export_id, populate_existing=True)
    assert export is not None
    certification = db.session.get(Certification, export.certification_id)
    assert certification is not None
    certs = list(db.session.scalars(select(Certificate).where(
        Certificate.certification_id == certification.id).order_by(Certificate.id)))
    export.total = len(certs)
    progress()
    storage = get_storage()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "export.zip"
            with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
                for index, cert in enumerate(certs, 1):
                    if cert.pdf_key and storage.exists(cert.pdf_key):
                        archive.writestr(download_name(cert), storage.read(cert.pdf_key))
                    else:
                        export.skipped += 1
                    export.done = index
                    if index % PROGRESS_EVERY == 0:
                        progress()
            data = path.read_bytes()
        key = export_key(export, certification)
        storage.put(key, data, "application/zip")
    except Exception as exc:  # recorded on the export row and shown on its page
        export.status = "failed"
        export.error = f"{type(exc).__name__}: {exc}"[:2000]
        export.finished_at = utcnow()
        return "failed"
    export.storage_key, export.size = key, len(data)
    export.status = "ready"
    export.finished_at = utcnow()
    return "ready"


ZIP_INTERRUPTED = "The worker stopped while building this ZIP; it is being built again."


@recovery.register_abandoned
def free_abandoned_exports(claims: recovery.Claims) -> dict:
    """ZIPs left `running` by a worker that died: build them again (a second interruption fails the
    export with a message, so the admin can ask again; it never blocks new exports forever)."""
    rows = db.session.execute(select(PdfExport.id, PdfExport.error).where(
        PdfExport.status == "running", PdfExport.started_at < claims.claimed_before)).all()
    freed = 0
    for export_id, error in rows:
        if not claims.abandoned("zip", export_id):
            continue
        again = error == ZIP_INTERRUPTED
        values = ({"status": "failed", "finished_at": claims.now,
                   "error": "The worker stopped twice while building this ZIP; request it again."} if again
                  else {"status": "queued", "done": 0, "skipped": 0, "error": ZIP_INTERRUPTED})
        result = db.session.execute(
            update(PdfExport).where(PdfExport.id == export_id, PdfExport.status == "running")
            .values(**values).execution_options(synchronize_session=False))
        if result.rowcount == 1:
            freed += 1
            if not again:
                enqueue_after_commit(db.session, ZIP_JOB, export_id, queue="low",
                                     job_id=f"zip-{export_id}-again")
    return {"zip_abandoned": freed}


def read_export(export: PdfExport) -> bytes:
    if export.status != "ready" or not export.storage_key:
        raise NotAllowed("The export is not ready.")
    return get_storage().read(export.storage_key)


def export_filename(export: PdfExport) -> str:
    return f"certification-{export.certification_id}-pdfs-{export.id}.zip"
