"""Admin email previews: every template in templates/emails/ with sample data.

The HTML part is served from its own route with its own CSP (emails need inline styles; nothing may
run) and shown inside a sandboxed iframe on the preview page.
"""

from __future__ import annotations

from flask import Response, abort, render_template

from app.services.messaging import email_preview, email_texts
from app.views.messaging import bp
from app.web import nav, security
from app.web.auth import admin_required

nav.add("messaging.email_previews", "Emails", nav.ADMIN, prefix="messaging.email_", order=92)

PREVIEW_IMAGES = "data: https: http:"


def _preview_or_404(name: str) -> email_preview.Preview:
    try:
        return email_preview.render(name)
    except KeyError:
        abort(404)


@bp.get("/admin/emails")
@admin_required
def email_previews():
    previews = [email_preview.render(name) for name in email_preview.template_names()]
    return render_template("messaging/email_previews.html", previews=previews, kinds=email_texts.KINDS,
                           customised=email_texts.customised(), label=email_preview.label)


@bp.get("/admin/emails/<name>")
@admin_required
def email_preview_detail(name: str):
    return render_template("messaging/email_preview.html", preview=_preview_or_404(name),
                           editable=name in email_texts.KINDS,
                           customised=email_texts.custom(name) is not None)


@bp.get("/admin/emails/<name>/html")
@admin_required
def email_preview_html(name: str):
    return sandboxed_html(_preview_or_404(name).html)


def sandboxed_html(html: str, status: int = 200) -> Response:
    """The HTML part in its own sandboxed document (images may come from anywhere, as in a mail client)."""
    return security.sandboxed_html(html, status, images=PREVIEW_IMAGES)
