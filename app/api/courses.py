"""/api/v1/courses: the course catalog. Everyone signed in reads; admins write."""

from __future__ import annotations

from flask import url_for

from app.api.base import Param, actor, bp, committed, created, endpoint, paginate
from app.api.schemas import text
from app.models import Course
from app.services.lifecycle import catalog

TAG = "Courses"
FILTERS = (
    Param("category", text(80), "Only courses in this category (exact match)."),
    Param("q", text(200), "Search in code and title (case-insensitive)."),
    Param("include_archived", {"type": "boolean", "default": False}, "Include archived courses.", False),
)


@bp.get("/courses")
@endpoint("List courses", access="login", tag=TAG, response="Course", paginated=True, params=FILTERS)
def list_courses(query: dict):
    stmt = catalog.course_query(query["q"] or "", query["category"] or "", query["include_archived"])
    return paginate(stmt, query, catalog.course_data)


@bp.post("/courses")
@endpoint("Create a course", access="admin", tag=TAG, response="Course", status=201, body="CourseCreate")
def create_course(body: dict):
    course = catalog.create_course(body, actor=actor())
    return committed(created(catalog.course_data(course), url_for("api.get_course", id=course.id)))


@bp.get("/courses/<id:id>")
@endpoint("Get a course", access="login", tag=TAG, response="Course", load=Course)
def get_course(item: Course):
    return catalog.course_data(item)


@bp.patch("/courses/<id:id>")
@endpoint("Update a course", access="admin", tag=TAG, response="Course", load=Course, body="CourseUpdate",
          description="Partial update: only the fields sent change. `archived: true` archives the course.")
def update_course(item: Course, body: dict):
    archived = body.pop("archived", None)
    catalog.update_course(item, body, actor=actor())
    if archived is not None:
        catalog.set_course_archived(item, archived, actor=actor())
    return committed(catalog.course_data(item))


@bp.delete("/courses/<id:id>")
@endpoint("Delete a course", access="admin", tag=TAG, response=None, status=204, load=Course, errors=(409,),
          description="Refused (409) when the course has enrollments or a certification requires it: "
                      "archive it instead (PATCH `archived: true`).")
def delete_course(item: Course):
    catalog.delete_course(item, actor=actor())
    return committed(""), 204

