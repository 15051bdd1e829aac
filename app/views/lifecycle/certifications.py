"""Certifications: list, inline create/edit with errors in place, archive, detail page."""

from __future__ import annotations

from flask import render_template
from flask_login import current_user
from sqlalchemy import select

from app.extensions import db
from app.models import Certification, Course
from app.services.lifecycle import catalog, certificates
from app.views.lifecycle import bp
from app.views.lifecycle.forms import CertificationForm
from app.views.lifecycle.helpers import filters, int_arg
from app.web.auth import admin_required, staff_required
from app.web.forms import attempt, submit
from app.web.pages import page_args, render_page_or_fragment
from app.web.scoping import viewer


def _form(cert: Certification | None = None, formdata=False) -> CertificationForm:
    kwargs = {"obj": cert} if cert is not None else {}
    if formdata is not False:
        kwargs["formdata"] = formdata
    if cert is None:  # a new certification starts signed by the organisation (sent values win)
        kwargs.update(issuer_name=catalog.default_issuer(), signatory_name=current_user.name)
    form = CertificationForm(**kwargs)
    current = [c.id for c in cert.courses] if cert is not None else []
    courses = db.session.scalars(select(Course).where(Course.archived.is_(False) | Course.id.in_(current))
                                 .order_by(Course.code)).all()
    others = db.session.scalars(catalog.certification_query()).all()
    form.set_choices(courses, [c for c in others if cert is None or c.id != cert.id])
    if cert is not None and not form.is_submitted():
        form.course_ids.data = [c.id for c in cert.courses]
        form.prerequisite_ids.data = [p.id for p in cert.prerequisites]
        form.reminder_days.data = ", ".join(str(d) for d in cert.reminder_days or [])
    return form


def _list_context(**extra) -> dict:
    args = filters("q", "status")
    page, per_page = page_args()
    listed = catalog.certification_query(args["q"], args["status"], with_links=True)
    pagination = db.paginate(listed, page=page, per_page=per_page, error_out=False)
    return {"pagination": pagination, "filters": args, **extra}


@bp.get("/certifications")
@staff_required
def certifications():
    # ?edit=<id>: the certification page's Edit button lands here with that row open for editing.
    editing = db.session.get(Certification, int_arg("edit") or 0) if current_user.is_admin else None
    return render_page_or_fragment("lifecycle/certifications.html", "lifecycle/_certifications_table.html",
                                   form=_form(), editing=editing, edit_form=editing and _form(editing),
                                   **_list_context())


@bp.post("/certifications")
@admin_required
def create_certification():
    form = _form()
    done = submit(form, lambda: catalog.create_certification(form.values(), actor=current_user),
                  answer=lambda cert: render_template("lifecycle/_certification_created.html", created=cert,
                                                      form=_form(formdata=None), **_list_context()))
    if done:
        return done.value
    response = render_template("lifecycle/_certification_create.html", form=form)
    return response, 422, {"HX-Retarget": "#certification-create", "HX-Reswap": "outerHTML"}


def _certification(cert_id: int) -> Certification:
    return db.get_or_404(Certification, cert_id)


@bp.get("/certifications/<id:cert_id>/row")
@staff_required
def certification_row(cert_id: int):
    return render_template("lifecycle/_certification_row.html", cert=_certification(cert_id))


@bp.get("/certifications/<id:cert_id>/edit")
@admin_required
def edit_certification(cert_id: int):
    cert = _certification(cert_id)
    return render_template("lifecycle/_certification_row_edit.html", cert=cert, form=_form(cert))


@bp.post("/certifications/<id:cert_id>")
@admin_required
def update_certification(cert_id: int):
    cert = _certification(cert_id)
    form = _form(cert)
    done = submit(form, lambda: catalog.update_certification(cert, _fields(cert, form), actor=current_user),
                  answer=lambda _: render_template("lifecycle/_certification_row.html", cert=cert,
                                                   saved=True))
    if done:
        return done.value
    return render_template("lifecycle/_certification_row_edit.html", cert=cert, form=form), 422


def _fields(cert: Certification, form: CertificationForm) -> dict:
    """The row editor's values; courses and minimum score only where they are the whole rule (other
    requirement groups are edited on the Requirements page, and the row shows a link there)."""
    values = form.values()
    if not cert.simple_requirements:
        values.pop("course_ids")
        values.pop("min_score")
    return values


@bp.post("/certifications/<id:cert_id>/delete")
@admin_required
def delete_certification(cert_id: int):
    cert = _certification(cert_id)
    done = attempt(lambda: catalog.delete_certification(cert, actor=current_user))
    if not done:
        return render_template("lifecycle/_certification_row.html", cert=cert, refused=done.refusal), 422
    return ""


@bp.post("/certifications/<id:cert_id>/archive")
@admin_required
def archive_certification(cert_id: int):
    cert = _certification(cert_id)
    done = attempt(lambda: catalog.update_certification(cert, {"status": "archived"}, actor=current_user),
                   answer=lambda _: render_template("lifecycle/_certification_row.html", cert=cert,
                                                    saved=True))
    if not done:
        return render_template("lifecycle/_certification_row.html", cert=cert, refused=done.refusal), 422
    return done.value


@bp.get("/certifications/<id:cert_id>")
@staff_required
def certification_detail(cert_id: int):
    cert = _certification(cert_id)
    pagination = db.paginate(certificates.certificate_query(certification_id=cert.id, viewer=viewer()),
                             page=1, per_page=50, error_out=False)
    return render_template("lifecycle/certification_detail.html", cert=cert, pagination=pagination)
