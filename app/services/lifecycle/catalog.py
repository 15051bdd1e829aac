"""The catalog: courses and certifications, with their validation rules."""

from __future__ import annotations

from datetime import date
from functools import lru_cache

from dateutil.relativedelta import relativedelta
from flask import current_app
from sqlalchemy import Select, exists, func, or_, select
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import CERTIFICATION_STATUSES, Certificate, Certification, Course, Enrollment
from app.models import certification_courses as cc
from app.models import certification_prerequisites as cp
from app.models.catalog import DEFAULT_REMINDER_DAYS
from app.services import audit, events
from app.services.errors import NotAllowed, ValidationError
from app.services.fields import (
    check_fields,
    clean_date,
    clean_int,
    clean_reminder_days,
    clean_score,
    clean_text,
    isodate,
    like_pattern,
)
from app.services.lifecycle import requirements

COURSE_FIELDS = ("code", "title", "category", "description", "capacity", "starts_on", "ends_on")
CERT_FIELDS = ("name", "description", "status", "course_ids", "min_score", "prerequisite_ids",
               "validity_months", "renewal_window_days", "reminder_days", "issuer_name", "signatory_name",
               "signatory_title", "requirement_groups", "evidence_required", "evidence_instructions",
               "assessor_ids", "auto_reenrol")


def default_issuer() -> str:
    """The issuer a new certification starts with: the organisation's name (admins may change it)."""
    return str(current_app.config.get("ORG_NAME") or "")


def course_data(course: Course) -> dict:
    """Public shape of a course: {id, code, title, category, description, capacity, starts_on (ISO date),
    ends_on, archived}."""
    return {"id": course.id, "code": course.code, "title": course.title, "category": course.category,
            "description": course.description or "", "capacity": course.capacity,
            "starts_on": isodate(course.starts_on), "ends_on": isodate(course.ends_on),
            "archived": course.archived}


def course_query(search: str = "", category: str = "", include_archived: bool = False) -> Select:
    """A select of courses ordered by code; `search` matches code or title (case-insensitive)."""
    stmt = select(Course).order_by(Course.code)
    if search.strip():
        pattern = like_pattern(search)
        stmt = stmt.where(or_(func.lower(Course.code).like(pattern, escape="\\"),
                              func.lower(Course.title).like(pattern, escape="\\")))
    if category:
        stmt = stmt.where(Course.category == category)
    if not include_archived:
        stmt = stmt.where(Course.archived.is_(False))
    return stmt


def categories() -> list[str]:
    """Distinct non-empty course categories, sorted."""
    stmt = select(Course.category).where(Course.category.is_not(None), Course.category != "")
    return list(db.session.scalars(stmt.distinct().order_by(Course.category)))


def _clean_course(fields: dict, course: Course | None) -> dict:
    """Validate the given keys; returns typed values. Raises one ValidationError with every problem."""
    checks = {
        "code": lambda v: clean_text(v, 40, required=True, label="a course code"),
        "title": lambda v: clean_text(v, 200, required=True, label="a title"),
        "category": lambda v: clean_text(v, 80) or None,
        "description": lambda v: clean_text(v, 5000, multiline=True),
        "capacity": lambda v: clean_int(v, minimum=1),
        "starts_on": clean_date,
        "ends_on": clean_date,
    }
    values, errors = check_fields(fields, checks)
    if "code" in values and not errors.get("code"):
        # Exact match too: the database's lower() may not fold what Python's does (SQLite: ASCII only),
        # and the unique index is on the exact value.
        taken = select(Course.id).where(or_(Course.code == values["code"],
                                            func.lower(Course.code) == values["code"].lower()))
        if course is not None:
            taken = taken.where(Course.id != course.id)
        if db.session.scalar(taken) is not None:
            errors["code"] = "Another course already uses this code."
    starts = values.get("starts_on", course.starts_on if course else None)
    ends = values.get("ends_on", course.ends_on if course else None)
    if starts and ends and ends < starts and not ({"starts_on", "ends_on"} & errors.keys()):
        errors["ends_on"] = "The end date is before the start date."
    if errors:
        raise ValidationError(errors)
    return values


