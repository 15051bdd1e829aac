"""Evidence pages: a learner's submissions for a certification, the assessors' review queue, one
submission with its review form, and its files (always downloads, never shown inline)."""

from __future__ import annotations

from flask import Response, abort, redirect, render_template, request, url_for
from flask_login import current_user

from app.extensions import db
from app.models import Certification, EvidenceFile, EvidenceSubmission
from app.services.lifecycle import evidence
from app.views.lifecycle import bp
from app.views.lifecycle.forms import EvidenceForm, ReviewForm
from app.web.auth import login_required, staff_required
from app.web.forms import submit
from app.web.pages import page_args


def _certification(cert_id: int) -> Certification:
    cert = db.get_or_404(Certification, cert_id)
    if not cert.evidence_required or cert.status != "active":
        abort(404)
    return cert


def _visible(submission_id: int) -> EvidenceSubmission:
    """Another learner's submission, or one of a certification the viewer does not assess: 404."""
    row = db.get_or_404(EvidenceSubmission, submission_id)
    if not evidence.visible_to(current_user, row):
        abort(404)
    return row


def _uploads() -> list[evidence.Upload]:
    # Read one byte past the limit: enough to refuse an oversized file without holding more of it.
    return [evidence.Upload(f.filename or "", f.read(evidence.MAX_FILE_BYTES + 1))
            for f in request.files.getlist("files")][: evidence.MAX_FILES + 1]


def _mine(cert: Certification) -> list[EvidenceSubmission]:
    stmt = evidence.visible_query(current_user, user_id=current_user.id, certification_id=cert.id)
    return list(db.session.scalars(stmt.limit(50)))


@bp.get("/certifications/<id:cert_id>/evidence")
@login_required
def my_evidence(cert_id: int):
    cert = _certification(cert_id)
    return render_template("lifecycle/my_evidence.html", cert=cert, form=EvidenceForm(),
                           submissions=_mine(cert), sent=request.args.get("sent") == "1")


@bp.post("/certifications/<id:cert_id>/evidence")
@login_required
def submit_evidence(cert_id: int):
    cert = _certification(cert_id)
    form = EvidenceForm()
    learner = current_user._get_current_object()
    done = submit(form, lambda: evidence.submit(learner, cert, form.text.data or "", _uploads(),
                                                actor=learner))
    if done:
        return redirect(url_for("lifecycle.my_evidence", cert_id=cert.id, sent=1))
    return render_template("lifecycle/my_evidence.html", cert=cert, form=form, submissions=_mine(cert)), 422


@bp.get("/evidence")
@staff_required
def evidence_queue():
    status = request.args.get("status", "pending")
    if status not in ("pending", "approved", "rejected", "all"):
        abort(400, description="Unknown status.")
    page, per_page = page_args()
    stmt = evidence.visible_query(current_user, status="" if status == "all" else status, reviewable=True)
    pagination = db.paginate(stmt, page=page, per_page=per_page, error_out=False)
    return render_template("lifecycle/evidence_queue.html", pagination=pagination, status=status)


@bp.get("/evidence/<id:submission_id>")
@login_required
def evidence_detail(submission_id: int):
    row = _visible(submission_id)
    may_review = evidence.may_review(current_user, row.certification) and row.status == "pending"
    return render_template("lifecycle/evidence_detail.html", row=row, form=ReviewForm(),
                           may_review=may_review)


@bp.post("/evidence/<id:submission_id>/review")
@staff_required
def review_evidence(submission_id: int):
    row = _visible(submission_id)
    if not evidence.may_review(current_user, row.certification):
        abort(404)  # the learner's own submission, seen by a staff member who does not assess it
    form = ReviewForm()
    reviewer = current_user._get_current_object()
    done = submit(form, lambda: evidence.review(row, form.decision.data, form.comment.data or "",
                                                actor=reviewer))
    if done:
        return redirect(url_for("lifecycle.evidence_detail", submission_id=submission_id))
    return render_template("lifecycle/evidence_detail.html", row=row, form=form, may_review=True), 422


@bp.get("/evidence/files/<id:file_id>")
@login_required
def evidence_file(file_id: int):
    stored = db.get_or_404(EvidenceFile, file_id)
    _visible(stored.submission_id)
    data = evidence.read_file(stored)
    # A download under our own name: the learner's name is only shown, never trusted in a header.
    response = Response(data, mimetype=stored.content_type.split(";")[0])
    name = f"evidence-{stored.id}.{stored.extension}"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "sandbox; default-src 'none'"
    response.headers["Cache-Control"] = "private, no-store"
    return response
