"""/api/v1/certificates: issued certificates (read), revoke and reinstate (admins).

Certificates are issued by the domain when requirements are met (complete an enrollment), never created
through this API.
"""

from __future__ import annotations

from flask import Response

from app.api.base import Param, actor, bp, committed, endpoint, paginate, scoped_user_id, viewer
from app.api.schemas import ID
from app.extensions import db
from app.models import CERTIFICATE_STATUSES, Certificate
from app.models.certificate import PDF_STATES
from app.services.documents import downloads
from app.services.lifecycle import certificates, revocation
from app.services.sharing import engagement
from app.web.errors import problem

TAG = "Certificates"
FILTERS = (
    Param("certification_id", ID, "Only this certification."),
    Param("user_id", ID, "Only this holder (learners always see only their own)."),
    Param("status", {"type": "string", "enum": list(CERTIFICATE_STATUSES)},
          "Only this derived status (expiring = inside the renewal window)."),
    Param("pdf_status", {"type": "string", "enum": list(PDF_STATES)},
          "Only this PDF state (`failed`: the PDFs whose rendering gave up; regenerate them)."),
)


@bp.get("/certificates")
@endpoint("List certificates", access="login", tag=TAG, response="Certificate", paginated=True,
          params=FILTERS, description="Newest first. Learners get only their own certificates.")
def list_certificates(query: dict):
    stmt = certificates.certificate_query(certification_id=query["certification_id"],
                                          user_id=scoped_user_id(query["user_id"]),
                                          status=query["status"] or "",
                                          pdf_status=query["pdf_status"] or "", viewer=viewer())
    return paginate(stmt, query, certificates.certificate_data)


@bp.get("/certificates/<id:id>")
@endpoint("Get a certificate", access="login", tag=TAG, response="Certificate", load=Certificate,
          own="user_id", description="Learners may read only their own (others: 404).")
def get_certificate(item: Certificate):
    return certificates.certificate_data(item)


@bp.post("/certificates/<id:id>/revoke")
@endpoint("Revoke a certificate", access="manager", tag=TAG, response="Certificate", load=Certificate,
          body="Revoke", errors=(409,),
          description="The reason is shown to anyone verifying the certificate; the holder is told by mail. "
                      "Already revoked: 409.")
def revoke_certificate(item: Certificate, body: dict):
    revocation.revoke(item, body["reason"], actor=actor())
    return committed(certificates.certificate_data(item))


@bp.post("/certificates/<id:id>/reinstate")
@endpoint("Reinstate a revoked certificate", access="manager", tag=TAG, response="Certificate",
          load=Certificate, body="Empty", errors=(409,),
          description="No body (or `{}`). Not revoked: 409. The holder is told by mail.")
def reinstate_certificate(item: Certificate, body: dict):
    revocation.reinstate(item, actor=actor())
    return committed(certificates.certificate_data(item))


@bp.get("/certificates/<id:id>/pdf")
@endpoint("Download a certificate's PDF", access="login", tag=TAG, load=Certificate, own="user_id",
          media="application/pdf",
          description="Same access as the certificate: learners their own, staff and admins any. "
                      "404 until the PDF is ready (see `pdf_status`).")
def certificate_pdf(item: Certificate):
    try:
        data, filename = downloads.read_pdf(item)
    except LookupError:
        return problem(404, f"The PDF of {item.serial} is not ready (pdf_status: {item.pdf_status}).")
    engagement.record(item.id, "download")
    db.session.commit()
    return Response(data, mimetype="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "private, no-store"})
