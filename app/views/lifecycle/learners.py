"""One learner seen by staff: enrollments, certificates, why each certification is not met; manual issue."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_login import current_user

from app.extensions import db
from app.models import Certification, User
from app.services.errors import ValidationError
from app.services.lifecycle import certificates, enrollment, issuing
from app.views.lifecycle import bp
from app.views.lifecycle.forms import ManualIssueForm
from app.web.auth import admin_required, staff_required
from app.web.forms import submit


def _page(user: User, form: ManualIssueForm, status: int = 200):
    enrollments = db.session.scalars(enrollment.enrollment_query(user_id=user.id)).all()
    return render_template(
        "lifecycle/learner.html", learner=user, form=form, enrollments=enrollments,
        outcomes=enrollment.row_outcomes(enrollments),
        certificates=db.session.scalars(certificates.certificate_query(user_id=user.id)).all(),
        steps=issuing.learning_path(user),
    ), status


@bp.get("/learners/<id:user_id>")
@staff_required
def learner(user_id: int):
    return _page(db.get_or_404(User, user_id), ManualIssueForm(formdata=None))


@bp.post("/learners/<id:user_id>/issue")
@admin_required
def issue_certificate(user_id: int):
    user = db.get_or_404(User, user_id)
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
