"""Rendering certificate PDFs again, as the documents pages do: one certificate (staff), or every certificate
of a certification (admins). Failed PDFs are found with `GET /certificates?pdf_status=failed`.

The same services as the console (app/services/documents/rendering.py), audited the same way.
"""

from __future__ import annotations

from app.api.base import actor, bp, committed, endpoint
from app.models import Certificate, Certification
from app.services.documents import rendering
from app.services.lifecycle import certificates


@bp.post("/certificates/<id:id>/regenerate")
@endpoint("Render a certificate's PDF again", access="staff", tag="Certificates", response="Certificate",
          status=202, load=Certificate, body="Empty",
          description="After a failure (`pdf_status: failed`) or a template change: the PDF is queued for "
                      "rendering (`pdf_status: pending`) and replaced when ready. No body (or `{}`).")
def regenerate_certificate_pdf(item: Certificate, body: dict):
    rendering.regenerate(item, actor=actor())
    return committed(certificates.certificate_data(item)), 202


@bp.post("/certifications/<id:id>/regenerate")
@endpoint("Render every PDF of a certification again", access="admin", tag="Certifications",
          response="Queued", status=202, load=Certification, body="Empty",
          description="Every certificate of this certification, on the low-priority queue (after a template "
                      "change, or to retry its failed PDFs). No body (or `{}`).")
def regenerate_certification_pdfs(item: Certification, body: dict):
    queued = rendering.regenerate_certification(item, actor=actor())
    return committed({"queued": queued}), 202
