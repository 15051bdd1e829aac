"""Admin › Departments: the tree (faculty > department > team), members, managers; create, rename, move,
delete (only when empty). Rules in app/services/accounts/departments.py."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from app.extensions import db
from app.models import Department, User
from app.services.accounts import departments
from app.views.admin import bp
from app.views.admin.forms import DepartmentForm, ManagersForm
from app.web import nav
from app.web.auth import admin_required
from app.web.forms import attempt, submit

nav.add("admin.departments_page", "Departments", nav.ADMIN, prefix="admin.department", order=81)


def _manager_candidates() -> list[User]:
    """Who can be put in charge of a department: managers and staff (staff then read it, read-only)."""
    return list(db.session.scalars(select(User).where(User.role.in_(("manager", "staff")), User.active)
                                   .order_by(User.name, User.id)))


@bp.route("/departments", methods=["GET", "POST"])
@admin_required
def departments_page():
    form = DepartmentForm()
    done = submit(form, lambda: departments.create(form.name.data, actor=current_user,
                                                   parent=form.chosen_parent()))
    if done:
        flash(f"Department {done.value.name} created.", "success")
        return redirect(url_for("admin.departments_page"))
    status = 422 if form.errors or form.form_errors else 200
    return render_template("admin/departments.html", form=form, tree=departments.tree(),
                           counts=departments.member_counts()), status


def _department_or_404(department_id: int) -> Department:
    return db.get_or_404(Department, department_id)


def _edit_form(department: Department, formdata=None) -> DepartmentForm:
    below = departments.subtree_ids([department.id])  # a department cannot go under itself
    if formdata is None:
        return DepartmentForm(formdata=None, exclude=below, name=department.name,
                              parent_id=department.parent_id or 0)
    return DepartmentForm(exclude=below)


def _detail(department: Department, form: DepartmentForm, managers: ManagersForm, status: int = 200):
    return render_template("admin/department.html", department=department, form=form, managers=managers,
                           members=departments.member_count(department.id)), status


def _managers_form(department: Department, formdata: bool = False) -> ManagersForm:
    if formdata:
        return ManagersForm(candidates=_manager_candidates())
    return ManagersForm(formdata=None, candidates=_manager_candidates(),
                        manager_ids=[u.id for u in department.managers])


@bp.route("/departments/<id:department_id>", methods=["GET", "POST"])
@admin_required
def department(department_id: int):
    dept = _department_or_404(department_id)
    if request.method == "GET":
        return _detail(dept, _edit_form(dept), _managers_form(dept))
    form = _edit_form(dept, formdata=True)
    done = submit(form, lambda: _save(dept, form))
    if done:
        flash(f"Department {dept.name} saved.", "success")
        return redirect(url_for("admin.department", department_id=dept.id))
    return _detail(dept, form, _managers_form(dept), 422)


def _save(dept: Department, form: DepartmentForm) -> None:
    departments.rename(dept, form.name.data, actor=current_user)
    departments.move(dept, form.chosen_parent(), actor=current_user)


@bp.post("/departments/<id:department_id>/managers")
@admin_required
def department_managers(department_id: int):
    dept = _department_or_404(department_id)
    form = _managers_form(dept, formdata=True)
    chosen = set(form.manager_ids.data or [])
    done = submit(form, lambda: departments.set_managers(
        dept, [u for u in _manager_candidates() if u.id in chosen], actor=current_user))
    if done:
        flash(f"Managers of {dept.name} saved.", "success")
        return redirect(url_for("admin.department", department_id=dept.id))
    return _detail(dept, _edit_form(dept), form, 422)


@bp.post("/departments/<id:department_id>/delete")
@admin_required
def delete_department(department_id: int):
    dept = _department_or_404(department_id)
    name = dept.name
    done = attempt(lambda: departments.delete_department(dept, actor=current_user))
    if not done:
        flash(done.refusal, "warning")
        return redirect(url_for("admin.department", department_id=department_id))
    flash(f"Department {name} deleted.", "success")
    return redirect(url_for("admin.departments_page"))