def create_course(fields: dict, *, actor: audit.Actor) -> Course:
    """Create a course from {code, title, category, description, capacity, starts_on, ends_on}.

    Values may be strings (forms) or typed (API). Raises ValidationError with a field map.
    """
    values = _clean_course({"code": "", "title": "", **fields}, None)
    course = Course(**values)
    if "source" in fields:  # integrations create courses too
        course.source, course.external_id = fields["source"], fields.get("external_id")
    db.session.add(course)
    db.session.flush()
    audit.record(actor, "course.created", "course", course.id, f"Course {course.code} created",
                 **course_data(course))
    return course


def update_course(course: Course, fields: dict, *, actor: audit.Actor) -> Course:
    """Change only the keys given (partial update). Raises ValidationError."""
    values = _clean_course({k: v for k, v in fields.items() if k in COURSE_FIELDS}, course)
    changes = {k: v for k, v in values.items() if getattr(course, k) != v}
    for key, value in changes.items():
        setattr(course, key, value)
    if changes:
        db.session.flush()
        audit.record(actor, "course.updated", "course", course.id, f"Course {course.code} updated",
                     changes=changes)
    return course


def delete_course(course: Course, *, actor: audit.Actor) -> None:
    """Delete a course; NotAllowed when it has enrollments or is required by a certification."""
    if db.session.scalar(select(exists().where(Enrollment.course_id == course.id))):
        raise NotAllowed(f"Course {course.code} has enrollments: archive it instead.")
    required_by = db.session.scalars(
        select(Certification.name).join(cc)
        .where(cc.c.course_id == course.id).order_by(Certification.name)).all()
    if required_by:
        raise NotAllowed(f"Course {course.code} is required by {', '.join(required_by)}: "
                         "remove it there first, or archive it instead.")
    audit.record(actor, "course.deleted", "course", course.id, f"Course {course.code} deleted",
                 **course_data(course))
    db.session.delete(course)
    db.session.flush()


def set_course_archived(course: Course, archived: bool, *, actor: audit.Actor) -> None:
    """Archive (no new enrollments) or restore a course."""
    if course.archived == archived:
        return
    course.archived = archived
    action = "course.archived" if archived else "course.restored"
    audit.record(actor, action, "course", course.id,
                 f"Course {course.code} {'archived' if archived else 'restored'}")
    db.session.flush()


def certification_data(cert: Certification) -> dict:
    """Public shape: {id, name, description, status, course_ids, min_score, prerequisite_ids,
    validity_months, renewal_window_days, reminder_days, issuer_name, signatory_name, signatory_title,
    auto_reenrol}."""
    return {"id": cert.id, "name": cert.name, "description": cert.description or "", "status": cert.status,
            "course_ids": [c.id for c in cert.courses], "min_score": cert.min_score,
            "prerequisite_ids": [p.id for p in cert.prerequisites], "validity_months": cert.validity_months,
            "renewal_window_days": cert.renewal_window_days, "reminder_days": list(cert.reminder_days or []),
            "issuer_name": cert.issuer_name, "signatory_name": cert.signatory_name,
            "signatory_title": cert.signatory_title, "requirement_groups": requirements.groups_data(cert),
            "evidence_required": cert.evidence_required,
            "evidence_instructions": cert.evidence_instructions or "",
            "assessor_ids": sorted(u.id for u in cert.assessors),
            "auto_reenrol": cert.auto_reenrol}


def certification_query(search: str = "", status: str = "", with_links: bool = False) -> Select:
    """A select of certifications ordered by name; `search` matches the name. `with_links` loads their
    courses and prerequisites up front (two statements per page, not two per row): lists that show them."""
    stmt = select(Certification).order_by(Certification.name)
    if with_links:
        stmt = stmt.options(selectinload(Certification.courses), selectinload(Certification.prerequisites),
                            selectinload(Certification.requirement_groups),
                            selectinload(Certification.assessors))
    if search.strip():
        stmt = stmt.where(func.lower(Certification.name).like(like_pattern(search), escape="\\"))
    if status:
        stmt = stmt.where(Certification.status == status)
    return stmt


