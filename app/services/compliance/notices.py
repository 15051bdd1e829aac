"""Who is told: "you are required to hold X by <date>" (once per requirement x person, with the courses
and, when the requirement says so, an enrolment in them), escalations after the due date (learner, then
manager, then admin: each step once, `days` after the due date as the requirement configures) and the
weekly compliance digest (managers: their people; admins: the people no manager looks after).

Run by the daily job (app/tasks/daily.py) and, for one requirement, right after it is saved
(app/tasks/compliance.py). Each notice is a `ComplianceNotice` row unique per (requirement, person, step),
inserted in a SAVEPOINT before its mail is queued in the same transaction (the outbox's dedupe key too):
running twice, or twice at once, sends nothing twice; dying half-way rolls back rows and mail together.
"""

from __future__ import annotations

from datetime import datetime

from flask import current_app
from sqlalchemy import and_, select
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import ComplianceNotice, Course, Department, Requirement, User, department_managers
from app.queue import enqueue_after_commit
from app.services import audit
from app.services.compliance.assignments import cell_rows, day_of, moment_of, state_of
from app.services.errors import ValidationError
from app.services.lifecycle import enrollment
from app.services.messaging import outbox

GAPS = ("missing", "expired", "overdue")
MOODLE_ENROL_JOB = "app.tasks.compliance.enrol_in_moodle"
STEPS = (("learner", "escalate_learner_days"), ("manager", "escalate_manager_days"),
         ("admin", "escalate_admin_days"))


def _url(endpoint: str, fallback: str, **values: object) -> str:
    try:
        return outbox.external_url(endpoint, **values)
    except Exception:  # noqa: BLE001 - blueprint not registered (partial apps): the known path
        return current_app.config["BASE_URL"] + fallback


def _claim(requirement_id: int, user_id: int, step: str, now: datetime) -> bool:
    """Record the step as sent; False when it was already (another run got there first)."""
    try:
        with db.session.begin_nested():
            db.session.add(ComplianceNotice(requirement_id=requirement_id, user_id=user_id, step=step,
                                            sent_at=now))
            db.session.flush()
    except IntegrityError:
        return False
    return True


def _pending(now: datetime, step: str, requirement_id: int | None = None, extra=()) -> list:
    """Assignments (with their state and due day) that have no notice for `step` yet."""
    conditions = [Requirement.id == requirement_id] if requirement_id is not None else []
    rows = cell_rows(now, [], conditions, per_requirement=True).subquery("assignments")
    sent = select(ComplianceNotice.id).where(ComplianceNotice.requirement_id == rows.c.requirement_id,
                                             ComplianceNotice.user_id == rows.c.user_id,
                                             ComplianceNotice.step == step)
    state = state_of(rows.c, now)
    stmt = (select(rows.c.requirement_id, rows.c.user_id, rows.c.due, state.label("state"))
            .where(~sent.exists(), *[condition(rows, state) for condition in extra])
            .order_by(rows.c.requirement_id, rows.c.user_id))
    return db.session.execute(stmt).all()


def send_required_notices(now: datetime, requirement_id: int | None = None) -> int:
    """Tell each person who lacks a required certification, once per requirement; enrol them in its
    courses when the requirement asks (here and in Moodle for courses an active Moodle integration maps)."""
    rows = _pending(now, "required", requirement_id, [lambda r, state: state.in_(GAPS)])
    requirements: dict[int, Requirement] = {}
    count = 0
    for requirement_id_, user_id, due, _state in rows:
        requirement = requirements.get(requirement_id_) or db.session.get(Requirement, requirement_id_)
        requirements[requirement_id_] = requirement
        if not _claim(requirement_id_, user_id, "required", now):
            continue
        user = db.session.get(User, user_id)
        certification = requirement.certification
        if requirement.auto_enrol:
            _enrol(user, certification.courses)
        outbox.queue_email(user.email, "compliance_required", user_id=user.id,
                           dedupe_key=f"compliance:{requirement_id_}:{user_id}:required",
                           subject=f"You are required to hold {certification.name}",
                           context={"name": user.name, "certification": certification.name,
                                    "due_at": moment_of(due), "enrolled": requirement.auto_enrol,
                                    "courses": [c.title for c in certification.courses],
                                    "dashboard_url": _url("dashboard.index", "/")})
        count += 1
    if count:
        audit.record("system", "compliance.notified", "requirement", requirement_id,
                     f"{count} people told they are required to hold a certification", people=count)
    return count


def _enrol(user: User, courses: list[Course]) -> None:
    for course in courses:
        if course.archived:
            continue
        try:
            with db.session.begin_nested():
                enrollment.enroll(user, course, actor="system", source="requirement")
        except ValidationError:  # already enrolled, course full: the notice still goes out
            continue
        if course.source.startswith("moodle:"):
            enqueue_after_commit(db.session, MOODLE_ENROL_JOB, course.id, user.id, queue="low")


def send_escalations(now: datetime) -> int:
    """For overdue people, each escalation step whose day has come, once."""
    today = day_of(now)
    count = 0
    for step, column in STEPS:
        rows = _pending(now, step, None, [
            lambda r, state: state == "overdue",
            lambda r, state, column=column: and_(r.c[column].is_not(None), r.c.due + r.c[column] <= today)])
        for requirement_id, user_id, due, _state in rows:
            if _claim(requirement_id, user_id, step, now):
                count += _escalate(db.session.get(Requirement, requirement_id), db.session.get(User, user_id),
                                   step, moment_of(due))
    return count


def managers_of(user: User) -> list[User]:
    """The active managers of the person's department or of any department above it."""
    ids: list[int] = []
    dept = user.department_ref
    while dept is not None and dept.id not in ids and len(ids) < 50:
        ids.append(dept.id)
        dept = dept.parent
    if not ids:
        return []
    stmt = (select(User).join(department_managers, department_managers.c.user_id == User.id)
            .where(department_managers.c.department_id.in_(ids), User.active.is_(True)).distinct()
            .order_by(User.id))
    return list(db.session.scalars(stmt))


def admins() -> list[User]:
    return list(db.session.scalars(select(User).where(User.role == "admin", User.active.is_(True))
                                   .order_by(User.id)))


def _escalate(requirement: Requirement, person: User, step: str, due: datetime | None) -> int:
    if step == "learner":
        recipients = [person]
    elif step == "manager":
        recipients = managers_of(person) or admins()  # no manager: the admins are told instead
    else:
        recipients = admins()
    certification = requirement.certification.name
    for recipient in recipients:
        outbox.queue_email(
            recipient.email, "compliance_overdue", user_id=recipient.id,
            dedupe_key=f"compliance:{requirement.id}:{person.id}:{step}:{recipient.id}",
            subject=(f"Overdue: you were required to hold {certification}" if step == "learner"
                     else f"Overdue: {person.name} does not hold {certification}"),
            context={"name": recipient.name, "person": person.name, "certification": certification,
                     "due_at": due, "step": step, "to_learner": step == "learner",
                     "dashboard_url": _url("dashboard.index", "/"),
                     "person_url": _url("lifecycle.learner", f"/learners/{person.id}", user_id=person.id)})
    audit.record("system", "compliance.escalated", "user", person.id,
                 f"{person.email}: {certification} overdue, {step} told", step=step,
                 requirement_id=requirement.id, recipients=len(recipients))
    return 1


def department_label(department: Department | None) -> str:
    return department.name if department is not None else "No department"
