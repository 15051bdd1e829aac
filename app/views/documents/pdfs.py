"""Certificate PDFs: download (access rules in app/services/documents/downloads.py), status, regenerate,
per-certification document settings and bulk ZIP exports."""

from __future__ import annotations

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.documents.storage import StorageError
from app.extensions import db, limiter
from app.models import Certificate, Certification
from app.models.template import CertificateTemplate, PdfExport
from app.services.documents import designer, downloads, rendering
from app.services.errors import NotAllowed
from app.services.sharing import engagement
from app.views.documents import bp
from app.views.documents.forms import AssignForm, SelectChoice
from app.web.auth import admin_required, login_required, staff_required
from app.web.pages import render_page_or_fragment
from app.web.scoping import record_or_404
from app.web.transactions import commit_with


def _pdf_response(cert: Certificate, disposition: str = "attachment") -> Response:
    redirect_url = downloads.presigned_url(cert)
    if redirect_url:  # S3: the bucket serves the bytes
        engagement.record(cert.id, "download")
        db.session.commit()
        return redirect(redirect_url)  # type: ignore[return-value]
    try:
        data, filename = downloads.read_pdf(cert)
    except LookupError:
        abort(404)
    engagement.record(cert.id, "download")
    db.session.commit()
    return Response(data, mimetype="application/pdf", headers={
        "Content-Disposition": f'{disposition}; filename="{filename}"', "Cache-Control": "private, no-store"})


@bp.get("/certificates/<id:certificate_id>/pdf")
@login_required
def certificate_pdf(certificate_id: int):
    cert = db.session.get(Certificate, certificate_id)
    if cert is None or not downloads.can_download(current_user, cert) or not downloads.has_pdf(cert):
        abort(404)
    return _pdf_response(cert, "inline" if request.args.get("inline") else "attachment")


@bp.get("/certificates/shared/<code>.pdf")
@limiter.limit("60 per minute")
def public_pdf(code: str):
    """The PDF of a certificate its holder made public (the share page links here)."""
    cert = db.session.query(Certificate).filter_by(code=code).one_or_none()
    if cert is None or not downloads.is_public(cert) or not downloads.has_pdf(cert):
        abort(404)
    return _pdf_response(cert)


@bp.get("/certificates/<id:certificate_id>/pdf/status")
@login_required
def pdf_status(certificate_id: int):
    """htmx: the PDF state badge (polls itself while pending)."""
    cert = db.session.get(Certificate, certificate_id)
    if cert is None or not downloads.can_download(current_user, cert):
        abort(404)
    return render_template("documents/_pdf_status.html", cert=cert)


@bp.post("/certificates/<id:certificate_id>/regenerate")
@staff_required
def regenerate(certificate_id: int):
    cert = record_or_404(Certificate, certificate_id)
    rendering.regenerate(cert, actor=current_user)
    if request.headers.get("HX-Request"):
        return commit_with(render_template("documents/_pdf_status.html", cert=cert))
    db.session.commit()
    flash(f"The PDF of {cert.serial} is being rendered again.", "success")
    return redirect(request.referrer or url_for("documents.pdf_status", certificate_id=cert.id))


# --------------------------------------------------------------------------------------------
# Per certification (admin): template, regenerate all, ZIP exports
# --------------------------------------------------------------------------------------------


def _assign_form(certification: Certification) -> AssignForm:
    form = AssignForm(template_id=certification.template_id or 0)
    form.template_id.choices = [SelectChoice(0, "Default template")] + [
        SelectChoice(t.id, t.name) for t in designer.list_templates()]
    return form


def _documents_page(certification: Certification, form: AssignForm | None = None, status: int = 200):
    failed = db.session.scalars(db.select(Certificate).where(
        Certificate.certification_id == certification.id, Certificate.pdf_status == "failed")
        .order_by(Certificate.id).limit(50)).all()
    return render_template("documents/certification.html", certification=certification,
                           form=form or _assign_form(certification), failed=failed,
                           counts=rendering.state_counts(certification.id),
                           exports=downloads.recent_exports(certification.id)), status


@bp.get("/admin/certifications/<id:certification_id>/documents")
@admin_required
def certification_documents(certification_id: int):
    return _documents_page(db.get_or_404(Certification, certification_id))


@bp.post("/admin/certifications/<id:certification_id>/template")
@admin_required
def assign_template(certification_id: int):
    certification = db.get_or_404(Certification, certification_id)
    form = _assign_form(certification)
    if not form.validate_on_submit():
        return _documents_page(certification, form, 422)
    template = db.session.get(CertificateTemplate, form.template_id.data) if form.template_id.data else None
    changed = designer.assign(certification, template, actor=current_user)
    db.session.commit()
    if changed:
        flash("Template assigned. New certificates use it; regenerate to update the existing PDFs.",
              "success")
    return redirect(url_for("documents.certification_documents", certification_id=certification_id))


@bp.post("/admin/certifications/<id:certification_id>/regenerate")
@admin_required
def regenerate_all(certification_id: int):
    certification = db.get_or_404(Certification, certification_id)
    count = rendering.regenerate_certification(certification, actor=current_user)
    db.session.commit()
    flash(f"{count} PDF(s) queued for rendering.", "success")
    return redirect(url_for("documents.certification_documents", certification_id=certification_id))


@bp.post("/admin/certifications/<id:certification_id>/exports")
@admin_required
def start_export(certification_id: int):
    certification = db.get_or_404(Certification, certification_id)
    export = downloads.start_export(certification, actor=current_user)
    db.session.commit()
    return redirect(url_for("documents.export", export_id=export.id))


@bp.get("/admin/exports/<id:export_id>")
@admin_required
def export(export_id: int):
    """The export page; htmx polls the fragment until the ZIP is ready."""
    record = db.get_or_404(PdfExport, export_id)
    certification = db.session.get(Certification, record.certification_id)
    return render_page_or_fragment("documents/export.html", "documents/_export.html",
                                   export=record, certification=certification)


@bp.get("/admin/exports/<id:export_id>/download")
@admin_required
def export_download(export_id: int):
    record = db.get_or_404(PdfExport, export_id)
    try:
        data = downloads.read_export(record)
    except (NotAllowed, LookupError, StorageError):
        abort(404)
    return Response(data, mimetype="application/zip", headers={
        "Content-Disposition": f'attachment; filename="{downloads.export_filename(record)}"',
        "Cache-Control": "private, no-store"})
