"""View helpers for the sharing pages: what a certificate card shows, and serving a stored PDF."""

from __future__ import annotations

from flask import Response, abort, current_app, url_for
from werkzeug.routing import BuildError

from app.models import Certificate
from app.services import engagement, sharing
from app.services.certificates import verify_url
from app.sharing.forms import ShareEmailForm

STATUS_COLORS = {"valid": "success", "expiring": "warning", "expired": "secondary", "revoked": "danger"}
# The documents blueprint's download route, when it exists (tried in order, with cert_id).
DOWNLOAD_ENDPOINTS = ("documents_web.download", "documents_web.download_pdf", "documents_web.certificate_pdf")


def pdf_url(cert: Certificate) -> str | None:
    """Where the holder downloads the PDF: the documents blueprint's route, else ours."""
    if cert.pdf_status != "ready":
        return None
    for endpoint in DOWNLOAD_ENDPOINTS:
        if endpoint in current_app.view_functions:
            try:
                return url_for(endpoint, cert_id=cert.id)
            except BuildError:
                continue
    return url_for("sharing.my_pdf", cert_id=cert.id)


def card_context(cert: Certificate) -> dict:
    status = cert.status
    return {
        "cert": cert, "status": status, "status_color": STATUS_COLORS.get(status, "secondary"),
        "name": (cert.snapshot or {}).get("certification_name") or cert.certification.name,
        "pdf_url": pdf_url(cert), "verify_url": verify_url(cert),
        "share_url": sharing.share_url(cert) if cert.public else None,
        "can_share": cert.revoked_at is None,
        "form": ShareEmailForm(formdata=None),
    }


def pdf_response(cert: Certificate) -> Response:
    """Stream the stored PDF and count the download (no viewer data kept)."""
    try:
        from app.documents.storage import get_storage
    except ImportError:  # the documents capability is not installed
        abort(404)
    try:
        data = get_storage().read(cert.pdf_key)
    except (FileNotFoundError, KeyError):
        abort(404)
    engagement.record(cert.id, "download")
    from app.extensions import db

    db.session.commit()
    response = Response(data, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="{cert.serial or "certificate"}.pdf"'
    response.headers["Cache-Control"] = "private, no-store"
    return response
