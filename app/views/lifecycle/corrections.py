"""Corrections: an admin or manager corrects a certificate (a reissue); holders ask for one; the queue
of requests with approve and reject. The rules are in app/services/lifecycle/corrections.py."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from app.extensions import db
from app.models import Certificate, CorrectionRequest
from app.services.lifecycle import corrections
from app.views.lifecycle import bp
from app.views.lifecycle.certificates import detail_page
from app.views.lifecycle.forms import DecisionForm, correction_form
from app.web.auth import manager_required
from app.web.forms import attempt, submit
from app.web.pages import page_args
from app.web.scoping import record_or_404, viewer


@bp.post("/certificates/<id:certificate_id>/reissue")
@manager_required
def reissue_certificate(certificate_id: int):
    cert = record_or_404(Certificate, certificate_id)
    form = correction_form(cert, submitted=True)
    done = submit(form, lambda: corrections.reissue(cert, form.values(), form.reason.data,
                                                    actor=current_user))
    if done:
        flash(f"{cert.serial} is reissued as version {done.value.version}: {done.value.summary}.", "success")
        return redirect(url_for("lifecycle.certificate_detail", certificate_id=cert.id) + "#versions")
    return detail_page(cert, correction=form), 422


@bp.get("/certificates/corrections")
@manager_required
def correction_requests():
    page, per_page = page_args()
    pagination = db.paginate(corrections.request_query("pending", viewer()), page=page, per_page=per_page,
                             error_out=False)
    decided = db.session.scalars(corrections.request_query("", viewer()).where(
        CorrectionRequest.status != "pending").order_by(None).order_by(CorrectionRequest.decided_at.desc())
        .limit(20)).unique().all()
    return render_template("lifecycle/correction_requests.html", pagination=pagination, decided=decided,
                           form=DecisionForm(formdata=None))


def _request(request_id: int) -> CorrectionRequest:
    return record_or_404(CorrectionRequest, request_id)


@bp.post("/certificates/corrections/<id:request_id>/approve")
@manager_required
def approve_correction(request_id: int):
    req = _request(request_id)
    done = attempt(lambda: corrections.approve(req, actor=current_user))
    if done:
        flash(f"Approved: {req.certificate.serial} is reissued ({done.value.summary}).", "success")
    else:
        flash(done.refusal, "warning")
    return redirect(url_for("lifecycle.correction_requests"))


@bp.post("/certificates/corrections/<id:request_id>/reject")
@manager_required
def reject_correction(request_id: int):
    req = _request(request_id)
    form = DecisionForm()
    done = submit(form, lambda: corrections.reject(req, form.note.data, actor=current_user))
    if done:
        flash(f"Rejected; {req.user.name} is told why by email.", "success")
    else:
        flash(" ".join(form.note.errors or form.form_errors) or "Give the reason for rejecting.", "warning")
    return redirect(url_for("lifecycle.correction_requests"))


# --- the holder's side ---------------------------------------------------------------------------------


def _own(certificate_id: int) -> Certificate:
    cert = db.session.get(Certificate, certificate_id)
    if cert is None or cert.user_id != current_user.id:
        abort(404)  # another person's certificate does not exist for this user
    return cert


@bp.route("/me/certificates/<id:certificate_id>/correction", methods=["GET", "POST"])
@login_required
def request_correction(certificate_id: int):
    cert = _own(certificate_id)
    form = correction_form(cert, submitted=request.method == "POST")
    status = 200
    if request.method == "POST":
        done = submit(form, lambda: corrections.request_correction(cert, form.values(), form.reason.data,
                                                                   user=current_user))
        if done:
            flash("Your request is sent: an administrator will correct the certificate or tell you why not.",
                  "success")
            return redirect(url_for("lifecycle.request_correction", certificate_id=cert.id))
        status = 422
    return render_template("lifecycle/correction_request.html", cert=cert, form=form,
                           pending=corrections.pending_request(cert), history=_my_requests(cert)), status


def _my_requests(cert: Certificate) -> list[CorrectionRequest]:
    return list(db.session.scalars(select(CorrectionRequest)
                                   .where(CorrectionRequest.certificate_id == cert.id)
                                   .order_by(CorrectionRequest.created_at.desc()).limit(20)))
