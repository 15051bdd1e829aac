"""Certificate PDFs: render from the frozen snapshot, store, track state, recover, then mail.

State on the certificate row (the database is the truth, Redis only carries work):

- ``pending``: a render is wanted (just issued, regenerate asked, or a retry is due);
- ``rendering``: a job claimed it (conditional UPDATE) and bumped ``pdf_attempts`` -- the
  *version* of the PDF being made. Shown to users as pending (`certificates.pdf_state`);
- ``ready`` with ``pdf_key``; ``failed`` with ``pdf_error`` after the retries ran out (or at
  once for a template mistake, which retrying cannot fix).

A job only finishes the version it claimed (``pdf_attempts`` still equal), so a double enqueue,
a regenerate mid-render or a worker killed and recovered can never store two results or send two
mails. The "certificate issued" email (PDF attached) is queued when the first PDF is ready,
once per certificate (outbox ``dedupe_key``).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from rq import Retry
from sqlalchemy import func, select, update

from app import liveness
from app.database import utcnow
from app.documents import default_template, render_pdf
from app.documents import fast as fast_renderer
from app.documents.storage import StorageError, get_storage
from app.extensions import db
from app.models import Certificate, Certification, OutboxEmail
from app.models.template import CertificateTemplate
from app.queue import enqueue_after_commit
from app.services import audit, events, organisation
from app.services.credentials import pdf_signing
from app.services.documents import pictures
from app.services.errors import NotAllowed
from app.services.lifecycle.certificates import verify_url
from app.services.messaging import outbox

RENDER_JOB = "app.tasks.render.render_certificate"
#: Transient failures (storage down, a crash) are retried this many times in all, with backoff.
MAX_TRIES = 4
BACKOFF_SECONDS = (15, 60, 300)
#: RQ-level retries for what breaks before the row is claimed (database locked or unreachable);
#: render failures themselves are handled on the row (mark_failed), never by raising.
JOB_RETRY = (0, 10, 60)
#: Defaults, overridable in app.config: a claimed render older than this was interrupted (worker
#: killed) -- the fallback when worker liveness is unknown; a dead worker's render is normally found
#: within about a minute (`free_abandoned`). A pending one older than the grace period lost its job
#: (Redis flushed): PDF_PENDING_GRACE_SECONDS, else RECOVERY_LOST_JOB_SECONDS.
STUCK_SECONDS = 900
#: Seconds one render may take (RENDER_TIME_LIMIT): a certificate takes well under one.
DEFAULT_RENDER_TIME_LIMIT = 30
RENDER_JOB_MARGIN = 60
#: Renders have their own queues (app/queue.py RENDER_QUEUES) and worker: a slow template never
#: holds up mail or webhooks. Regenerating a whole certification goes behind new certificates.
RENDER_QUEUE, BULK_RENDER_QUEUE = "render", "render-bulk"
PENDING_GRACE_SECONDS = 120
INTERRUPTED = "the render was interrupted (worker stopped); retried by the sweep"
ISSUED_MAIL = "certificate_issued"


# --------------------------------------------------------------------------------------------
# What to render
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Design:
    html: str
    css: str
    page_size: str = "A4"
    orientation: str = "landscape"
    images: dict[str, tuple[str, str]] = field(default_factory=dict)  # role -> (storage key, type)
    #: The designer's elements when the template is a design (not detached into code): what the fast
    #: renderer draws. None for code templates and the built-in design.
    elements: tuple[dict[str, Any], ...] | None = None


def default_template_row() -> CertificateTemplate | None:
    return db.session.scalar(select(CertificateTemplate).where(CertificateTemplate.is_default)
                             .order_by(CertificateTemplate.id).limit(1))


def design_of(template: CertificateTemplate | None) -> Design:
    """A template row as plain values; None means the built-in design."""
    if template is None:
        html, css = default_template()
        return Design(html, css)
    images = {a.role: (a.storage_key, a.content_type) for a in template.assets}
    elements = tuple(json.loads(template.design)) if template.design else None
    return Design(template.html, template.css, template.page_size, template.orientation, images, elements)


def design_for(certification: Certification) -> Design:
    """The certification's template, else the admin's default, else the built-in one."""
    return design_of(certification.template or default_template_row())


_image_cache: dict[str, str] = {}


def image_data_uri(storage_key: str, content_type: str) -> str:
    """An uploaded image as a data URI. Cached per process: asset keys are never reused."""
    uri = _image_cache.get(storage_key)
    if uri is None:
        data = get_storage().read(storage_key)
        uri = f"data:{content_type};base64,{base64.b64encode(data).decode('ascii')}"
        if len(_image_cache) > 64:
            _image_cache.clear()
        _image_cache[storage_key] = uri
    return uri


def _date(value: Any) -> dt.date | None:
    if not value:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return datetime.fromisoformat(str(value)).date()


def context_for(cert: Certificate, design: Design) -> dict[str, Any]:
    """Placeholder values from the certificate's frozen snapshot (never today's names)."""
    snap = cert.snapshot or {}
    images = {f"{role}_url": image_data_uri(*where) for role, where in design.images.items()}
    return {
        "holder_name": snap.get("holder_name") or cert.user.name,
        "certification_name": snap.get("certification_name") or cert.certification.name,
        "courses": [{"code": c.get("code", ""), "title": c.get("title", "")}
                    for c in snap.get("courses", [])],
        "score": snap.get("score"),
        "issued_on": _date(snap.get("issued_at")) or cert.issued_at.date(),
        "expires_on": _date(snap.get("expires_at")),
        "serial": cert.serial or "",
        "verify_url": verify_url(cert),
        "issuer_name": snap.get("issuer_name") or "",
        "signatory_name": snap.get("signatory_name") or "",
        "signatory_title": snap.get("signatory_title") or "",
        "organisation_name": organisation.branding().name,  # Admin › Settings, else ORG_NAME
        **images,
    }


def render(cert: Certificate, design: Design | None = None) -> bytes:
    """The certificate's PDF bytes, within RENDER_TIME_LIMIT seconds. Raises RenderError
    (TemplateRenderError for template faults and limits, RenderTimeoutError for the time limit)."""
    design = design or design_for(cert.certification)
    return render_design(design, context_for(cert, design))


def renderer_of(design: Design) -> tuple[str, str]:
    """("fast" | "html", why): which engine draws this template's certificates (docs/documents.md).

    The fast renderer (app/documents/fast.py) draws a designer-made template straight from its
    elements; code templates (and designs detached into code) need the HTML engine. A certificate
    whose values the canvas cannot lay out (right-to-left names) still goes through HTML.
    """
    if design.elements is None:
        return "html", "the template is HTML/CSS code"
    if not current_app.config.get("PDF_FAST_RENDERER", True):
        return "html", "the fast renderer is switched off (PDF_FAST_RENDERER)"
    return "fast", ("made with the designer, so drawn straight from its elements; a certificate with "
                    "right-to-left text goes through the HTML engine")


def render_design(design: Design, context: dict[str, Any]) -> bytes:
    """Render ``context`` with the template's engine (:func:`renderer_of`), within RENDER_TIME_LIMIT."""
    if renderer_of(design)[0] == "fast" and design.elements is not None:
        try:
            return fast_renderer.render_design(design.elements, context, page_size=design.page_size,
                                               orientation=design.orientation, time_limit=render_time_limit())
        except fast_renderer.NeedsHtml:
            pass  # this certificate's values need the HTML engine
    return render_pdf(design.html, design.css, context,
                      page_size=design.page_size, orientation=design.orientation,  # type: ignore[arg-type]
                      time_limit=render_time_limit())


