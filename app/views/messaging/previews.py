"""Admin email previews: every template in templates/emails/ with sample data.

The HTML part is served from its own route with its own CSP (emails need inline styles; nothing may
run) and shown inside a sandboxed iframe on the preview page.
"""

from __future__ import annotations

from flask import Response, abort, render_template

from app.services.messaging import email_preview
from app.views.messaging import bp
from app.web import nav
from app.web.auth import admin_required

nav.add("messaging.email_previews", "Email previews", nav.ADMIN, prefix="messaging.email_preview", order=92)

PREVIEW_CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src data: https: http:; "
               "sandbox; frame-ancestors 'self'; base-uri 'none'; form-action 'none'")


def _preview_or_404(name: str) -> email_preview.Preview:
    try:
        return email_preview.render(name)
    except KeyError:
        abort(404)


@bp.get("/admin/emails")
@admin_required
def email_previews():
    previews = [email_preview.render(name) for name in email_preview.template_names()]
    return render_template("messaging/email_previews.html", previews=previews)


@bp.get("/admin/emails/<name>")
@admin_required
def email_preview_detail(name: str):
    return render_template("messaging/email_preview.html", preview=_preview_or_404(name))


@bp.get("/admin/emails/<name>/html")
@admin_required
def email_preview_html(name: str):
    response = Response(_preview_or_404(name).html, mimetype="text/html")
    response.headers["Content-Security-Policy"] = PREVIEW_CSP
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    response.headers["Cache-Control"] = "no-store"
    return response
