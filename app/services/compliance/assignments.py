"""Who each requirement applies to, and the state of each person x certification, as SQL.

A requirement applies to the active people of its department and every department below it (unless
`include_subdepartments` is off), to the active people whose job title matches (any case), or to its named
people. An assignment is one (requirement, person) pair; a *cell* is one (person, certification): several
requirements may ask one person for the same certification, the strictest (earliest) due date counts.

States of a cell, first match wins:
  exempt    an exemption for the person x certification that has not expired (its last day included);
  valid     a live certificate (latest cycle not revoked) that has not expired, before its renewal window;
  expiring  the same, inside its renewal window (`renewal_opens_at`, frozen at issue);
  overdue   no live certificate, or an expired one, and the due date has passed;
  expired   the latest live certificate expired, the due date is still ahead (or there is none);
  missing   no live certificate, the due date is still ahead (or there is none).

Due dates are computed as *day numbers* (days since 1970-01-01 UTC, fractional) so one expression works on
SQLite (julianday) and PostgreSQL (EXTRACT(EPOCH)): `due_days` after the later of the person's joining
(`users.created_at`) and the requirement's creation, and/or the end of the fixed `due_on` day (the later of
the two when both are set). After an expiry, the person gets `due_days` again from the expiry day (a
lapse is treated like joining); with only a fixed date, the fixed date stays the due date.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import Float, Select, and_, case, func, literal, null, or_, select, union_all
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement

from app.models import Certificate, Department, Exemption, Requirement, User, requirement_people

DAY_SECONDS = 86400.0
COMPLIANT = ("valid", "expiring", "exempt")
STATES = ("valid", "expiring", "expired", "missing", "overdue", "exempt")


class day_number(FunctionElement):  # noqa: N801 - reads like the SQL function it compiles to
    """Days since 1970-01-01 00:00 UTC of a timestamp or date column (naive UTC in storage)."""

    type = Float()
    inherit_cache = True
    name = "day_number"


@compiles(day_number, "sqlite")
def _day_number_sqlite(element, compiler, **kw) -> str:
    return f"(julianday({compiler.process(element.clauses, **kw)}) - 2440587.5)"


@compiles(day_number, "postgresql")
def _day_number_postgresql(element, compiler, **kw) -> str:
    return f"(EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)}) / 86400.0)"


def day_of(moment: datetime) -> float:
    return moment.timestamp() / DAY_SECONDS


def moment_of(day: float | None) -> datetime | None:
    """A day number back to an aware UTC datetime (for display)."""
    return None if day is None else datetime.fromtimestamp(float(day) * DAY_SECONDS, UTC)


def _later(a: ColumnElement, b: ColumnElement) -> ColumnElement:
    """The larger of two possibly-NULL numbers (NULL only when both are)."""
    return case((a.is_(None), b), (b.is_(None), a), (a > b, a), else_=b)


def applies() -> Select:
    """(requirement_id, user_id) of every assignment, as a SELECT (departments through a recursive CTE)."""
    base = (select(Requirement.id.label("requirement_id"), Requirement.department_id.label("department_id"))
            .where(Requirement.scope == "department"))
    tree = base.cte("requirement_departments", recursive=True)
    below = (select(tree.c.requirement_id, Department.id)
             .join(Department, Department.parent_id == tree.c.department_id)
             .join(Requirement, Requirement.id == tree.c.requirement_id)
             .where(Requirement.include_subdepartments.is_(True)))
    tree = tree.union(below)
    by_department = (select(tree.c.requirement_id, User.id.label("user_id"))
                     .join(User, User.department_id == tree.c.department_id))
    by_title = (select(Requirement.id.label("requirement_id"), User.id.label("user_id"))
                .join(User, func.lower(User.job_title) == Requirement.job_title_key)
                .where(Requirement.scope == "job_title"))
    by_name = (select(requirement_people.c.requirement_id, requirement_people.c.user_id)
               .join(Requirement, Requirement.id == requirement_people.c.requirement_id)
               .where(Requirement.scope == "people"))
    return union_all(by_department, by_title, by_name)


def assignment_rows(now: datetime, people: list[ColumnElement[bool]],
                    requirements: list[ColumnElement[bool]] | None = None) -> Select:
    """One row per assignment of an active person: the person, the requirement's certification, the live
    certificate (if any), the exemption in force (if any) and this requirement's due day. `people` are
    conditions on User, `requirements` on Requirement."""
    pairs = applies().subquery("applies")
    latest = aliased(Certificate)
    live_cycle = (select(func.max(latest.cycle))
                  .where(latest.user_id == User.id, latest.certification_id == Requirement.certification_id,
                         latest.revoked_at.is_(None))
                  .scalar_subquery())
    start = _later(day_number(User.created_at), day_number(Requirement.created_at))
    personal = start + Requirement.due_days
    fixed = day_number(Requirement.due_on) + 1
    required_by = _later(case((Requirement.due_days.is_(None), null()), else_=personal),
                         case((Requirement.due_on.is_(None), null()), else_=fixed))
    after_lapse = case((Requirement.due_days.is_(None), null()),
                       else_=day_number(Certificate.expires_at) + Requirement.due_days)
    expired = and_(Certificate.id.is_not(None), Certificate.expires_at.is_not(None),
                   Certificate.expires_at <= now)
    due = case((expired, _later(required_by, after_lapse)), else_=required_by)
    return (
        select(pairs.c.requirement_id, pairs.c.user_id, Requirement.certification_id,
               Certificate.id.label("certificate_id"), Certificate.expires_at, Certificate.renewal_opens_at,
               Exemption.id.label("exemption_id"), due.label("due"), Requirement.escalate_learner_days,
               Requirement.escalate_manager_days, Requirement.escalate_admin_days)
        .select_from(pairs)
        .join(Requirement, Requirement.id == pairs.c.requirement_id)
        .join(User, User.id == pairs.c.user_id)
        .outerjoin(Certificate, and_(Certificate.user_id == User.id,
                                     Certificate.certification_id == Requirement.certification_id,
                                     Certificate.cycle == live_cycle))
        .outerjoin(Exemption, and_(Exemption.user_id == User.id,
                                   Exemption.certification_id == Requirement.certification_id,
                                   or_(Exemption.expires_on.is_(None), Exemption.expires_on >= now.date())))
        .where(User.active.is_(True), *people, *(requirements or []))
    )


def state_of(columns, now: datetime) -> ColumnElement[str]:
    """The cell's state from the columns of `assignment_rows` (or their per-cell aggregates)."""
    holds = and_(columns.certificate_id.is_not(None),
                 or_(columns.expires_at.is_(None), columns.expires_at > now))
    return case(
        (columns.exemption_id.is_not(None), literal("exempt")),
        (and_(holds, columns.renewal_opens_at.is_not(None), columns.renewal_opens_at <= now),
         literal("expiring")),
        (holds, literal("valid")),
        (and_(columns.due.is_not(None), columns.due <= day_of(now)), literal("overdue")),
        (columns.certificate_id.is_not(None), literal("expired")),
        else_=literal("missing"),
    )


def today(now: datetime) -> date:
    return now.date()