def _ids(value: object) -> list[int]:
    """A list of ids from a list (API) or a comma-separated string (forms)."""
    if value is None or value == "":
        return []
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple | set):
        raise ValueError("Give a list of ids.")
    try:
        return sorted({int(str(i).strip()) for i in items if str(i).strip()})
    except ValueError:
        raise ValueError("Ids must be whole numbers.") from None


def _load(model, ids: list[int], label: str) -> list:
    rows = db.session.scalars(select(model).where(model.id.in_(ids))).all() if ids else []
    missing = sorted(set(ids) - {r.id for r in rows})
    if missing:
        raise ValueError(f"Unknown {label} id(s): {', '.join(map(str, missing))}.")
    return list(rows)


def _clean_cert_scalars(fields: dict) -> tuple[dict, dict[str, str]]:
    checks = {
        "name": lambda v: clean_text(v, 200, required=True, label="a name"),
        "description": lambda v: clean_text(v, 5000, multiline=True),
        "status": _status,
        "min_score": clean_score,
        "validity_months": lambda v: clean_int(v, minimum=1, maximum=1200),
        "renewal_window_days": lambda v: clean_int(v, minimum=0, maximum=3650, default=90),
        "reminder_days": clean_reminder_days,
        "issuer_name": lambda v: clean_text(v, 200),
        "signatory_name": lambda v: clean_text(v, 200),
        "signatory_title": lambda v: clean_text(v, 200),
        "auto_reenrol": _boolean,
        "course_ids": lambda v: _load(Course, _ids(v), "course"),
        "prerequisite_ids": lambda v: _load(Certification, _ids(v), "certification"),
        "requirement_groups": requirements.clean_groups,
        "evidence_required": _boolean,
        "evidence_instructions": lambda v: clean_text(v, 5000, multiline=True),
        "assessor_ids": requirements.clean_assessors,
    }
    return check_fields(fields, checks)


def _boolean(value: object) -> bool:
    if isinstance(value, bool):
        return value
    if value in (None, "", "n", "no", "false", "0", "off"):
        return False
    if value in ("y", "yes", "true", "1", "on"):
        return True
    raise ValueError("Give true or false.")


def _status(value: object) -> str:
    status = str(value or "").strip().lower()
    if status not in CERTIFICATION_STATUSES:
        raise ValueError(f"Status must be one of {', '.join(CERTIFICATION_STATUSES)}.")
    return status


def _clean_certification(fields: dict, cert: Certification | None) -> dict:
    values, errors = _clean_cert_scalars(fields)
    if "name" in values:
        taken = select(Certification.id).where(or_(Certification.name == values["name"],
                                                   func.lower(Certification.name) == values["name"].lower()))
        if cert is not None:
            taken = taken.where(Certification.id != cert.id)
        if db.session.scalar(taken) is not None:
            errors["name"] = "Another certification already has this name."
    if "prerequisite_ids" in values and cert is not None and "prerequisite_ids" not in errors:
        cycle = _cycle_with(cert, values["prerequisite_ids"])
        if cycle:
            errors["prerequisite_ids"] = cycle
    _groups_from_legacy(values, errors, cert)
    groups = values.get("requirement_groups")
    courses = ([c for g in groups for c, _ in g["courses"]] if groups is not None
               else cert.courses if cert else [])
    status = values.get("status", cert.status if cert else "draft")
    if status == "active" and not courses and not {"course_ids", "requirement_groups"} & errors.keys():
        field = "requirement_groups" if "requirement_groups" in fields else "course_ids"
        errors[field] = "An active certification needs at least one required course."
    if cert is None and "reminder_days" not in values:
        values["reminder_days"] = _default_reminders(values)
    errors.update(_timing_problems(values, cert, errors))
    if errors:
        raise ValidationError(errors)
    return values


