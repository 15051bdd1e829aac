"""Compliance › Requirements (admins): list, create, edit, delete. Rules in
app/services/compliance/requirements.py. Reached from the matrix and from a certification's page."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from app.extensions import db
from app.models import Certification, Requirement, User
from app.services.accounts import departments
from app.services.compliance import requirements
from app.views.compliance import bp
from app.views.compliance.forms import RequirementForm
from app.web.auth import admin_required
from app.web.forms import attempt, submit
from app.web.numbers import query_int


def _form(requirement: Requirement | None = None, formdata: bool = False) -> RequirementForm:
    if formdata:
        form = RequirementForm()
    elif requirement is None:
        chosen = query_int("certification", 0, minimum=0) or None
        form = RequirementForm(formdata=None, certification_id=chosen)
    else:
        form = RequirementForm(formdata=None, obj=requirement, user_ids=[u.id for u in requirement.people])
    certifications = db.session.scalars(select(Certification).where(Certification.status != "archived")
                                        .order_by(Certification.name))
    people = db.session.scalars(select(User).where(User.active.is_(True)).order_by(User.name, User.id))
    form.set_choices(certifications, departments.choices(), people)
    return form


@bp.get("/requirements")
@admin_required
def requirements_page():
    certification_id = query_int("certification", 0, minimum=0) or None
    certification = db.session.get(Certification, certification_id) if certification_id else None
    return render_template("compliance/requirements.html",
                           rows=requirements.listing(certification.id if certification else None),
                           certification=certification, who=requirements.who)


@bp.route("/requirements/new", methods=["GET", "POST"])
@admin_required
def new_requirement():
    form = _form(formdata=request.method == "POST")
    done = submit(form, lambda: requirements.create(form.values(), actor=current_user))
    if done:
        flash(f"Requirement saved: {requirements.describe(done.value)}.", "success")
        return redirect(url_for("compliance.requirements_page"))
    status = 422 if request.method == "POST" else 200
    return render_template("compliance/requirement.html", form=form, requirement=None), status


@bp.route("/requirements/<id:requirement_id>", methods=["GET", "POST"])
@admin_required
def requirement(requirement_id: int):
    row = db.get_or_404(Requirement, requirement_id)
    form = _form(row, formdata=request.method == "POST")
    done = submit(form, lambda: requirements.update(row, form.values(), actor=current_user))
    if done:
        flash(f"Requirement saved: {requirements.describe(row)}.", "success")
        return redirect(url_for("compliance.requirements_page"))
    status = 422 if request.method == "POST" else 200
    return render_template("compliance/requirement.html", form=form, requirement=row), status


@bp.post("/requirements/<id:requirement_id>/delete")
@admin_required
def delete_requirement(requirement_id: int):
    row = db.get_or_404(Requirement, requirement_id)
    summary = requirements.describe(row)
    done = attempt(lambda: requirements.delete_requirement(row, actor=current_user))
    if done:
        flash(f"Requirement deleted: {summary}.", "success")
    return redirect(url_for("compliance.requirements_page"))
