"""Expiry administration on the certificates list: extend or set the expiry of the ticked certificates."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_login import current_user

from app.services.lifecycle import expiry
from app.views.lifecycle import bp
from app.views.lifecycle.forms import ExpiryForm
from app.web.auth import manager_required
from app.web.forms import submit
from app.web.scoping import viewer


def _back() -> str:
    """The list as it was (its filters travel in the form's `back` field; only our own path)."""
    back = request.form.get("back", "")
    base = url_for("lifecycle.certificates_list")
    return back if back.startswith(base + "?") or back == base else base


@bp.post("/certificates/expiry")
@manager_required
def change_expiry():
    form = ExpiryForm()
    ids = form.certificate_ids.data or []
    if len(ids) > expiry.MAX_CERTIFICATES:
        flash(f"At most {expiry.MAX_CERTIFICATES} certificates at once.", "warning")
        return redirect(_back())
    certs = expiry.lock_certificates(ids)
    if len(certs) != len(set(ids)) or not expiry.all_visible(certs, viewer()):
        abort(404)  # an id that does not exist, or a person out of this manager's scope
    done = submit(form, lambda: expiry.change_expiry(certs, expiry.clean_change(form.values()),
                                                     actor=current_user))
    if done:
        flash(f"The expiry of {done.value} certificate(s) is changed; the holders are told by email.",
              "success")
    else:
        problems = [m for f in form for m in f.errors] + list(form.form_errors)
        flash(" ".join(problems) or "Nothing was changed.", "warning")
    return redirect(_back())
