"""People admin (list, inline edit, invite, export), the mail log and the audit log."""

from __future__ import annotations

from flask import (
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user

from app.extensions import db
from app.models import ROLES, OutboxEmail, User
from app.services import audit as audit_trail  # `audit` is this module's page
from app.services import csv_export
from app.services.accounts import sessions
from app.services.accounts import users as accounts
from app.services.lifecycle import stats
from app.services.messaging import outbox
from app.views.admin import bp
from app.views.admin.forms import InviteForm, UserRowForm
from app.web.auth import admin_required
from app.web.forms import submit
from app.web.pages import page_args, render_page_or_fragment
from app.web.security import sandboxed_html
from app.web.streaming import csv_response
from app.web.transactions import commit_with


@bp.get("/users")
@admin_required
def users():
    filters = {k: request.args.get(k, "").strip() for k in ("q", "role", "department")}
    page, per_page = page_args()
    stmt = accounts.user_query(filters["q"], filters["role"], filters["department"])
    pagination = db.paginate(stmt, page=page, per_page=per_page, error_out=False, count=False)
    pagination.total = stats.list_count(stmt)  # cached until the rows change
    return render_page_or_fragment("admin/users.html", "admin/_users_table.html", pagination=pagination,
                                   filters=filters, roles=ROLES, departments=accounts.department_names())


def _user_or_404(user_id: int) -> User:
    return db.get_or_404(User, user_id)


@bp.get("/users/<id:user_id>/row")
@admin_required
def user_row(user_id: int):
    return render_template("admin/_user_row.html", user=_user_or_404(user_id))


@bp.get("/users/<id:user_id>/edit")
@admin_required
def edit_user_row(user_id: int):
    user = _user_or_404(user_id)
    return render_template("admin/_user_row_edit.html", user=user, form=UserRowForm(obj=user))


@bp.post("/users/<id:user_id>")
@admin_required
def update_user(user_id: int):
    user = _user_or_404(user_id)
    form = UserRowForm()
    done = submit(form, lambda: accounts.update_user(user, actor=current_user, role=form.role.data,
                                                     department=form.chosen_department(),
                                                     reads_everything=form.reads_everything.data,
                                                     active=form.active.data,
                                                     job_title=form.job_title.data or ""),
                  fields=("role", "department_id", "job_title"),
                  answer=lambda _: render_template("admin/_user_row.html", user=user, saved=True))
    if done:
        return done.value
    return render_template("admin/_user_row_edit.html", user=user, form=form), 422


@bp.route("/users/invite", methods=["GET", "POST"])
@admin_required
def invite_user():
    form = InviteForm()
    done = submit(form, lambda: accounts.invite_user(form.email.data, form.name.data, form.role.data,
                                                     form.chosen_department(), actor=current_user,
                                                     reads_everything=form.reads_everything.data))
    if done:
        flash(f"Invitation sent to {done.value.email}.", "success")
        return redirect(url_for("admin.users"))
    return render_template("admin/invite.html", form=form), 422 if form.errors or form.form_errors else 200


@bp.get("/users/export.csv")
@admin_required
def export_users():
    filters = {k: request.args.get(k, "").strip() for k in ("q", "role", "department")}
    stmt = accounts.user_query(filters["q"], filters["role"], filters["department"])

    def rows():  # run while the body is sent (app/web/streaming.py)
        return ((u.id, u.email, u.name, u.role, u.department, u.active, u.created_at.isoformat(),
                 u.last_login_at.isoformat() if u.last_login_at else "")
                for u in csv_export.stream_rows(stmt))

    header = ["id", "email", "name", "role", "department", "active", "created_at", "last_login_at"]
    return csv_response("users.csv", header, rows)


@bp.get("/mail")
@admin_required
def mail_log():
    filters = {k: request.args.get(k, "").strip() for k in ("status", "q")}
    page, per_page = page_args()
    pagination = db.paginate(outbox.log_query(filters["status"], filters["q"]), page=page,
                             per_page=per_page, error_out=False)
    return render_page_or_fragment("admin/mail.html", "admin/_mail_table.html", pagination=pagination,
                                   filters=filters)


@bp.get("/mail/<id:email_id>")
@admin_required
def mail_detail(email_id: int):
    return render_template("admin/mail_detail.html", email=db.get_or_404(OutboxEmail, email_id))


@bp.get("/mail/<id:email_id>/html")
@admin_required
def mail_html(email_id: int):
    """The mail's HTML part as its own sandboxed document (no script runs, only data: images load),
    framed by the detail page in an <iframe sandbox>."""
    return sandboxed_html(db.get_or_404(OutboxEmail, email_id).html_body or "")


@bp.post("/mail/<id:email_id>/resend")
@admin_required
def resend_mail(email_id: int):
    row = db.get_or_404(OutboxEmail, email_id)
    if row.status in ("queued", "sending"):
        abort(409, description="This mail is already on its way.")
    outbox.resend(row, actor=current_user)
    if request.htmx:
        return commit_with(render_template("admin/_mail_row.html", email=row))
    db.session.commit()
    flash(f"Mail to {row.to} queued again.", "success")
    return redirect(url_for("admin.mail_log"))


@bp.get("/audit")
@admin_required
def audit():
    filters = {k: request.args.get(k, "").strip() for k in ("action", "actor", "subject_type", "subject_id")}
    page, per_page = page_args(50)
    stmt = audit_trail.query(**filters)
    pagination = db.paginate(stmt, page=page, per_page=per_page, error_out=False, count=False)
    pagination.total = stats.list_count(stmt, generation="audit")  # cached until an audit row is added
    return render_page_or_fragment("admin/audit.html", "admin/_audit_table.html", pagination=pagination,
                                   filters=filters)


@bp.post("/users/<id:user_id>/sessions/end")
@admin_required
def end_user_sessions(user_id: int):
    """Sign someone out everywhere (a lost laptop, a shared account): their next request needs a login."""
    user = _user_or_404(user_id)
    count = sessions.end_all(user, reason="ended_by_admin", actor=current_user)
    db.session.commit()
    flash(f"Ended {count} session{'s' if count != 1 else ''} of {user.name}." if count
          else f"{user.name} had no live session.", "success")
    if user.id == current_user.id:  # an admin ending their own sessions ends this one too
        return redirect(url_for("accounts.login"))
    return redirect(url_for("lifecycle.learner", user_id=user.id))
