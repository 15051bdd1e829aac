"""Admin › Directories (SCIM): the identity providers that provision people, each with its own token."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user
from wtforms import BooleanField, StringField
from wtforms.validators import DataRequired, Length

from app.extensions import db
from app.services.identity import scim_directories
from app.views.identity import bp
from app.web import nav
from app.web.auth import admin_required
from app.web.forms import submit
from app.web.inputs import Form

nav.add("identity.directories", "Directories (SCIM)", nav.ADMIN, prefix="identity.director", order=96)


class DirectoryForm(Form):
    name = StringField("Name", validators=[DataRequired(), Length(max=scim_directories.MAX_NAME)],
                       description="Which identity provider this is, e.g. Microsoft Entra ID.")
    send_invitations = BooleanField(
        "Email new people an invitation to choose a password",
        description="Leave off when people sign in with single sign-on: they need no password.")


def _page(form: DirectoryForm | None = None, new_token: str | None = None, status: int = 200):
    from flask import current_app

    return render_template("identity/directories.html", form=form or DirectoryForm(),
                           directories=scim_directories.directories(), new_token=new_token,
                           tenant_url=current_app.config["BASE_URL"].rstrip("/") + "/scim/v2"), status


@bp.get("/admin/directories")
@admin_required
def directories():
    return _page()


@bp.post("/admin/directories")
@admin_required
def directory_create():
    form = DirectoryForm()
    done = submit(form, lambda: scim_directories.create_directory(
        form.name.data, send_invitations=form.send_invitations.data, actor=current_user),
        answer=lambda created: _page(new_token=created[1]))
    if not done:
        return _page(form=form, status=422)
    return done.value


@bp.post("/admin/directories/<id:directory_id>/revoke")
@admin_required
def directory_revoke(directory_id: int):
    directory = scim_directories.get(directory_id)
    if directory is None:
        abort(404)
    scim_directories.revoke_directory(directory, actor=current_user)
    db.session.commit()
    flash(f"Directory '{directory.name}' revoked: its token no longer works.", "success")
    return redirect(url_for("identity.directories"))
