"""Courses: the list (search, category, pages), inline create/edit, delete or archive."""

from __future__ import annotations

from flask import render_template, request
from flask_login import current_user

from app.certifications import bp
from app.certifications.forms import CourseForm
from app.certifications.helpers import filters
from app.extensions import db
from app.models import Course
from app.services import catalog
from app.services.errors import NotAllowed, ValidationError
from app.web.auth import admin_required, staff_required
from app.web.forms import put_errors
from app.web.pages import page_args, render_page_or_fragment


def _list_context(**extra) -> dict:
    args = filters("q", "category", "archived")
    page, per_page = page_args()
    stmt = catalog.course_query(args["q"], args["category"], include_archived=args["archived"] == "1")
    pagination = db.paginate(stmt, page=page, per_page=per_page, error_out=False)
    return {"pagination": pagination, "filters": args, "categories": catalog.categories(), **extra}


@bp.get("/courses")
@staff_required
def courses():
    return render_page_or_fragment("certifications/courses.html", "certifications/_courses_table.html",
                                   form=CourseForm(), **_list_context())


@bp.post("/courses")
@admin_required
def create_course():
    form = CourseForm()
    if form.validate_on_submit():
        try:
            course = catalog.create_course(form.values(), actor=current_user)
        except ValidationError as exc:
            db.session.rollback()
            put_errors(form, exc)
        else:
            db.session.commit()
            return render_template("certifications/_course_created.html", created=course,
                                   form=CourseForm(formdata=None), **_list_context())
    response = render_template("certifications/_course_create.html", form=form)
    return response, 422, {"HX-Retarget": "#course-create", "HX-Reswap": "outerHTML"}


def _course(course_id: int) -> Course:
    return db.get_or_404(Course, course_id)


@bp.get("/courses/<id:course_id>/row")
@staff_required
def course_row(course_id: int):
    return render_template("certifications/_course_row.html", course=_course(course_id))


@bp.get("/courses/<id:course_id>/edit")
@admin_required
def edit_course(course_id: int):
    course = _course(course_id)
    return render_template("certifications/_course_row_edit.html", course=course, form=CourseForm(obj=course))


@bp.post("/courses/<id:course_id>")
@admin_required
def update_course(course_id: int):
    course = _course(course_id)
    form = CourseForm()
    if form.validate_on_submit():
        try:
            catalog.update_course(course, form.values(), actor=current_user)
        except ValidationError as exc:
            db.session.rollback()
            put_errors(form, exc)
        else:
            db.session.commit()
            return render_template("certifications/_course_row.html", course=course, saved=True)
    return render_template("certifications/_course_row_edit.html", course=course, form=form), 422


@bp.post("/courses/<id:course_id>/delete")
@admin_required
def delete_course(course_id: int):
    course = _course(course_id)
    try:
        catalog.delete_course(course, actor=current_user)
    except NotAllowed as exc:
        db.session.rollback()
        return render_template("certifications/_course_row.html", course=course, refused=str(exc)), 422
    db.session.commit()
    return ""


@bp.post("/courses/<id:course_id>/archive")
@admin_required
def archive_course(course_id: int):
    course = _course(course_id)
    catalog.set_course_archived(course, request.form.get("archived", "1") == "1", actor=current_user)
    db.session.commit()
    return render_template("certifications/_course_row.html", course=course, saved=True)