def _groups_from_legacy(values: dict, errors: dict, cert: Certification | None) -> None:
    """`course_ids` / `min_score` without `requirement_groups` mean one "all of" group (back-compatible);
    refused for a certification whose groups they cannot describe."""
    legacy = {"course_ids", "min_score"} & values.keys()
    if "requirement_groups" in values.keys() | errors.keys():  # the groups say it all
        values.pop("course_ids", None)
        values.pop("min_score", None)
        return
    if not legacy or errors.keys() & {"course_ids", "min_score"}:
        return
    if cert is not None and not cert.simple_requirements:
        errors[sorted(legacy)[0]] = ("This certification has requirement groups: change them on its "
                                     "Requirements page (API: requirement_groups).")
        return
    courses = values.pop("course_ids", cert.courses if cert is not None else [])
    min_score = values.get("min_score", cert.min_score if cert else None)
    values["requirement_groups"] = requirements.legacy_groups(courses, min_score)


TIMING_FIELDS = ("validity_months", "renewal_window_days", "reminder_days")


@lru_cache(maxsize=64)
def shortest_validity_days(months: int) -> int:
    """The fewest days `months` of validity can last (expiry is issue + months, so February shortens
    some): renewal windows and reminders must fit in every one of them."""
    starts = [date(2024 + y, m, d) for y in range(4) for m in range(1, 13) for d in (1, 28, 29, 30, 31)
              if d <= 28 or (date(2024 + y, m, 1) + relativedelta(day=31)).day >= d]
    return min(((start + relativedelta(months=months)) - start).days for start in starts)


def _default_reminders(values: dict) -> list[int]:
    """The default reminders (90, 30, 7) that fit a new certification's renewal window and validity, so
    a certification created without reminder days never starts with reminders learners cannot act on."""
    window = values.get("renewal_window_days", 90)
    months = values.get("validity_months")
    longest = min(window if window is not None else 90,
                  shortest_validity_days(months) - 1 if months else 10**6)
    return [d for d in DEFAULT_REMINDER_DAYS if d <= longest]


def _timing_problems(values: dict, cert: Certification | None, errors: dict) -> dict[str, str]:
    """Cross-field checks of validity, renewal window and reminders, keyed by the field to fix.

    Values not sent fall back to the certification's (or the defaults for a new one), so a partial
    update is checked against what the certification will be. Nothing is checked when a field involved
    already has its own error, or when none of them changes.
    """
    if not set(TIMING_FIELDS) & values.keys() or set(TIMING_FIELDS) & errors.keys():
        return {}
    current = {"validity_months": cert.validity_months if cert else None,
               "renewal_window_days": cert.renewal_window_days if cert else 90,
               "reminder_days": list(cert.reminder_days or []) if cert else list(DEFAULT_REMINDER_DAYS)}
    merged = {**current, **{k: values[k] for k in TIMING_FIELDS if k in values}}
    months, window = merged["validity_months"], merged["renewal_window_days"]
    reminders = sorted({int(d) for d in merged["reminder_days"] or []}, reverse=True)
    if months is None:
        return {}  # never expires: no renewal and no reminders to place
    validity = shortest_validity_days(months)
    span = f"{months} month{'s' if months != 1 else ''} (at least {validity} days)"
    problems: dict[str, str] = {}
    if window is not None and window >= validity:
        problems["renewal_window_days"] = (
            f"The renewal window ({window} days) must be shorter than the validity, {span}: "
            "otherwise renewal would open the day the certificate is issued.")
    outside = [d for d in reminders if d >= validity]
    early = [d for d in reminders if window is not None and validity > d > window]
    if outside:
        problems["reminder_days"] = (
            f"Reminders at {_days(outside)} days before expiry fall outside the validity of {span}: "
            "use fewer days or a longer validity.")
    elif early and "renewal_window_days" not in problems:
        problems["reminder_days"] = (
            f"Reminders at {_days(early)} days before expiry come before renewal opens ({window} days before "
            "expiry): "
            f"learners could not act on them. Use at most {window} days, or widen the renewal window.")
    return problems


