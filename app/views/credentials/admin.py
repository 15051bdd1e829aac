"""Admin › Credentials: the organisation's signing keys (active and rotated out) and their rotation."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.services.credentials import issuer, keyring
from app.services.numbers import whole_number
from app.views.credentials import bp
from app.web import nav
from app.web.auth import admin_required
from app.web.forms import attempt

nav.add("credentials.admin", "Credentials", nav.ADMIN, prefix="credentials.admin", order=96)


@bp.get("/admin/credentials")
@admin_required
def admin():
    keyring.ensure_key()  # the page shows the key credentials are signed with: make it exist
    return render_template("credentials/admin.html", keys=keyring.published_keys(),
                           did=keyring.issuer_did(), did_url=keyring.did_document_url(),
                           profile_url=issuer.profile_url(),
                           verification_method=keyring.verification_method_id)


@bp.post("/admin/credentials/rotate")
@admin_required
def admin_rotate():
    # The key the admin saw as active: a second click (or another admin) does not rotate twice.
    expected = whole_number(request.form.get("key_id", ""))
    done = attempt(lambda: keyring.rotate(current_user, expected_id=expected or 0))
    if done:
        flash("Signing key rotated: new credentials are signed with the new key; the old key stays "
              "published, so everything it signed still verifies.", "success")
    else:
        flash(done.refusal, "warning")
    return redirect(url_for("credentials.admin"))
