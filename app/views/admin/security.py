"""Admin › Settings › Two-factor sign-in (the org's policy), and an admin's reset of someone's second
factors (rules in app/services/accounts/mfa.py)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user

from app.extensions import db
from app.models import User
from app.services.accounts import mfa
from app.views.admin import bp
from app.views.admin.forms import MfaPolicyForm
from app.web.auth import admin_required
from app.web.forms import attempt, submit


@bp.route("/settings/two-factor", methods=["GET", "POST"])
@admin_required
def security_settings():
    current = mfa.policy()
    form = MfaPolicyForm(data={"required_for_admins": current.required_for_admins,
                               "remember_days": str(current.remember_days)})
    if submit(form, lambda: mfa.update_policy(form.required_for_admins.data, form.remember_days.data,
                                              actor=current_user)):
        flash("Two-factor settings saved.", "success")
        return redirect(url_for("admin.security_settings"))
    status = 422 if form.errors or form.form_errors else 200
    return render_template("admin/security.html", form=form, max_days=mfa.MAX_REMEMBER_DAYS), status


@bp.post("/users/<id:user_id>/reset-two-factor")
@admin_required
def reset_mfa(user_id: int):
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    done = attempt(lambda: mfa.reset_mfa(user, actor=current_user))
    if not done:
        flash(done.refusal, "danger")
    else:
        flash(f"Two-factor sign-in reset for {user.email}: they were signed out everywhere and can set it up "
              "again after their password.", "success")
    return redirect(url_for("admin.users"))
