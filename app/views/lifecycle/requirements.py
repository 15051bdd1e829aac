"""A certification's Requirements page: requirement groups and evidence settings, one plain form (works
without JavaScript; the courses selects become chips with it)."""

from __future__ import annotations

from flask import redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import select

from app.extensions import db
from app.models import Certification, Course
from app.services.errors import ValidationError
from app.services.lifecycle import catalog, requirements
from app.views.lifecycle import bp
from app.views.lifecycle.forms import RequirementsForm, choices
from app.web.auth import admin_required
from app.web.forms import submit


def _form(cert: Certification, *, submitted: bool = False) -> RequirementsForm:
    form = RequirementsForm() if submitted else RequirementsForm(formdata=None, data=_data(cert))
    if not submitted and len(form.groups.entries) < requirements.MAX_GROUPS:
        form.groups.append_entry()  # a blank group to add one (an empty group is ignored on save)
    current = {c.id for c in cert.courses}
    courses = db.session.scalars(select(Course).where(Course.archived.is_(False) | Course.id.in_(current))
                                 .order_by(Course.code)).all()
    for entry in form.groups:
        entry.form.course_ids.choices = choices((c.id, f"{c.code} · {c.title}") for c in courses)
    people = requirements.assessor_choices()
    form.assessor_ids.choices = choices((u.id, f"{u.name} ({u.role})") for u in people)
    return form


def _data(cert: Certification) -> dict:
    groups = [{"mode": g.mode, "count": g.required_count, "min_score": g.min_score,
               "course_ids": [i.course_id for i in g.items], "minimums": requirements.minimums_text(g)}
              for g in cert.requirement_groups]
    if not cert.requirement_groups and cert.courses:
        groups = [{"mode": "all", "min_score": cert.min_score, "course_ids": [c.id for c in cert.courses]}]
    return {"groups": groups, "evidence_required": cert.evidence_required,
            "evidence_instructions": cert.evidence_instructions,
            "assessor_ids": [u.id for u in cert.assessors]}


def _values(form: RequirementsForm) -> dict:
    """The form as catalog fields; per-course minimums typed as text become numbers here."""
    codes = dict(db.session.execute(select(Course.id, Course.code)).all())
    groups = []
    for number, entry in enumerate(form.groups, start=1):
        group = entry.form
        ids = list(dict.fromkeys(group.course_ids.data or []))
        try:
            minimums = requirements.minimums_from_text(
                group.minimums.data or "", {codes[i].lower(): i for i in ids if i in codes})
        except ValueError as problem:
            raise ValidationError({"requirement_groups": f"Group {number}: {problem}"}) from None
        groups.append({"mode": group.mode.data, "count": group.count.data,
                       "min_score": float(group.min_score.data) if group.min_score.data is not None else None,
                       "courses": [{"course_id": i, "min_score": minimums.get(i)} for i in ids]})
    return {"requirement_groups": groups, "evidence_required": bool(form.evidence_required.data),
            "evidence_instructions": form.evidence_instructions.data or "",
            "assessor_ids": form.assessor_ids.data or []}


@bp.get("/certifications/<id:cert_id>/requirements")
@admin_required
def certification_requirements(cert_id: int):
    cert = db.get_or_404(Certification, cert_id)
    return render_template("lifecycle/requirements.html", cert=cert, form=_form(cert))


@bp.post("/certifications/<id:cert_id>/requirements")
@admin_required
def save_requirements(cert_id: int):
    cert = db.get_or_404(Certification, cert_id)
    form = _form(cert, submitted=True)
    done = submit(form, lambda: catalog.update_certification(cert, _values(form), actor=current_user))
    if done:
        return redirect(url_for("lifecycle.certification_detail", cert_id=cert_id, saved="requirements"))
    return render_template("lifecycle/requirements.html", cert=cert, form=form), 422
