"""Learners seen by staff and managers (only the people in their scope): the list, and one learner's
enrollments, certificates, why each certification is not met; manual issue."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_login import current_user

from app.database import utcnow
from app.extensions import db
from app.models import Certification, User
from app.services.accounts import sessions, users
from app.services.compliance import matrix as compliance
from app.services.errors import ValidationError
from app.services.lifecycle import certificates, enrollment, issuing, stats
from app.views.lifecycle import bp
from app.views.lifecycle.forms import ManualIssueForm
from app.views.lifecycle.helpers import filters
from app.web.auth import manager_required, staff_required
from app.web.forms import submit
from app.web.pages import page_args, render_page_or_fragment
from app.web.scoping import person_or_404, viewer


def _page(user: User, form: ManualIssueForm, status: int = 200):
    enrollments = db.session.scalars(enrollment.enrollment_query(user_id=user.id)).all()
    return render_template(
        "lifecycle/learner.html", learner=user, form=form, enrollments=enrollments,
        outcomes=enrollment.row_outcomes(enrollments),
        certificates=db.session.scalars(certificates.certificate_query(user_id=user.id)).all(),
        steps=issuing.learning_path(user),
        required=compliance.person(user, utcnow()),  # each required certification with its state
        # Admins see where the person is signed in (next to "End all sessions"); nobody else does.
        devices=sessions.live_sessions(user) if current_user.is_admin else [],
    ), status


@bp.get("/learners")
@staff_required
def learners():
    args = filters("q", "department")
    page, per_page = page_args()
    stmt = users.user_query(args["q"], "learner", args["department"], viewer=viewer())
    pagination = db.paginate(stmt, page=page, per_page=per_page, error_out=False, count=False)
    pagination.total = stats.list_count(stmt)  # cached until the rows change
    return render_page_or_fragment("lifecycle/learners.html", "lifecycle/_learners_table.html",
                                   pagination=pagination, filters=args,
                                   departments=users.department_names(viewer()))


@bp.get("/learners/<id:user_id>")
@staff_required
def learner(user_id: int):
    return _page(person_or_404(db.session.get(User, user_id)), ManualIssueForm(formdata=None))


@bp.post("/learners/<id:user_id>/issue")
@manager_required
def issue_certificate(user_id: int):
    user = person_or_404(db.session.get(User, user_id))
    form = ManualIssueForm()
    done = submit(form, lambda: _issue_manually(user, form))
    if done:
        flash(f"Certificate issued: {done.value.serial} ({done.value.certification.name}).", "success")
        return redirect(url_for("lifecycle.learner", user_id=user.id))
    return _page(user, form, 422)


def _issue_manually(user: User, form: ManualIssueForm):
    cert = db.session.get(Certification, form.certification_id.data)
    if cert is None:
        raise ValidationError({"certification_id": "Pick a certification."})
    return issuing.issue(user, cert, actor=current_user, note=form.note.data)
