"""Courses: the list (search, category, pages), inline create/edit, delete or archive."""

from __future__ import annotations

from flask import render_template, request
from flask_login import current_user

from app.extensions import db
from app.models import Course
from app.services.lifecycle import catalog
from app.views.lifecycle import bp
from app.views.lifecycle.forms import CourseForm
from app.views.lifecycle.helpers import filters
from app.web.auth import admin_required, staff_required
from app.web.forms import attempt, submit
from app.web.pages import page_args, render_page_or_fragment
from app.web.transactions import commit_with


def _list_context(**extra) -> dict:
    args = filters("q", "category", "archived")
    page, per_page = page_args()
    stmt = catalog.course_query(args["q"], args["category"], include_archived=args["archived"] == "1")
    pagination = db.paginate(stmt, page=page, per_page=per_page, error_out=False)
    return {"pagination": pagination, "filters": args, "categories": catalog.categories(), **extra}


@bp.get("/courses")
@staff_required
def courses():
    return render_page_or_fragment("lifecycle/courses.html", "lifecycle/_courses_table.html",
                                   form=CourseForm(), **_list_context())


@bp.post("/courses")
@admin_required
def create_course():
    form = CourseForm()
    done = submit(form, lambda: catalog.create_course(form.values(), actor=current_user),
                  answer=lambda course: render_template("lifecycle/_course_created.html", created=course,
                                                        form=CourseForm(formdata=None), **_list_context()))
    if done:
        return done.value
    response = render_template("lifecycle/_course_create.html", form=form)
    return response, 422, {"HX-Retarget": "#course-create", "HX-Reswap": "outerHTML"}


def _course(course_id: int) -> Course:
    return db.get_or_404(Course, course_id)


@bp.get("/courses/<id:course_id>/row")
@staff_required
def course_row(course_id: int):
    return render_template("lifecycle/_course_row.html", course=_course(course_id))


@bp.get("/courses/<id:course_id>/edit")
@admin_required
def edit_course(course_id: int):
    course = _course(course_id)
    return render_template("lifecycle/_course_row_edit.html", course=course, form=CourseForm(obj=course))


@bp.post("/courses/<id:course_id>")
@admin_required
def update_course(course_id: int):
    course = _course(course_id)
    form = CourseForm()
    done = submit(form, lambda: catalog.update_course(course, form.values(), actor=current_user),
                  answer=lambda _: render_template("lifecycle/_course_row.html", course=course, saved=True))
    if done:
        return done.value
    return render_template("lifecycle/_course_row_edit.html", course=course, form=form), 422


@bp.post("/courses/<id:course_id>/delete")
@admin_required
def delete_course(course_id: int):
    course = _course(course_id)
    done = attempt(lambda: catalog.delete_course(course, actor=current_user))
    if not done:
        return render_template("lifecycle/_course_row.html", course=course, refused=done.refusal), 422
    return ""


@bp.post("/courses/<id:course_id>/archive")
@admin_required
def archive_course(course_id: int):
    course = _course(course_id)
    catalog.set_course_archived(course, request.form.get("archived", "1") == "1", actor=current_user)
    return commit_with(render_template("lifecycle/_course_row.html", course=course, saved=True))
