"""Enrollments: the global list and one per course, enrolling learners, inline edit, withdraw."""

from __future__ import annotations

from flask import render_template, request
from flask_login import current_user
from sqlalchemy import select

from app.extensions import db
from app.models import ENROLLMENT_STATUSES, Course, Enrollment, User
from app.services.accounts import users
from app.services.lifecycle import catalog, enrollment, stats
from app.services.numbers import MAX_ID, whole_number
from app.views.lifecycle import bp
from app.views.lifecycle.forms import EnrollmentForm
from app.views.lifecycle.helpers import filters, int_arg
from app.web.auth import manager_required, staff_required
from app.web.forms import submit
from app.web.pages import page_args, render_page_or_fragment
from app.web.scoping import record_or_404, viewer
from app.web.transactions import commit_with


def _list_context(course: Course | None = None, **extra) -> dict:
    args = filters("q", "status")
    course_id = course.id if course else int_arg("course_id")
    page, per_page = page_args()
    stmt = enrollment.enrollment_query(course_id=course_id, status=args["status"], search=args["q"],
                                       viewer=viewer())
    pagination = db.paginate(stmt, page=page, per_page=per_page, error_out=False, count=False)
    pagination.total = stats.list_count(stmt)  # cached until the rows change
    endpoint = "lifecycle.course_enrollments" if course else "lifecycle.enrollments"
    return {"pagination": pagination, "filters": args, "course": course, "course_id": course_id,
            "statuses": ENROLLMENT_STATUSES, "list_endpoint": endpoint,
            "outcomes": enrollment.row_outcomes(pagination.items), **extra}


@bp.get("/enrollments")
@staff_required
def enrollments():
    courses = db.session.scalars(catalog.course_query(include_archived=True)).all()
    return render_page_or_fragment("lifecycle/enrollments.html",
                                   "lifecycle/_enrollments_table.html", courses=courses,
                                   **_list_context())


def _course(course_id: int) -> Course:
    return db.get_or_404(Course, course_id)


@bp.get("/courses/<id:course_id>/enrollments")
@staff_required
def course_enrollments(course_id: int):
    course = _course(course_id)
    return render_page_or_fragment("lifecycle/course_enrollments.html",
                                   "lifecycle/_enrollments_table.html", **_list_context(course))


@bp.get("/courses/<id:course_id>/candidates")
@manager_required
def enroll_candidates(course_id: int):
    """The htmx learner picker: learners matching ?who=, already enrolled ones shown but disabled."""
    course = _course(course_id)
    search = request.args.get("who", "").strip()
    learners = db.session.scalars(users.user_query(search, role="learner", viewer=viewer()).limit(20)).all()
    enrolled = set(db.session.scalars(select(Enrollment.user_id).where(
        Enrollment.course_id == course.id, Enrollment.status != "withdrawn",
        Enrollment.user_id.in_([u.id for u in learners]))))
    return render_template("lifecycle/_candidates.html", course=course, learners=learners,
                           enrolled=enrolled, search=search)


@bp.post("/courses/<id:course_id>/enrollments")
@manager_required
def enroll(course_id: int):
    course = _course(course_id)
    # Ids outside 1..MAX_ID (or not numbers) name nobody: dropped, as unknown ids are.
    user_ids = [n for v in request.form.getlist("user_ids") if (n := whole_number(v, maximum=MAX_ID))]
    # A manager enrols only people they may see; others are dropped like unknown ids.
    visible = set(db.session.scalars(users.user_query(viewer=viewer()).where(User.id.in_(user_ids))
                                     .with_only_columns(User.id))) if user_ids else set()
    user_ids = [n for n in user_ids if n in visible]
    if not user_ids:
        return render_template("lifecycle/_enroll_result.html", course=course, created=[], errors={},
                               empty=True), 422
    created, errors = enrollment.enroll_many(user_ids, course, actor=current_user)
    stmt = select(User.id, User.name).where(User.id.in_(list(errors)))
    rows = db.session.execute(stmt).all() if errors else []
    names = {user_id: name for user_id, name in rows}
    html = render_template("lifecycle/_enroll_result.html", created=created, errors=errors, names=names,
                           **_list_context(course))
    return commit_with((html, 422 if errors and not created else 200, {"HX-Trigger": "enrolled"}))


def _enrollment(enrollment_id: int) -> Enrollment:
    return record_or_404(Enrollment, enrollment_id)


@bp.get("/enrollments/<id:enrollment_id>/row")
@staff_required
def enrollment_row(enrollment_id: int):
    e = _enrollment(enrollment_id)
    return render_template("lifecycle/_enrollment_row.html", e=e, outcomes=enrollment.row_outcomes([e]))


@bp.get("/enrollments/<id:enrollment_id>/edit")
@manager_required
def edit_enrollment(enrollment_id: int):
    e = _enrollment(enrollment_id)
    return render_template("lifecycle/_enrollment_row_edit.html", e=e, form=EnrollmentForm(obj=e))


@bp.post("/enrollments/<id:enrollment_id>")
@manager_required
def update_enrollment(enrollment_id: int):
    e = _enrollment(enrollment_id)
    form = EnrollmentForm()
    # An admin choosing the status on this row is the explicit action that may reopen a completion.
    done = submit(form, lambda: enrollment.update_enrollment(e, form.values(), actor=current_user,
                                                              reopen=True),
                  answer=lambda issued: render_template("lifecycle/_enrollment_row.html", e=e, saved=True,
                                                        issued=issued, outcomes=enrollment.row_outcomes([e])))
    if done:
        return done.value
    return render_template("lifecycle/_enrollment_row_edit.html", e=e, form=form), 422


@bp.post("/enrollments/<id:enrollment_id>/withdraw")
@manager_required
def withdraw_enrollment(enrollment_id: int):
    e = _enrollment(enrollment_id)
    enrollment.withdraw(e, actor=current_user)
    return commit_with(render_template("lifecycle/_enrollment_row.html", e=e, saved=True,
                                       outcomes=enrollment.row_outcomes([e])))