def _days(days: list[int]) -> str:
    return ", ".join(str(d) for d in days)


def _cycle_with(cert: Certification, prerequisites: list[Certification]) -> str | None:
    """A message if making `prerequisites` required for `cert` would create a cycle."""
    edges = _prerequisite_edges()
    edges[cert.id] = {p.id for p in prerequisites}
    for prerequisite in prerequisites:
        if prerequisite.id == cert.id:
            return "A certification cannot be its own prerequisite."
        stack, seen = [prerequisite.id], set()
        while stack:
            node = stack.pop()
            if node == cert.id:
                return f"'{prerequisite.name}' already requires '{cert.name}': that would be a cycle."
            if node not in seen:
                seen.add(node)
                stack.extend(edges.get(node, ()))
    return None


def _prerequisite_edges() -> dict[int, set[int]]:
    edges: dict[int, set[int]] = {}
    for cert_id, prereq_id in db.session.execute(select(cp.c.certification_id, cp.c.prerequisite_id)):
        edges.setdefault(cert_id, set()).add(prereq_id)
    return edges


def _assign(cert: Certification, values: dict) -> None:
    for key, value in values.items():
        if key == "requirement_groups":
            requirements.assign_groups(cert, value)
        elif key == "assessor_ids":
            cert.assessors = value
        elif key == "prerequisite_ids":
            cert.prerequisites = value
        else:
            setattr(cert, key, value)


def create_certification(fields: dict, *, actor: audit.Actor) -> Certification:
    """Create a certification. `fields` keys as in certification_data (course_ids and prerequisite_ids are
    lists of ids; reminder_days a list or "90, 30, 7"). Emits certification.created."""
    values = _clean_certification({"name": "", **fields}, None)
    cert = Certification()
    _assign(cert, values)
    db.session.add(cert)
    db.session.flush()
    data = certification_data(cert)
    audit.record(actor, "certification.created", "certification", cert.id,
                 f"Certification {cert.name} created", **data)
    events.emit("certification.created", data)
    return cert


def update_certification(cert: Certification, fields: dict, *, actor: audit.Actor) -> Certification:
    """Partial update (only given keys). Refuses prerequisite cycles. Emits certification.updated."""
    before = certification_data(cert)
    values = _clean_certification({k: v for k, v in fields.items() if k in CERT_FIELDS}, cert)
    _assign(cert, values)
    db.session.flush()
    data = certification_data(cert)
    changes = {k: data[k] for k in data if data[k] != before[k]}
    if changes:
        audit.record(actor, "certification.updated", "certification", cert.id,
                     f"Certification {cert.name} updated", changes=changes)
        events.emit("certification.updated", data)
    return cert


def delete_certification(cert: Certification, *, actor: audit.Actor) -> None:
    """Delete a certification; NotAllowed once certificates exist ("archive it instead")."""
    if db.session.scalar(select(exists().where(Certificate.certification_id == cert.id))):
        raise NotAllowed(f"{cert.name} has issued certificates: archive it instead.")
    stmt = select(Certification.name).join(cp, cp.c.certification_id == Certification.id)
    dependants = db.session.scalars(stmt.where(cp.c.prerequisite_id == cert.id)).all()
    if dependants:
        raise NotAllowed(f"{cert.name} is a prerequisite of {', '.join(sorted(dependants))}: "
                         "remove it there first, or archive it instead.")
    audit.record(actor, "certification.deleted", "certification", cert.id,
                 f"Certification {cert.name} deleted", **certification_data(cert))
    db.session.delete(cert)
    db.session.flush()
    events.emit("certification.deleted", {"id": cert.id, "name": cert.name})