def render_time_limit() -> float:
    return float(current_app.config.get("RENDER_TIME_LIMIT", DEFAULT_RENDER_TIME_LIMIT))


def pdf_key(cert: Certificate, version: int) -> str:
    return f"certificates/{cert.id}/{cert.serial or cert.id}-v{version}.pdf"


def download_name(cert: Certificate) -> str:
    return f"{cert.serial or f'certificate-{cert.id}'}.pdf"


# --------------------------------------------------------------------------------------------
# The job's steps (app/tasks/render.py commits between them)
# --------------------------------------------------------------------------------------------


def request_render(cert: Certificate, *, try_number: int = 1, delay: timedelta | None = None,
                   queue: str = RENDER_QUEUE) -> None:
    """Enqueue the render after commit. The job id names the version and try: duplicates collapse
    to one render through :func:`claim`."""
    enqueue_after_commit(db.session, RENDER_JOB, cert.id, try_number, queue=queue, delay=delay,
                         job_id=f"pdf-{cert.id}-{cert.pdf_attempts}-{try_number}", retry=_job_retry(),
                         timeout=render_job_timeout())


def _job_retry() -> Retry:
    return Retry(max=len(JOB_RETRY), interval=list(JOB_RETRY))


def render_job_timeout() -> int:
    """RQ's hard stop for a render job: the render's own limit plus time to claim, store and
    commit. The render normally stops itself at RENDER_TIME_LIMIT and records why."""
    return int(render_time_limit()) + RENDER_JOB_MARGIN

