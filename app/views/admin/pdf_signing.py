"""Admin › Settings › PDF signing: the certificate that signs every PDF, and the timestamp server
(rules in app/services/credentials/pdf_signing.py)."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_login import current_user
from werkzeug.datastructures import FileStorage

from app.services.credentials import pdf_signing
from app.views.admin import bp
from app.views.admin.forms import SigningCertificateForm, TimestampServerForm
from app.web.auth import admin_required
from app.web.forms import attempt, submit


def _page(certificate_form=None, tsa_form=None, status: int = 200, refusal: str = ""):
    tsa_form = tsa_form or TimestampServerForm(data={"tsa_url": pdf_signing.tsa_url()})
    current = pdf_signing.current_or_none()
    return render_template("admin/pdf_signing.html", current=current,
                           expires_soon=current is not None and pdf_signing.expires_soon(current),
                           replaced=pdf_signing.replaced(), certificate_form=certificate_form
                           or SigningCertificateForm(), tsa_form=tsa_form, refusal=refusal), status


@bp.get("/pdf-signing")
@admin_required
def pdf_signing_page():
    return _page()


@bp.post("/pdf-signing/certificate")
@admin_required
def upload_signing_certificate():
    form = SigningCertificateForm()
    done = submit(form, lambda: pdf_signing.upload_pkcs12(_read(form.pkcs12.data), form.password.data,
                                                          actor=current_user))
    if done:
        flash("New PDFs are now signed with the uploaded certificate.", "success")
        return redirect(url_for("admin.pdf_signing_page"))
    return _page(certificate_form=form, status=422)


@bp.post("/pdf-signing/self-issued")
@admin_required
def use_self_issued_certificate():
    done = attempt(lambda: pdf_signing.use_self_issued(actor=current_user))
    if done:
        flash("New PDFs are now signed with a new self-issued certificate.", "success")
        return redirect(url_for("admin.pdf_signing_page"))
    return _page(status=409, refusal=done.refusal)


@bp.post("/pdf-signing/timestamps")
@admin_required
def set_timestamp_server():
    form = TimestampServerForm()
    done = submit(form, lambda: pdf_signing.set_tsa_url(form.tsa_url.data, actor=current_user))
    if done:
        flash("Timestamp server saved." if done.value else "Timestamps turned off.", "success")
        return redirect(url_for("admin.pdf_signing_page"))
    return _page(tsa_form=form, status=422)


def _read(upload) -> bytes | None:
    """The uploaded file's bytes (one more than the limit at most: the service says it is too large)."""
    if not isinstance(upload, FileStorage):  # nothing chosen, or a plain text field of that name
        return None
    try:
        return upload.read(pdf_signing.MAX_PKCS12_BYTES + 1)
    finally:
        upload.close()
