"""Compliance › Matrix: people x required certifications with their states, totals and compliance % per
department and per certification, CSV export of the same filters; admins exempt a person from a cell.
Managers see only their departments' people (out-of-scope people: 404)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_sqlalchemy.pagination import Pagination

from app.database import utcnow
from app.extensions import db
from app.models import Certification, User
from app.services.accounts import departments, scope
from app.services.compliance import matrix as cells
from app.services.compliance import requirements
from app.services.compliance.assignments import STATES
from app.views.compliance import bp
from app.views.compliance.forms import ExemptionForm
from app.web import nav
from app.web.auth import admin_required, staff_required
from app.web.forms import attempt, submit
from app.web.numbers import query_int
from app.web.pages import page_args, render_page_or_fragment
from app.web.scoping import person_or_404, viewer
from app.web.streaming import csv_response

nav.add("compliance.matrix", "Compliance", nav.STAFF, prefix="compliance.", order=36)

CSV_HEADER = ["user_id", "name", "email", "department", "certification_id", "certification", "state",
              "due_at", "expires_at", "days_left", "exemption_reason", "exemption_expires_on"]


class CellPage(Pagination):
    """A page the matrix statement already counted (its total comes with the rows)."""

    def __init__(self, items: list, total: int, page: int, per_page: int) -> None:
        self._given = (items, total)
        super().__init__(page=page, per_page=per_page, max_per_page=None, error_out=False)

    def _query_items(self) -> list:
        return self._given[0]

    def _query_count(self) -> int:
        return self._given[1]


def _filters() -> cells.Filters:
    """?department=, ?certification=, ?state=: unknown or out-of-scope department ids are 404."""
    department_id = query_int("department", 0, minimum=0) or None
    certification_id = query_int("certification", 0, minimum=0) or None
    state = request.args.get("state", "")
    if state not in ("", *STATES):
        abort(400, f"'state' must be one of {', '.join(STATES)}.")
    found = cells.visible_filters(viewer(), department_id, certification_id, state)
    if found is None:
        abort(404)
    return found


def _department_choices() -> list[tuple[int, str]]:
    visible = scope.department_ids(viewer())
    return [(i, label) for i, label in departments.choices() if visible is None or i in visible]


@bp.get("")
@staff_required
def matrix():
    f = _filters()
    page, per_page = page_args(default_per_page=50, max_per_page=200)
    now = utcnow()
    items, total = cells.page(f, now, viewer(), page, per_page)
    return render_page_or_fragment(
        "compliance/matrix.html", "compliance/_cells.html", pagination=CellPage(items, total, page, per_page),
        summary=cells.summary(f, now, viewer()), filters=f, states=STATES,
        department_choices=_department_choices(),
        certifications=db.session.scalars(db.select(Certification).order_by(Certification.name)).all(),
        csv_args={k: v for k, v in request.args.items() if k in ("department", "certification", "state")},
        base_args={k: v for k, v in request.args.items() if k in ("department", "certification")})


@bp.get("/export.csv")
@staff_required
def export_csv():
    f, who, now = _filters(), viewer(), utcnow()

    def rows():
        for cell in cells.stream(f, now, who):
            data = cell.data()
            yield [data[key] for key in CSV_HEADER]

    return csv_response("compliance.csv", CSV_HEADER, rows)


def _cell_or_404(user_id: int, certification_id: int) -> tuple[User, Certification]:
    person = person_or_404(db.session.get(User, user_id))
    certification = db.session.get(Certification, certification_id)
    if certification is None:
        abort(404)
    return person, certification


@bp.route("/exemptions/<id:user_id>/<id:certification_id>", methods=["GET", "POST"])
@admin_required
def exemption(user_id: int, certification_id: int):
    person, certification = _cell_or_404(user_id, certification_id)
    current = requirements.exemption(person.id, certification.id)
    form = ExemptionForm(formdata=None, obj=current) if request.method == "GET" else ExemptionForm()
    done = submit(form, lambda: requirements.exempt(person, certification, {
        "reason": form.reason.data, "expires_on": form.expires_on.data}, actor=current_user))
    if done:
        flash(f"{person.name} is exempt from {certification.name}.", "success")
        return redirect(url_for("compliance.matrix", certification=certification.id))
    status = 422 if request.method == "POST" else 200
    return render_template("compliance/exemption.html", form=form, person=person, certification=certification,
                           current=current), status


@bp.post("/exemptions/<id:user_id>/<id:certification_id>/lift")
@admin_required
def lift_exemption(user_id: int, certification_id: int):
    person, certification = _cell_or_404(user_id, certification_id)
    done = attempt(lambda: requirements.lift_exemption(person, certification, actor=current_user))
    if done and done.value:
        flash(f"{person.name} is no longer exempt from {certification.name}.", "success")
    return redirect(url_for("compliance.matrix", certification=certification.id))