def claim(cert_id: int, now: datetime | None = None) -> int | None:
    """Take a pending certificate for rendering; return the version claimed, or None."""
    now = now or utcnow()
    result = db.session.execute(
        update(Certificate).where(Certificate.id == cert_id, Certificate.pdf_status == "pending")
        .values(pdf_status="rendering", pdf_attempts=Certificate.pdf_attempts + 1, pdf_updated_at=now)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        return None
    liveness.hold("pdf", cert_id)
    return db.session.scalar(select(Certificate.pdf_attempts).where(Certificate.id == cert_id))


def produce(cert: Certificate, version: int) -> str:
    """Render and store version ``version``; return its storage key."""
    # Signed before storage (PAdES, with the embedded files): every stored PDF is signed.
    data = pdf_signing.sign(render(cert), cert)
    key = pdf_key(cert, version)
    get_storage().put(key, data, "application/pdf")
    # The public page's picture is made on its first request (pictures.read_picture), not here: most
    # certificates are never made public, and drawing it would cost the render worker as much again.
    return key


def still_mine(cert_id: int, version: int):
    return (Certificate.id == cert_id, Certificate.pdf_status == "rendering",
            Certificate.pdf_attempts == version)


def mark_ready(cert: Certificate, version: int, key: str,
               now: datetime | None = None) -> tuple[bool, str | None]:
    """Publish the stored PDF if this render still owns the certificate.

    Returns ``(won, obsolete_key)``: the key to delete after commit (ours when we lost, the
    previous version's when we won and no unsent mail still attaches it).
    """
    now = now or utcnow()
    previous = cert.pdf_key
    result = db.session.execute(
        update(Certificate).where(*still_mine(cert.id, version))
        .values(pdf_status="ready", pdf_key=key, pdf_error=None, pdf_updated_at=now)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        return False, key
    db.session.refresh(cert)
    audit.record("system", "certificate.pdf_ready", "certificate", cert.id,
                 f"{cert.serial} PDF rendered (version {version})", key=key)
    queue_issued_mail(cert)
    # Internal (not a webhook event type): the PDF export integration copies the new file out.
    events.emit("certificate.pdf_ready", {"id": cert.id, "serial": cert.serial, "pdf_key": key,
                                          "version": version})
    if previous and previous != key and not attached_to_unsent_mail(previous):
        return True, previous
    return True, None


def mark_failed(cert_id: int, version: int, error: str, *, try_number: int, retryable: bool,
                now: datetime | None = None) -> str:
    """Record a failed render: back to pending with a delayed retry, or failed for good."""
    now = now or utcnow()
    final = not retryable or try_number >= MAX_TRIES
    result = db.session.execute(
        update(Certificate).where(*still_mine(cert_id, version))
        .values(pdf_status="failed" if final else "pending", pdf_error=error[:2000], pdf_updated_at=now)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        return "superseded"
    cert = db.session.get(Certificate, cert_id, populate_existing=True)
    assert cert is not None
    if final:
        audit.record("system", "certificate.pdf_failed", "certificate", cert_id,
                     f"{cert.serial} PDF failed: {error[:300]}", error=error[:2000], tries=try_number)
        return "failed"
    delay = timedelta(seconds=BACKOFF_SECONDS[min(try_number - 1, len(BACKOFF_SECONDS) - 1)])
    request_render(cert, try_number=try_number + 1, delay=delay)
    return "retrying"


def discard(key: str | None) -> None:
    """Best-effort removal of a file nobody points at any more (after commit)."""
    if not key:
        return
    try:
        get_storage().delete(key)
    except StorageError as exc:
        current_app.logger.warning("could not delete %s: %s", key, exc)
    if key.endswith(".pdf"):
        pictures.discard_picture(key)


def _issued_mail_key(cert_id: int) -> str:
    return f"certificate-issued:{cert_id}"


def attached_to_unsent_mail(key: str) -> bool:
    rows = db.session.scalars(select(OutboxEmail.attachments).where(
        OutboxEmail.status.in_(("queued", "sending")), OutboxEmail.template == ISSUED_MAIL)).all()
    return any(a.get("storage_key") == key for attachments in rows for a in attachments or [])


def queue_issued_mail(cert: Certificate) -> OutboxEmail | None:
    """The "certificate issued" email with the PDF attached: once per certificate, ever."""
    if cert.revoked_at is not None or not cert.pdf_key:
        return None
    snap = cert.snapshot or {}
    name = snap.get("certification_name") or cert.certification.name
    link = verify_url(cert)
    return outbox.queue_email(
        cert.user.email, ISSUED_MAIL, subject=f"Your certificate: {name}", user_id=cert.user_id,
        context={"name": snap.get("holder_name") or cert.user.name, "certification": name,
                 "serial": cert.serial, "issued_on": _date(snap.get("issued_at")),
                 "expires_on": _date(snap.get("expires_at")), "verify_url": link, "share_url": link,
                 "renewal": cert.renewed_from_id is not None},
        attachments=[{"filename": download_name(cert), "content_type": "application/pdf",
                      "storage_key": cert.pdf_key}],
        dedupe_key=_issued_mail_key(cert.id))


def issued_mail(cert: Certificate) -> OutboxEmail | None:
    """The "certificate issued" email of this certificate, if one was ever queued."""
    return db.session.scalar(select(OutboxEmail).where(OutboxEmail.dedupe_key == _issued_mail_key(cert.id)))


def resend_issued_mail(cert: Certificate, *, actor: audit.Actor) -> OutboxEmail:
    """Send the "certificate issued" email again, with the current PDF attached (an admin's "Resend").

    The original row is reused (one row per certificate, its dedupe key): a resend after a
    regeneration must attach the PDF as it is now, not the file the first send pointed at.
    """
    if cert.revoked_at is not None:
        raise NotAllowed("A revoked certificate is not emailed again. Reinstate it first.")
    if not cert.pdf_key:
        raise NotAllowed("The PDF is not ready yet: the email goes out with it once it is rendered.")
    row = issued_mail(cert)
    if row is None:
        row = queue_issued_mail(cert)
        if row is None:  # pragma: no cover - guarded above (revoked, no PDF)
            raise NotAllowed("This certificate's email cannot be sent.")
        audit.record(actor, "mail.resent", "outbox_email", row.id, f"Mail to {row.to} queued")
        return row
    if row.status in ("queued", "sending"):
        raise NotAllowed("The email is already on its way.")
    row.attachments = [{"filename": download_name(cert), "content_type": "application/pdf",
                        "storage_key": cert.pdf_key}]
    outbox.resend(row, actor=actor)
    return row


# --------------------------------------------------------------------------------------------
# Regenerate
# --------------------------------------------------------------------------------------------


def regenerate(cert: Certificate, *, actor: audit.Actor) -> None:
    """Render this certificate again (after a failure or a template change)."""
    cert.pdf_status = "pending"
    cert.pdf_error = None
    cert.pdf_updated_at = utcnow()
    audit.record(actor, "certificate.pdf_regenerate", "certificate", cert.id,
                 f"{cert.serial} PDF regeneration requested")
    db.session.flush()
    request_render(cert)


def regenerate_certification(certification: Certification, *, actor: audit.Actor) -> int:
    """Render every certificate of a certification again (low priority queue); returns the count."""
    now = utcnow()
    ids = list(db.session.scalars(select(Certificate.id).where(
        Certificate.certification_id == certification.id).order_by(Certificate.id)))
    if not ids:
        return 0
    db.session.execute(
        update(Certificate).where(Certificate.certification_id == certification.id)
        .values(pdf_status="pending", pdf_error=None, pdf_updated_at=now)
        .execution_options(synchronize_session=False))
    audit.record(actor, "certification.pdf_regenerate", "certification", certification.id,
                 f"{len(ids)} PDFs of {certification.name} queued for regeneration", count=len(ids))
    versions = {cert_id: attempts for cert_id, attempts in db.session.execute(
        select(Certificate.id, Certificate.pdf_attempts)
        .where(Certificate.certification_id == certification.id))}
    for cert_id in ids:
        enqueue_after_commit(db.session, RENDER_JOB, cert_id, 1, queue=BULK_RENDER_QUEUE, retry=_job_retry(),
                             job_id=f"pdf-{cert_id}-{versions[cert_id]}-1", timeout=render_job_timeout())
    return len(ids)


def state_counts(certification_id: int) -> dict[str, int]:
    """{pending, ready, failed} for a certification's certificates."""
    rows = db.session.execute(select(Certificate.pdf_status, func.count()).where(
        Certificate.certification_id == certification_id).group_by(Certificate.pdf_status)).all()
    counts = {"pending": 0, "ready": 0, "failed": 0}
    for status, count in rows:
        counts["pending" if status == "rendering" else status] += count
    return counts


# --------------------------------------------------------------------------------------------
# Recovery and the event subscriber
# --------------------------------------------------------------------------------------------


@events.subscribe("certificate.issued")
@events.subscribe("certificate.renewed")
@events.subscribe("certificate.reissued")  # a correction: the PDF is made again from the new snapshot
def _render_new_certificate(event: events.Event) -> None:
    cert = db.session.get(Certificate, event.data["id"])
    if cert is not None and cert.pdf_status == "pending":
        request_render(cert)
