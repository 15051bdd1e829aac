"""Certificates for staff: filtered list, CSV export, detail (chain, snapshot, audit), revoke, reinstate."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_login import current_user

from app.extensions import db
from app.models import CERTIFICATE_STATUSES, Certificate
from app.services import audit, csv_export, fields
from app.services.accounts import users
from app.services.documents import rendering
from app.services.lifecycle import catalog, certificates, corrections, revocation, stats
from app.views.lifecycle import bp
from app.views.lifecycle.forms import CorrectionForm, ExpiryForm, RevokeForm, correction_form
from app.views.lifecycle.helpers import filters, int_arg
from app.web.auth import manager_required, staff_required
from app.web.forms import attempt, submit
from app.web.pages import page_args, render_page_or_fragment
from app.web.scoping import record_or_404, viewer
from app.web.streaming import csv_response

EXPORT_HEADER = ["serial", "holder", "email", "department", "certification", "status", "issued_at",
                 "expires_at", "revoked_at", "revoke_reason", "renewed_from_id", "verify_url"]


def _query_and_filters():
    args = filters("q", "status", "department", "issued_from", "issued_to")
    args["certification_id"] = int_arg("certification_id")
    dates = {}
    for key in ("issued_from", "issued_to"):
        try:
            dates[key] = fields.clean_date(args[key])
        except ValueError:
            dates[key], args[key] = None, ""
    status = args["status"] if args["status"] in CERTIFICATE_STATUSES else ""
    stmt = certificates.certificate_query(certification_id=args["certification_id"], status=status,
                                          department=args["department"], search=args["q"], **dates,
                                          viewer=viewer())
    return stmt, args


@bp.get("/certificates")
@staff_required
def certificates_list():
    stmt, args = _query_and_filters()
    page, per_page = page_args()
    pagination = db.paginate(stmt, page=page, per_page=per_page, error_out=False, count=False)
    pagination.total = stats.list_count(stmt)  # cached until the rows change
    return render_page_or_fragment(
        "lifecycle/certificates.html", "lifecycle/_certificates_table.html", pagination=pagination,
        filters=args, statuses=CERTIFICATE_STATUSES, departments=users.department_names(viewer()),
        certifications=db.session.scalars(catalog.certification_query()).all(),
        expiry_form=ExpiryForm(formdata=None), pending_corrections=_pending_corrections())


def _pending_corrections() -> int | None:
    """How many correction requests wait (for the people who may decide them), else None."""
    if not current_user.manages_people:
        return None
    return corrections.pending_count(viewer())


@bp.get("/certificates/export.csv")
@staff_required
def export_certificates():
    stmt, _ = _query_and_filters()

    def rows():  # run while the body is sent (app/web/streaming.py)
        return ((c.serial, c.user.name, c.user.email, c.user.department or "", c.certification.name, c.status,
                 fields.isodate(c.issued_at), fields.isodate(c.expires_at), fields.isodate(c.revoked_at),
                 c.revoke_reason or "", c.renewed_from_id or "", certificates.verify_url(c))
                for c in csv_export.stream_rows(stmt))

    return csv_response("certificates.csv", EXPORT_HEADER, rows)


def _certificate(certificate_id: int) -> Certificate:
    return record_or_404(Certificate, certificate_id)


@bp.get("/certificates/<id:certificate_id>")
@staff_required
def certificate_detail(certificate_id: int):
    return detail_page(_certificate(certificate_id))


def detail_page(cert: Certificate, correction: CorrectionForm | None = None) -> str:
    """The certificate page; `correction`: the correction form as sent (with its errors)."""
    return render_template("lifecycle/certificate_detail.html", cert=cert,
                           form=RevokeForm(formdata=None), verify_url=certificates.verify_url(cert),
                           issued_mail=rendering.issued_mail(cert), versions=corrections.versions(cert),
                           correction=correction or correction_form(cert, submitted=False),
                           open_correction=correction is not None,
                           pending_request=corrections.pending_request(cert), **_history(cert))


@bp.post("/certificates/<id:certificate_id>/resend-email")
@manager_required
def resend_certificate_email(certificate_id: int):
    """The "certificate issued" email again, with the current PDF (the holder lost it, or a new PDF)."""
    cert = _certificate(certificate_id)
    done = attempt(lambda: rendering.resend_issued_mail(cert, actor=current_user))
    if done:
        flash(f"The certificate email to {cert.user.email} is queued again.", "success")
    else:
        flash(done.refusal, "warning")
    return redirect(url_for("lifecycle.certificate_detail", certificate_id=cert.id))


@bp.post("/certificates/<id:certificate_id>/revoke")
@manager_required
def revoke_certificate(certificate_id: int):
    cert = _certificate(certificate_id)
    form = RevokeForm()
    done = submit(form, lambda: revocation.revoke(cert, form.reason.data, actor=current_user),
                  answer=lambda _: _status_panel(cert, RevokeForm(formdata=None), "Certificate revoked."))
    if done:
        return done.value
    return _status_panel(cert, form, status=422)


@bp.post("/certificates/<id:certificate_id>/reinstate")
@manager_required
def reinstate_certificate(certificate_id: int):
    cert = _certificate(certificate_id)
    form = RevokeForm(formdata=None)
    done = attempt(lambda: revocation.reinstate(cert, actor=current_user),
                   answer=lambda _: _status_panel(cert, form, "Certificate reinstated."))
    if not done:
        form.form_errors.append(done.refusal)
        return _status_panel(cert, form, status=422)
    return done.value


def _history(cert: Certificate) -> dict:
    stmt = audit.query(subject_type="certificate", subject_id=str(cert.id)).limit(100)
    return {"chain": certificates.chain(cert), "events": db.session.scalars(stmt).all()}


def _status_panel(cert: Certificate, form: RevokeForm, message: str | None = None, status: int = 200):
    """The status card; after a change, the chain and history cards too (out of band)."""
    extra = _history(cert) if message else {}
    return render_template("lifecycle/_certificate_status.html", cert=cert, form=form, message=message,
                           verify_url=certificates.verify_url(cert), oob=bool(message),
                           issued_mail=rendering.issued_mail(cert), **extra), status
