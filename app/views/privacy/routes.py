"""Profile › Your data, and Admin › Privacy: thin views over app/services/privacy."""

from __future__ import annotations

from flask import Response, abort, flash, redirect, render_template, url_for
from flask_login import current_user

from app.extensions import db
from app.models import User
from app.services.privacy import erasure, exports, policy, retention
from app.views.privacy import bp
from app.views.privacy.forms import EraseForm, PolicyForm
from app.web import nav
from app.web.auth import admin_required, login_required
from app.web.forms import attempt, submit

nav.add("privacy.admin_page", "Privacy", nav.ADMIN, prefix="privacy.admin", order=96)


@bp.get("/profile/data")
@login_required
def my_data():
    return render_template("privacy/my_data.html", exports=exports.recent(current_user),
                           days=policy.current().export_days)


@bp.post("/profile/data/export")
@login_required
def request_my_export():
    done = attempt(lambda: exports.request_export(current_user, actor=current_user))
    flash("We are preparing your data; you will get an email with the link." if done else done.refusal,
          "success" if done else "warning")
    return redirect(url_for("privacy.my_data"))


@bp.get("/profile/data/exports/<token>")
@login_required
def download_export(token: str):
    export = exports.downloadable(token, current_user)
    if export is None:  # unknown, someone else's, not ready or expired: all look the same
        abort(404)
    data = exports.read(export)
    return Response(data, mimetype="application/zip", headers={
        "Content-Disposition": f'attachment; filename="{exports.filename(export)}"',
        "Cache-Control": "private, no-store"})


@bp.route("/admin/privacy", methods=["GET", "POST"])
@admin_required
def admin_page():
    form = PolicyForm(data=policy.current_values())
    if submit(form, lambda: policy.update(form.data, actor=current_user)):
        flash("Privacy policy saved.", "success")
        return redirect(url_for("privacy.admin_page"))
    status = 422 if form.errors or form.form_errors else 200
    return render_template("privacy/admin.html", form=form, report=retention.report(),
                           labels=retention.LABELS, rules=policy.current()), status


def _person(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    return user


@bp.get("/admin/privacy/people/<id:user_id>")
@admin_required
def admin_person(user_id: int):
    user = _person(user_id)
    return _person_page(user, EraseForm())


def _person_page(user: User, form: EraseForm, status: int = 200):
    return render_template("privacy/person.html", person=user, form=form, exports=exports.recent(user),
                           erasure=erasure.erasure_of(user), rules=policy.current()), status


@bp.post("/admin/privacy/people/<id:user_id>/export")
@admin_required
def admin_export_person(user_id: int):
    user = _person(user_id)
    done = attempt(lambda: exports.request_export(user, actor=current_user))
    flash("The export is being prepared; it is mailed to the person, and you can download it here."
          if done else done.refusal, "success" if done else "warning")
    return redirect(url_for("privacy.admin_person", user_id=user_id))


@bp.post("/admin/privacy/people/<id:user_id>/erase")
@admin_required
def admin_erase_person(user_id: int):
    user = _person(user_id)
    form = EraseForm()
    done = submit(form, lambda: erasure.erase(user, form.confirm.data or "", actor=current_user))
    if done:
        flash(f"Personal data erased; the person is now {done.value.pseudonym}.", "success")
        return redirect(url_for("privacy.admin_person", user_id=user_id))
    return _person_page(user, form, 422)
