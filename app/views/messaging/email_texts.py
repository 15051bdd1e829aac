"""Admin > Emails: edit the subject and text of each lifecycle email, preview it live, reset it.

Thin: the rules (placeholders, limits, rendering) are in app/services/messaging/email_texts.py. The
HTML preview is a separate response with its own sandbox CSP, shown in a sandboxed iframe, exactly like
the email previews (app/views/messaging/previews.py).
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.services.errors import ValidationError
from app.services.messaging import email_preview, email_texts
from app.views.messaging import bp
from app.views.messaging.forms import EmailTextForm
from app.views.messaging.previews import sandboxed_html
from app.web.auth import admin_required
from app.web.forms import attempt, submit


def _kind_or_404(name: str) -> email_texts.Kind:
    try:
        return email_texts.kind(name)
    except KeyError:
        abort(404)


@bp.route("/admin/emails/<name>/edit", methods=["GET", "POST"])
@admin_required
def email_text_edit(name: str):
    kind = _kind_or_404(name)
    row = email_texts.custom(name)
    form = EmailTextForm(data={"subject": row.subject if row else kind.subject,
                               "body": row.body if row else kind.body})
    if request.method == "POST":
        done = submit(form, lambda: email_texts.save(name, form.subject.data, form.body.data,
                                                     actor=current_user))
        if done:
            flash(f"Saved: the {kind.label} email now uses your text.", "success")
            return redirect(url_for("messaging.email_text_edit", name=name))
    status = 422 if form.errors or form.form_errors else 200
    return render_template("messaging/email_text_edit.html", name=name, kind=kind, form=form,
                           customised=row is not None), status


@bp.post("/admin/emails/<name>/preview")
@admin_required
def email_text_preview(name: str):
    """The subject and text part of the unsaved text (htmx, as the admin types)."""
    try:
        preview = _draft(name)
    except ValidationError as exc:
        return render_template("messaging/_email_text_preview.html", errors=exc.errors, preview=None), 422
    return render_template("messaging/_email_text_preview.html", errors={}, preview=preview)


@bp.post("/admin/emails/<name>/preview.html")
@admin_required
def email_text_preview_html(name: str):
    """The HTML part of the unsaved text, for the sandboxed preview iframe (a form posts into it)."""
    try:
        preview = _draft(name)
    except ValidationError as exc:
        page = render_template("messaging/email_text_refused.html", errors=exc.errors)
        return sandboxed_html(page, 422)
    return sandboxed_html(preview.html)


@bp.post("/admin/emails/<name>/reset")
@admin_required
def email_text_reset(name: str):
    kind = _kind_or_404(name)
    done = attempt(lambda: email_texts.reset(name, actor=current_user))
    if done and done.value:
        flash(f"The {kind.label} email uses the default text again.", "success")
    return redirect(url_for("messaging.email_text_edit", name=name))


def _draft(name: str):
    """The posted, unsaved subject and body rendered with sample data (ValidationError when refused)."""
    _kind_or_404(name)
    return email_preview.draft(name, request.form.get("subject", ""), request.form.get("body", ""))
