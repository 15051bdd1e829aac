"""View helpers for the sharing pages: what a certificate card shows, where its PDF is."""

from __future__ import annotations

from flask import current_app, url_for

from app.models import Certificate
from app.services.lifecycle.certificates import verify_url
from app.services.sharing import shares
from app.views.sharing.forms import share_form

STATUS_COLORS = {"valid": "success", "expiring": "warning", "expired": "secondary", "revoked": "danger"}
# PDFs are served by the documents blueprint (app/views/documents/pdfs.py), with its access rules.
OWN_PDF = "documents.certificate_pdf"
PDF_STATUS = "documents.pdf_status"


def _has(endpoint: str) -> bool:
    return endpoint in current_app.view_functions


def pdf_url(cert: Certificate) -> str | None:
    """The holder's download link, once a PDF exists."""
    if not cert.pdf_key or not _has(OWN_PDF):
        return None
    return url_for(OWN_PDF, certificate_id=cert.id)


def card_context(cert: Certificate) -> dict:
    status = cert.status
    return {
        "cert": cert, "status": status, "status_color": STATUS_COLORS.get(status, "secondary"),
        "name": (cert.snapshot or {}).get("certification_name") or cert.certification.name,
        "pdf_url": pdf_url(cert), "pdf_status_fragment": _has(PDF_STATUS), "verify_url": verify_url(cert),
        "share_url": shares.share_url(cert), "privacy": shares.PRIVACY_MODEL,
        "can_share": cert.revoked_at is None,
        "form": share_form(cert.id),
    }
