"""Admin › Settings: the organisation's branding (rules in app/services/organisation.py)."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_login import current_user

from app.services import organisation
from app.views.admin import bp
from app.views.admin.forms import SettingsForm
from app.web import nav
from app.web.auth import admin_required
from app.web.forms import submit

nav.add("admin.settings", "Settings", nav.ADMIN, prefix="admin.settings", order=97)


@bp.route("/settings", methods=["GET", "POST"])
@admin_required
def settings():
    form = SettingsForm(data=organisation.current_values())
    done = submit(form, lambda: organisation.update_branding(
        {"name": form.name.data, "about": form.about.data or "", "colour": form.colour.data},
        logo=_read(form.logo.data), remove_logo=bool(form.remove_logo.data), actor=current_user))
    if done:
        organisation.discard_logo(done.value)
        flash("Settings saved.", "success")
        return redirect(url_for("admin.settings"))
    status = 422 if form.errors or form.form_errors else 200
    return render_template("admin/settings.html", form=form, brand=organisation.branding()), status


def _read(upload) -> bytes | None:
    """The uploaded file's bytes (one more than the limit at most: the service says it is too large)."""
    if not upload:
        return None
    try:
        return upload.read(organisation.MAX_LOGO_BYTES + 1)
    finally:
        upload.close()
