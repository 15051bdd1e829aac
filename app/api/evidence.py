"""/api/v1/evidence: learners submit evidence for a certification; its assessor (or an admin) reviews it."""

from __future__ import annotations

import base64
import binascii

from flask import abort, url_for

from app.api.base import Param, actor, bp, committed, created, endpoint, paginate
from app.api.schemas import ID
from app.extensions import db
from app.models import EVIDENCE_STATUSES, Certification, EvidenceSubmission
from app.services.errors import ValidationError
from app.services.lifecycle import evidence

TAG = "Evidence"
FILTERS = (
    Param("status", {"type": "string", "enum": list(EVIDENCE_STATUSES)}, "Only this status."),
    Param("certification_id", ID, "Only this certification."),
    Param("reviewable", {"type": "boolean"}, "Only submissions the caller may review (the review queue)."),
)


def _visible(submission_id: int) -> EvidenceSubmission:
    row = db.session.get(EvidenceSubmission, submission_id)
    if row is None or not evidence.visible_to(actor(), row):
        abort(404, f"No evidence with id {submission_id}.")
    return row


@bp.get("/evidence")
@endpoint("List evidence", access="login", tag=TAG, response="Evidence", paginated=True, params=FILTERS,
          description="Newest first: the caller's own submissions and those of the certifications they "
                      "assess (admins: all).")
def list_evidence(query: dict):
    stmt = evidence.visible_query(actor(), status=query["status"] or "",
                                  certification_id=query["certification_id"],
                                  reviewable=bool(query["reviewable"]))
    return paginate(stmt, query, evidence.evidence_data)


@bp.get("/evidence/<id:id>")
@endpoint("Get evidence", access="login", tag=TAG, response="Evidence",
          description="The learner's own, or of a certification the caller assesses (others: 404).")
def get_evidence(id: int):  # noqa: A002 (the path argument's name)
    return evidence.evidence_data(_visible(id))


@bp.post("/certifications/<id:id>/evidence")
@endpoint("Submit evidence", access="login", tag=TAG, response="Evidence", status=201, body="EvidenceSubmit",
          load=Certification, errors=(409,),
          description="For a certification that requires evidence: a text and/or files (base64). Refused "
                      "(409) while the caller's previous submission waits for review.")
def submit_evidence(item: Certification, body: dict):
    uploads = []
    for number, upload in enumerate(body.get("files") or [], start=1):
        try:
            data = base64.b64decode(upload["content_base64"], validate=False)
        except (binascii.Error, ValueError):
            raise ValidationError({"files": f"File {number}: not valid base64."}) from None
        uploads.append(evidence.Upload(upload["filename"], data))
    learner = actor()
    row = evidence.submit(learner, item, body.get("text") or "", uploads, actor=learner)
    return committed(created(evidence.evidence_data(row), url_for("api.get_evidence", id=row.id)))


@bp.post("/evidence/<id:id>/review")
@endpoint("Review evidence", access="staff", tag=TAG, response="Evidence", body="EvidenceReview",
          errors=(409,),
          description="Approve or reject (a comment is required to reject); the learner is told by mail and "
                      "an approval issues the certificate when everything else is met. Decided already: 409.")
def review_evidence(id: int, body: dict):  # noqa: A002
    row = _visible(id)
    if not evidence.may_review(actor(), row.certification):
        abort(404, f"No evidence with id {id} to review.")
    evidence.review(row, body["decision"], body.get("comment") or "", actor=actor())
    return committed(evidence.evidence_data(row))
