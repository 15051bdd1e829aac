"""Certificates for staff: filtered list, CSV export, detail (chain, snapshot, audit), revoke, reinstate."""

from __future__ import annotations

from flask import Response, render_template, stream_with_context
from flask_login import current_user

from app.certifications import bp
from app.certifications.forms import RevokeForm
from app.certifications.helpers import filters, int_arg
from app.extensions import db
from app.models import CERTIFICATE_STATUSES, Certificate
from app.services import accounts, audit_log, catalog, certificates, reports, revocation
from app.services.errors import NotAllowed, ValidationError
from app.web.auth import admin_required, staff_required
from app.web.forms import put_errors
from app.web.pages import page_args, render_page_or_fragment

EXPORT_HEADER = ["serial", "holder", "email", "department", "certification", "status", "issued_at",
                 "expires_at", "revoked_at", "revoke_reason", "renewed_from_id", "verify_url"]


def _query_and_filters():
    args = filters("q", "status", "department", "issued_from", "issued_to")
    args["certification_id"] = int_arg("certification_id")
    dates = {}
    for key in ("issued_from", "issued_to"):
        try:
            dates[key] = catalog.clean_date(args[key])
        except ValueError:
            dates[key], args[key] = None, ""
    status = args["status"] if args["status"] in CERTIFICATE_STATUSES else ""
    stmt = certificates.certificate_query(certification_id=args["certification_id"], status=status,
                                          department=args["department"], search=args["q"], **dates)
    return stmt, args


@bp.get("/certificates")
@staff_required
def certificates_list():
    stmt, args = _query_and_filters()
    page, per_page = page_args()
    pagination = db.paginate(stmt, page=page, per_page=per_page, error_out=False)
    return render_page_or_fragment(
        "certifications/certificates.html", "certifications/_certificates_table.html", pagination=pagination,
        filters=args, statuses=CERTIFICATE_STATUSES, departments=accounts.departments(),
        programs=db.session.scalars(catalog.certification_query()).all())


@bp.get("/certificates/export.csv")
@staff_required
def export_certificates():
    stmt, _ = _query_and_filters()
    rows = ((c.serial, c.user.name, c.user.email, c.user.department or "", c.certification.name, c.status,
             catalog.isodate(c.issued_at), catalog.isodate(c.expires_at), catalog.isodate(c.revoked_at),
             c.revoke_reason or "", c.renewed_from_id or "", certificates.verify_url(c))
            for c in reports.stream_rows(stmt))
    return Response(stream_with_context(reports.csv_lines(EXPORT_HEADER, rows)), mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=certificates.csv"})


def _certificate(certificate_id: int) -> Certificate:
    return db.get_or_404(Certificate, certificate_id)


@bp.get("/certificates/<id:certificate_id>")
@staff_required
def certificate_detail(certificate_id: int):
    cert = _certificate(certificate_id)
    return render_template("certifications/certificate_detail.html", cert=cert,
                           form=RevokeForm(formdata=None), verify_url=certificates.verify_url(cert),
                           **_history(cert))


@bp.post("/certificates/<id:certificate_id>/revoke")
@admin_required
def revoke_certificate(certificate_id: int):
    cert = _certificate(certificate_id)
    form = RevokeForm()
    if form.validate_on_submit():
        try:
            revocation.revoke(cert, form.reason.data, actor=current_user)
        except ValidationError as exc:
            db.session.rollback()
            put_errors(form, exc)
        except NotAllowed as exc:
            db.session.rollback()
            form.form_errors.append(str(exc))
        else:
            db.session.commit()
            return _status_panel(cert, RevokeForm(formdata=None), "Certificate revoked.")
    return _status_panel(cert, form, status=422)


@bp.post("/certificates/<id:certificate_id>/reinstate")
@admin_required
def reinstate_certificate(certificate_id: int):
    cert = _certificate(certificate_id)
    form = RevokeForm(formdata=None)
    try:
        revocation.reinstate(cert, actor=current_user)
    except NotAllowed as exc:
        db.session.rollback()
        form.form_errors.append(str(exc))
        return _status_panel(cert, form, status=422)
    db.session.commit()
    return _status_panel(cert, form, "Certificate reinstated.")


def _history(cert: Certificate) -> dict:
    stmt = audit_log.audit_query(subject_type="certificate", subject_id=str(cert.id)).limit(100)
    return {"chain": certificates.chain(cert), "events": db.session.scalars(stmt).all()}


def _status_panel(cert: Certificate, form: RevokeForm, message: str | None = None, status: int = 200):
    """The status card; after a change, the chain and history cards too (out of band)."""
    extra = _history(cert) if message else {}
    return render_template("certifications/_certificate_status.html", cert=cert, form=form, message=message,
                           verify_url=certificates.verify_url(cert), oob=bool(message), **extra), status
