"""/api/v1/enrollments: who takes which course. Learners read their own; staff read all; admins write.

Setting `status: completed` records a completion and issues every certification the learner now meets.
"""

from __future__ import annotations

from flask import url_for

from app.api.base import Param, actor, bp, committed, created, endpoint, paginate, scoped_user_id, viewer
from app.api.schemas import ID
from app.extensions import db
from app.models import ENROLLMENT_STATUSES, Course, Enrollment, User
from app.services.accounts import scope
from app.services.errors import ValidationError
from app.services.lifecycle import enrollment as enrollments

TAG = "Enrollments"
SOURCE = "api"
FILTERS = (
    Param("course_id", ID, "Only this course."),
    Param("user_id", ID, "Only this learner (learners always see only their own)."),
    Param("status", {"type": "string", "enum": list(ENROLLMENT_STATUSES)}, "Only this status."),
)


@bp.get("/enrollments")
@endpoint("List enrollments", access="login", tag=TAG, response="Enrollment", paginated=True, params=FILTERS,
          description="Newest first. Learners get only their own enrollments.")
def list_enrollments(query: dict):
    stmt = enrollments.enrollment_query(course_id=query["course_id"],
                                        user_id=scoped_user_id(query["user_id"]),
                                        status=query["status"] or "", viewer=viewer())
    return paginate(stmt, query, enrollments.enrollment_data)


@bp.post("/enrollments")
@endpoint("Enroll a learner in a course", access="manager", tag=TAG, response="Enrollment", status=201,
          body="EnrollmentCreate",
          description="A duplicate (already enrolled), a full or an archived course is refused with 422. "
                      "Other fields given are applied at once (e.g. `status: completed` with a `score`).")
def create_enrollment(body: dict):
    user, course = _existing(User, body.pop("user_id"), "user_id"), _existing(Course, body.pop("course_id"),
                                                                               "course_id")
    enrollment = enrollments.enroll(user, course, actor=actor(), source=SOURCE)
    if body:
        enrollments.update_enrollment(enrollment, body, actor=actor(), source=SOURCE)
    return committed(created(enrollments.enrollment_data(enrollment),
                             url_for("api.get_enrollment", id=enrollment.id)))


@bp.get("/enrollments/<id:id>")
@endpoint("Get an enrollment", access="login", tag=TAG, response="Enrollment", load=Enrollment, own="user_id",
          description="Learners may read only their own (others: 404).")
def get_enrollment(item: Enrollment):
    return enrollments.enrollment_data(item)


@bp.patch("/enrollments/<id:id>")
@endpoint("Update an enrollment", access="manager", tag=TAG, response="Enrollment", load=Enrollment,
          body="EnrollmentUpdate",
          errors=(409,),
          description="Partial update of status, progress, score, completed_at. Becoming completed records "
                      "a completion and issues the certificates now earned. `status: withdrawn` withdraws. "
                      "Moving a completed enrollment back to `enrolled`/`in_progress` is refused (409) "
                      "unless the body says `reopen: true`: scripts replaying old states cannot regress it.")
def update_enrollment(item: Enrollment, body: dict):
    reopen = bool(body.pop("reopen", False))
    enrollments.update_enrollment(item, body, actor=actor(), source=SOURCE, reopen=reopen)
    return committed(enrollments.enrollment_data(item))


def _existing(model: type, item_id: int, field: str):
    item = db.session.get(model, item_id)
    if item is None or (isinstance(item, User) and not scope.can_see_user(actor(), item)):
        # A manager's enrolling someone outside their departments: that person is "unknown" to them.
        raise ValidationError({field: f"No {model.__name__.lower()} with id {item_id}."})
    return item
