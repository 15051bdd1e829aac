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
    # float8: EXTRACT gives numeric, whose arithmetic costs several times more over 400,000 cells.
    column = compiler.process(element.clauses, **kw)
    return f"(CAST(EXTRACT(EPOCH FROM {column}) AS DOUBLE PRECISION) / 86400.0)"


def day_of(moment: datetime) -> float:
    return moment.timestamp() / DAY_SECONDS


def moment_of(day: float | None) -> datetime | None:
    """A day number back to an aware UTC datetime (for display)."""
    return None if day is None else datetime.fromtimestamp(float(day) * DAY_SECONDS, UTC)


class _later(FunctionElement):  # noqa: N801 - reads like the SQL function it compiles to
    """The larger of two possibly-NULL numbers (NULL only when both are). PostgreSQL: GREATEST (it skips
    NULLs; each argument is computed once per row, which matters over 400,000 cells)."""

    type = Float()
    inherit_cache = True
    name = "later"


@compiles(_later, "postgresql")
def _later_postgresql(element, compiler, **kw) -> str:
    return f"GREATEST({compiler.process(element.clauses, **kw)})"


@compiles(_later)
def _later_portable(element, compiler, **kw) -> str:
    a, b = list(element.clauses)
    return compiler.process(case((a.is_(None), b), (b.is_(None), a), (a > b, a), else_=b), **kw)


def applies(people: list[ColumnElement[bool]]) -> Select:
    """(requirement_id, user_id, department_id, joined) of every assignment of an active person meeting
    `people` (conditions on User, applied inside each branch so a department's page never reads the
    whole organisation); departments through a recursive CTE over every department requirement."""
    base = (select(Requirement.id.label("requirement_id"), Requirement.department_id.label("department_id"))
            .where(Requirement.scope == "department"))
    tree = base.cte("requirement_departments", recursive=True)
    below = (select(tree.c.requirement_id, Department.id)
             .join(Department, Department.parent_id == tree.c.department_id)
             .join(Requirement, Requirement.id == tree.c.requirement_id)
             .where(Requirement.include_subdepartments.is_(True)))
    tree = tree.union(below)
    person = (User.id.label("user_id"), User.department_id, User.created_at.label("joined"),
              User.name.label("name"))
    wanted = (User.active.is_(True), *people)
    by_department = (select(tree.c.requirement_id, *person)
                     .join(User, User.department_id == tree.c.department_id).where(*wanted))
    by_title = (select(Requirement.id.label("requirement_id"), *person)
                .join(User, func.lower(User.job_title) == Requirement.job_title_key)
                .where(Requirement.scope == "job_title", *wanted))
    by_name = (select(requirement_people.c.requirement_id, *person)
               .join(Requirement, Requirement.id == requirement_people.c.requirement_id)
               .join(User, User.id == requirement_people.c.user_id)
               .where(Requirement.scope == "people", *wanted))
    return union_all(by_department, by_title, by_name)


def live_certificates(wide: bool = False):
    """The latest cycle of each person x certification that is not revoked. A subquery (for a department:
    index lookups per cell), or with `wide` a MATERIALIZED CTE on PostgreSQL: computed once over every
    certificate with a hash anti-join, then hash-joined to the organisation's cells (400,000 index
    lookups took seconds)."""
    newer = aliased(Certificate)
    newer_live = (select(newer.id).where(newer.user_id == Certificate.user_id,
                                         newer.certification_id == Certificate.certification_id,
                                         newer.revoked_at.is_(None), newer.cycle > Certificate.cycle)
                  .exists())
    stmt = (select(Certificate.id, Certificate.user_id, Certificate.certification_id, Certificate.expires_at,
                   Certificate.renewal_opens_at)
            .where(Certificate.revoked_at.is_(None), ~newer_live))
    if wide:
        return stmt.cte("live").prefix_with("MATERIALIZED", dialect="postgresql")
    return stmt.subquery("live")


ESCALATION_COLUMNS = ("escalate_learner_days", "escalate_manager_days", "escalate_admin_days")


def cell_rows(now: datetime, people: list[ColumnElement[bool]],
              requirements: list[ColumnElement[bool]] | None = None, *,
              per_requirement: bool = False, wide: bool = False) -> Select:
    """One row per cell (person x certification; with `per_requirement`, per requirement x person): the
    live certificate (the latest cycle not revoked, if any), the exemption in force (if any) and the due
    day. When several requirements ask one person for one certification, their assignments are grouped
    first (narrow rows): the earliest required-by day and the shortest `due_days` count (the strictest).
    `people` are conditions on User, `requirements` on Requirement; `wide`: most of the organisation
    (see live_certificates)."""
    pairs = applies(people).subquery("applies")
    start = _later(day_number(pairs.c.joined), day_number(Requirement.created_at))
    required_by = _later(case((Requirement.due_days.is_(None), null()), else_=start + Requirement.due_days),
                         case((Requirement.due_on.is_(None), null()),
                              else_=day_number(Requirement.due_on) + 1))
    keys = [pairs.c.user_id, Requirement.certification_id, pairs.c.name, pairs.c.department_id]
    wanted = requirements or []

    def rows(*columns, where=()) -> Select:
        return (select(*columns).select_from(pairs)
                .join(Requirement, Requirement.id == pairs.c.requirement_id).where(*wanted, *where))

    if per_requirement:  # a person meets a requirement once (one department, one title, one name row)
        grouped = rows(*keys, pairs.c.requirement_id, required_by.label("required_by"),
                       Requirement.due_days.label("grace"),
                       *(getattr(Requirement, name) for name in ESCALATION_COLUMNS)).subquery("cells")
    else:
        # Only certifications asked for by several requirements need grouping per person; the others'
        # rows are cells already (the usual case: no GROUP BY over the whole organisation).
        single = (select(Requirement.certification_id).group_by(Requirement.certification_id)
                  .having(func.count() == 1))
        plain = rows(*keys, required_by.label("required_by"), Requirement.due_days.label("grace"),
                     where=[Requirement.certification_id.in_(single)])
        several = rows(*keys, func.min(required_by).label("required_by"),
                       func.min(Requirement.due_days).label("grace"),
                       where=[Requirement.certification_id.not_in(single)]).group_by(*keys)
        grouped = union_all(plain, several).subquery("cells")
    live = live_certificates(wide)
    after_lapse = case((grouped.c.grace.is_(None), null()),
                       else_=day_number(live.c.expires_at) + grouped.c.grace)
    expired = and_(live.c.id.is_not(None), live.c.expires_at.is_not(None), live.c.expires_at <= now)
    due = case((expired, _later(grouped.c.required_by, after_lapse)), else_=grouped.c.required_by)
    return (
        select(grouped, live.c.id.label("certificate_id"), live.c.expires_at, live.c.renewal_opens_at,
               Exemption.id.label("exemption_id"), due.label("due"))
        .select_from(grouped)
        .outerjoin(live, and_(live.c.user_id == grouped.c.user_id,
                              live.c.certification_id == grouped.c.certification_id))
        .outerjoin(Exemption, and_(Exemption.user_id == grouped.c.user_id,
                                   Exemption.certification_id == grouped.c.certification_id,
                                   or_(Exemption.expires_on.is_(None), Exemption.expires_on >= now.date())))
    )


def state_of(columns, now: datetime) -> ColumnElement[str]:
    """The cell's state from the columns of `cell_rows`."""
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
