"""/api/v1: corrections and reissue, holders' correction requests, expiry administration.

The rules live in app/services/lifecycle/corrections.py and expiry.py (docs/corrections.md).
"""

from __future__ import annotations

from flask import abort

from app.api.base import Param, actor, bp, committed, endpoint, paginate, viewer
from app.extensions import db
from app.models import Certificate, CertificateVersion, CorrectionRequest
from app.services.lifecycle import certificates, corrections, expiry

TAG = "Certificates"
VALUES = ("holder_name", "completed_on", "score")


def version_data(cert: Certificate, version: CertificateVersion) -> dict:
    return {"version": version.version, "summary": version.summary, "changes": version.changes,
            "reason": version.reason, "created_at": version.created_at.isoformat(),
            "actor": version.actor_label,
            "certificate": certificates.certificate_data(cert)}


@bp.post("/certificates/<id:id>/reissue")
@endpoint("Correct and reissue a certificate", access="manager", tag=TAG, response="CertificateVersion",
          load=Certificate, body="Reissue", errors=(409, 422),
          description="Corrects what the certificate prints (`holder_name`, `completed_on`, `score`: only "
                      "the fields sent) and makes its next version: same serial, code and verify link, PDF "
                      "made again, `certificate.reissued` webhook, the holder told by mail. Nothing differs "
                      "from what it prints (a repeated request): 422. Revoked: 409.")
def reissue_certificate(item: Certificate, body: dict):
    version = corrections.reissue(item, {k: v for k, v in body.items() if k in VALUES}, body["reason"],
                                  actor=actor())
    return committed(version_data(item, version))


@bp.get("/certificates/<id:id>/versions")
@endpoint("A certificate's corrections", access="login", tag=TAG, response="CertificateVersions",
          load=Certificate, own="user_id", description="Newest first. Learners: their own certificates.")
def certificate_versions(item: Certificate):
    return {"items": [version_data(item, v) for v in corrections.versions(item)]}


@bp.post("/certificates/<id:id>/correction-requests")
@endpoint("Ask for a correction of my certificate", access="login", tag=TAG, response="CorrectionRequest",
          load=Certificate, own="user_id", body="CorrectionRequestCreate", status=201, errors=(409, 422),
          description="The holder only (anyone else: 404). One open request per certificate (409).")
def create_correction_request(item: Certificate, body: dict):
    if item.user_id != actor().id:
        abort(404)
    row = corrections.request_correction(item, {k: v for k, v in body.items() if k in VALUES},
                                         body["reason"], user=actor())
    return committed(corrections.request_data(row)), 201


STATUS = Param("status", {"type": "string", "enum": ["pending", "approved", "rejected"]},
               "Only this state (default: all).")


@bp.get("/correction-requests")
@endpoint("List correction requests", access="manager", tag=TAG, response="CorrectionRequest", paginated=True,
          params=(STATUS,), description="Oldest first. Managers: the people of their departments.")
def list_correction_requests(query: dict):
    stmt = corrections.request_query(query["status"] or "", viewer())
    return paginate(stmt, query, corrections.request_data)


@bp.post("/correction-requests/<id:id>/approve")
@endpoint("Approve a correction request", access="manager", tag=TAG, response="CertificateVersion",
          load=CorrectionRequest, body="Empty", errors=(409, 422),
          description="Reissues the certificate with the requested values. Decided already: 409.")
def approve_correction_request(item: CorrectionRequest, body: dict):
    version = corrections.approve(item, actor=actor())
    return committed(version_data(item.certificate, version))


@bp.post("/correction-requests/<id:id>/reject")
@endpoint("Reject a correction request", access="manager", tag=TAG, response="CorrectionRequest",
          load=CorrectionRequest, body="CorrectionReject", errors=(409, 422),
          description="The note is mailed to the holder. Decided already: 409.")
def reject_correction_request(item: CorrectionRequest, body: dict):
    corrections.reject(item, body["note"], actor=actor())
    return committed(corrections.request_data(item))


@bp.post("/certificates/expiry")
@endpoint("Extend or set the expiry of certificates", access="manager", tag=TAG, response="ExpiryResult",
          body="ExpiryChange", errors=(404, 422),
          description="All or nothing: an unknown id (or a person outside a manager's departments) is 404; "
                      "a revoked certificate, a date before the issue date or over 50 years ahead is 422 and "
                      "nothing changes. Audited per certificate; each holder is told by mail; reminders "
                      "follow the new date.")
def change_expiry(body: dict):
    change = expiry.clean_change(body)
    ids = body["certificate_ids"]
    certs = expiry.lock_certificates(ids)
    if len(certs) != len(set(ids)) or not expiry.all_visible(certs, viewer()):
        abort(404)
    count = expiry.change_expiry(certs, change, actor=actor())
    db.session.flush()
    return committed({"changed": count, "certificates": [certificates.certificate_data(c) for c in certs]})
