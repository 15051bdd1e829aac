"""Requirements (a certification that a department, a job title or named people must hold, by a due date)
and exemptions (this person need not hold it, for a reason, until a day). Admins only (views and API).

Creating or changing a requirement enqueues `app.tasks.compliance.apply_requirement` after the commit: the
"you are required to hold X" notices and the optional auto-enrolment go out at once instead of at the next
daily run (the daily run does the same work for people who joined since: both are idempotent).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import delete, func, select

from app.extensions import db
from app.models import REQUIREMENT_SCOPES, Certification, Department, Exemption, Requirement, User
from app.queue import enqueue_after_commit
from app.services import audit
from app.services.errors import ValidationError
from app.services.fields import check_fields, clean_date, clean_int, clean_text

MAX_DUE_DAYS = 3650
MAX_ESCALATION_DAYS = 365
MAX_PEOPLE = 1000
MAX_REASON = 1000
EARLIEST_DAY = date(2000, 1, 1)
LATEST_DAY = date(2100, 12, 31)
ESCALATIONS = ("escalate_learner_days", "escalate_manager_days", "escalate_admin_days")
APPLY_JOB = "app.tasks.compliance.apply_requirement"


def _day(value: object) -> date | None:
    day = clean_date(value)
    if day is not None and not EARLIEST_DAY <= day <= LATEST_DAY:
        raise ValueError(f"Between {EARLIEST_DAY.isoformat()} and {LATEST_DAY.isoformat()}.")
    return day


def _flag(value: object) -> bool:
    if isinstance(value, bool):
        return value
    if value in (None, "", "0", "false", "off", "n", "no"):
        return False
    if value in ("1", "true", "on", "y", "yes"):
        return True
    raise ValueError("Yes or no.")


def _ids(value: object) -> list[int]:
    items = value if isinstance(value, list | tuple) else [value] if value not in (None, "") else []
    if len(items) > MAX_PEOPLE:
        raise ValueError(f"At most {MAX_PEOPLE} people.")
    return sorted({clean_int(i, minimum=1) for i in items})


CHECKS = {
    "certification_id": lambda v: clean_int(v, minimum=1),
    "scope": lambda v: _choice(v),
    "department_id": lambda v: clean_int(v, minimum=1),
    "include_subdepartments": _flag,
    "job_title": lambda v: " ".join(clean_text(v, 120, label="the job title").split()) or None,
    "user_ids": _ids,
    "due_days": lambda v: clean_int(v, minimum=0, maximum=MAX_DUE_DAYS),
    "due_on": _day,
    "auto_enrol": _flag,
    **{name: (lambda v: clean_int(v, minimum=0, maximum=MAX_ESCALATION_DAYS)) for name in ESCALATIONS},
}


def _choice(value: object) -> str:
    if value not in REQUIREMENT_SCOPES:
        raise ValueError("A department, a job title or named people.")
    return str(value)


def _clean(fields: dict[str, Any], current: Requirement | None) -> dict[str, Any]:
    values, errors = check_fields(fields, CHECKS)
    merged = {key: getattr(current, key, None) for key in CHECKS if key != "user_ids"} if current else {}
    merged.update(values)
    if current is not None and "user_ids" not in values:
        merged["user_ids"] = [u.id for u in current.people]
    if "certification_id" not in errors:
        cert = db.session.get(Certification, merged.get("certification_id") or 0)
        if cert is None or cert.status == "archived":
            errors["certification_id"] = "Choose an existing certification that is not archived."
    kind = merged.get("scope")
    if kind == "department" and "department_id" not in errors \
            and db.session.get(Department, merged.get("department_id") or 0) is None:
        errors["department_id"] = "Choose a department."
    if kind == "job_title" and "job_title" not in errors and not merged.get("job_title"):
        errors["job_title"] = "Enter the job title."
    if kind == "people" and "user_ids" not in errors:
        ids = merged.get("user_ids") or []
        found = db.session.scalar(select(func.count()).select_from(User).where(User.id.in_(ids))) \
            if ids else 0
        if not ids or found != len(ids):
            errors["user_ids"] = "Choose one or more existing people."
    if not kind and "scope" not in errors:
        errors["scope"] = "A department, a job title or named people."
    if errors:
        raise ValidationError(errors)
    return merged


def _apply(requirement: Requirement, values: dict[str, Any]) -> dict[str, list]:
    changes: dict[str, list] = {}
    kind = values["scope"]
    values["department_id"] = values.get("department_id") if kind == "department" else None
    values["job_title"] = values.get("job_title") if kind == "job_title" else None
    for key in (k for k in CHECKS if k != "user_ids"):
        new = values.get(key)
        if key in ("include_subdepartments", "auto_enrol"):
            new = bool(new)
        if getattr(requirement, key) != new:
            changes[key] = [_plain(getattr(requirement, key)), _plain(new)]
            setattr(requirement, key, new)
    requirement.job_title_key = requirement.job_title.lower() if requirement.job_title else None
    people_ids = values.get("user_ids") or [] if kind == "people" else []
    if sorted(u.id for u in requirement.people) != people_ids:
        changes["user_ids"] = [sorted(u.id for u in requirement.people), people_ids]
        requirement.people = list(db.session.scalars(select(User).where(User.id.in_(people_ids)))) \
            if people_ids else []
    return changes


def _plain(value: object) -> object:
    return value.isoformat() if isinstance(value, date) else value


def create(fields: dict[str, Any], *, actor: audit.Actor) -> Requirement:
    values = _clean(fields, None)
    values.setdefault("include_subdepartments", True)
    for name, default in zip(ESCALATIONS, (0, 7, 14), strict=True):
        values.setdefault(name, default)
    requirement = Requirement(created_by_id=getattr(actor, "id", None), people=[])
    db.session.add(requirement)
    _apply(requirement, values)
    db.session.flush()
    audit.record(actor, "requirement.created", "requirement", requirement.id,
                 f"Requirement: {describe(requirement)}",
                 certification=requirement.certification.name, scope=requirement.scope)
    enqueue_after_commit(db.session, APPLY_JOB, requirement.id, queue="low")
    return requirement


def update(requirement: Requirement, fields: dict[str, Any], *, actor: audit.Actor) -> None:
    values = _clean(fields, requirement)
    changes = _apply(requirement, values)
    if changes:
        db.session.flush()
        audit.record(actor, "requirement.updated", "requirement", requirement.id,
                     f"Requirement updated: {describe(requirement)}", changes=changes)
        enqueue_after_commit(db.session, APPLY_JOB, requirement.id, queue="low")


def delete_requirement(requirement: Requirement, *, actor: audit.Actor) -> None:
    summary = describe(requirement)
    audit.record(actor, "requirement.deleted", "requirement", requirement.id,
                 f"Requirement deleted: {summary}")
    db.session.delete(requirement)
    db.session.flush()


def describe(requirement: Requirement) -> str:
    """"First Aid for Nursing (and below)", "... for job title Nurse", "... for 3 people"."""
    name = requirement.certification.name if requirement.certification else "?"
    return f"{name} for {who(requirement)}"


def who(requirement: Requirement) -> str:
    if requirement.scope == "department":
        dept = requirement.department.name if requirement.department else "?"
        return f"{dept} (and below)" if requirement.include_subdepartments else dept
    if requirement.scope == "job_title":
        return f"job title “{requirement.job_title}”"
    count = len(requirement.people)
    return "1 person" if count == 1 else f"{count} people"


def listing(certification_id: int | None = None) -> list[Requirement]:
    stmt = select(Requirement).join(Certification).order_by(Certification.name, Requirement.id)
    if certification_id is not None:
        stmt = stmt.where(Requirement.certification_id == certification_id)
    return list(db.session.scalars(stmt))


# --- exemptions ------------------------------------------------------------------------------------

def exempt(user: User, certification: Certification, fields: dict[str, Any], *,
           actor: audit.Actor) -> Exemption:
    """Excuse `user` from holding `certification` (replaces an earlier exemption of the same cell)."""
    errors: dict[str, str] = {}
    try:
        reason = clean_text(fields.get("reason"), MAX_REASON, required=True, label="the reason",
                            multiline=True)
    except ValueError as exc:
        errors["reason"] = str(exc)
    try:
        expires_on = _day(fields.get("expires_on"))
    except ValueError as exc:
        errors["expires_on"] = str(exc)
    if errors:
        raise ValidationError(errors)
    # Read before a row is pending: loading an expired actor's id autoflushes the session.
    actor_id = getattr(actor, "id", None)
    row = db.session.scalar(select(Exemption).where(Exemption.user_id == user.id,
                                                    Exemption.certification_id == certification.id))
    if row is None:
        row = Exemption(user_id=user.id, certification_id=certification.id, reason=reason)
        db.session.add(row)
    row.reason, row.expires_on, row.created_by_id = reason, expires_on, actor_id
    db.session.flush()
    audit.record(actor, "exemption.granted", "user", user.id,
                 f"{user.email} exempt from {certification.name}", certification=certification.name,
                 reason=reason, expires_on=_plain(expires_on))
    return row


def lift_exemption(user: User, certification: Certification, *, actor: audit.Actor) -> bool:
    gone = db.session.execute(delete(Exemption).where(Exemption.user_id == user.id,
                                                      Exemption.certification_id == certification.id))
    if gone.rowcount:
        audit.record(actor, "exemption.lifted", "user", user.id,
                     f"{user.email} no longer exempt from {certification.name}",
                     certification=certification.name)
    return bool(gone.rowcount)


def exemption(user_id: int, certification_id: int) -> Exemption | None:
    return db.session.scalar(select(Exemption).where(Exemption.user_id == user_id,
                                                     Exemption.certification_id == certification_id))
