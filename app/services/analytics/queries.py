"""The SQL behind every analytics figure: set-based statements (GROUP BY, COUNT, SUM, AVG), never loops.

Each builder returns a `Select`; `app.services.analytics.figures` runs them and shapes the (few)
aggregate rows.
Filters narrow through `IN (subquery)` conditions so every statement composes them the same way.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Select, case, func, select
from sqlalchemy.sql.elements import ColumnElement

from app.models import (
    Certificate,
    Certification,
    Completion,
    Course,
    Department,
    EngagementCounter,
    Enrollment,
    User,
    certification_courses,
)
from app.services.accounts import users
from app.services.analytics.filters import Filters, month_bucket

EXPIRY_BUCKETS = (30, 60, 90)


def held(now: datetime) -> ColumnElement[bool]:
    """The certificate counts as held at `now`: not revoked, not expired (valid or expiring)."""
    not_expired = Certificate.expires_at.is_(None) | (Certificate.expires_at > now)
    return Certificate.revoked_at.is_(None) & not_expired


def _people(f: Filters, user_id) -> list[ColumnElement[bool]]:
    """The person in `user_id` is in the chosen department (or one below it) and in the viewer's scope."""
    conditions: list[ColumnElement[bool]] = []
    if f.department:
        conditions.append(users.in_department(user_id, f.department))
    if f.departments is not None:
        conditions.append(user_id.in_(select(User.id).where(User.department_id.in_(sorted(f.departments)))))
    return conditions


def _department_name():
    return Department.name.label("department")


def _certifications_in(category: str) -> Select:
    return (select(certification_courses.c.certification_id)
            .join(Course, Course.id == certification_courses.c.course_id).where(Course.category == category))


def certificate_scope(f: Filters, *, dates: bool = True) -> list[ColumnElement[bool]]:
    """Conditions on certificates: issued in the date range (when `dates`), certification, holder's
    department, and category (the certification requires a course of that category)."""
    conditions: list[ColumnElement[bool]] = []
    if dates and f.start:
        conditions.append(Certificate.issued_at >= f.start)
    if dates and f.end:
        conditions.append(Certificate.issued_at < f.end)
    if f.certification_id:
        conditions.append(Certificate.certification_id == f.certification_id)
    conditions.extend(_people(f, Certificate.user_id))
    if f.category:
        conditions.append(Certificate.certification_id.in_(_certifications_in(f.category)))
    return conditions


def course_scope(f: Filters, user_id, course_id) -> list[ColumnElement[bool]]:
    """Conditions on enrollment-like rows: the learner's department, the course's category, and the course
    being required by the chosen certification."""
    conditions: list[ColumnElement[bool]] = []
    conditions.extend(_people(f, user_id))
    if f.category:
        conditions.append(course_id.in_(select(Course.id).where(Course.category == f.category)))
    if f.certification_id:
        required = select(certification_courses.c.course_id).where(
            certification_courses.c.certification_id == f.certification_id)
        conditions.append(course_id.in_(required))
    return conditions


def _in_range(column, f: Filters) -> list[ColumnElement[bool]]:
    conditions = []
    if f.start:
        conditions.append(column >= f.start)
    if f.end:
        conditions.append(column < f.end)
    return conditions


# -- charts ---------------------------------------------------------------------------------------------

def issued_per_month(f: Filters, start: datetime, end: datetime) -> Select:
    """(month bucket, certificates issued) for issue dates in [start, end)."""
    bucket = month_bucket(Certificate.issued_at)
    return (select(bucket.label("month"), func.count().label("issued"))
            .where(*certificate_scope(f, dates=False),
                   Certificate.issued_at >= start, Certificate.issued_at < end)
            .group_by(bucket))


def _per_certification(f: Filters):
    return (select(Certificate.certification_id, func.count().label("n"))
            .where(*certificate_scope(f)).group_by(Certificate.certification_id).subquery("per_certification"))


def by_certification(f: Filters) -> Select:
    """(certification id, name, certificates issued), most first."""
    counts = _per_certification(f)
    return (select(Certification.id, Certification.name, counts.c.n)
            .join(counts, counts.c.certification_id == Certification.id)
            .order_by(counts.c.n.desc(), Certification.name))


def status_breakdown(f: Filters, now: datetime) -> Select:
    """(derived status, certificates). Grouped over a subquery: the status CASE carries bound parameters."""
    inner = select(Certificate.status_case(now).label("status")).where(*certificate_scope(f)).subquery("s")
    return select(inner.c.status, func.count().label("n")).group_by(inner.c.status)


def by_department(f: Filters) -> Select:
    """(holder's department or None, certificates), most first."""
    return (select(_department_name(), func.count().label("n"))
            .select_from(Certificate).join(User, User.id == Certificate.user_id)
            .outerjoin(Department, Department.id == User.department_id)
            .where(*certificate_scope(f)).group_by(Department.name)
            .order_by(func.count().desc(), Department.name))


def by_category(f: Filters) -> Select:
    """(course category or None, certificates). A certificate counts once under each category its
    certification requires a course of, so the categories can add up to more than the certificates."""
    counts = _per_certification(f)
    pairs = (select(certification_courses.c.certification_id, Course.category)
             .join(Course, Course.id == certification_courses.c.course_id).distinct().subquery("pairs"))
    total = func.sum(counts.c.n)
    return (select(pairs.c.category, total.label("n"))
            .join(counts, counts.c.certification_id == pairs.c.certification_id)
            .group_by(pairs.c.category).order_by(total.desc(), pairs.c.category))


def _completion_counts():
    return (func.count(case((Enrollment.status == "completed", 1))).label("completed"),
            func.count(case((Enrollment.status != "withdrawn", 1))).label("enrolled"))


def completion_by_course(f: Filters) -> Select:
    """(course id, code, title, completed, enrolled) where enrolled excludes withdrawals; the date range
    applies to the enrolment date."""
    completed, enrolled = _completion_counts()
    counts = (select(Enrollment.course_id, completed, enrolled)
              .where(*course_scope(f, Enrollment.user_id, Enrollment.course_id),
                     *_in_range(Enrollment.created_at, f))
              .group_by(Enrollment.course_id).subquery("per_course"))
    return (select(Course.id, Course.code, Course.title, counts.c.completed, counts.c.enrolled)
            .join(counts, counts.c.course_id == Course.id)
            .order_by(counts.c.enrolled.desc(), Course.code))


def completion_by_department(f: Filters) -> Select:
    """(department or None, completed, enrolled) over enrolments, like `completion_by_course`."""
    completed, enrolled = _completion_counts()
    return (select(_department_name(), completed, enrolled)
            .select_from(Enrollment).join(User, User.id == Enrollment.user_id)
            .outerjoin(Department, Department.id == User.department_id)
            .where(*course_scope(f, Enrollment.user_id, Enrollment.course_id),
                   *_in_range(Enrollment.created_at, f))
            .group_by(Department.name).order_by(enrolled.desc(), Department.name))


def engagement(f: Filters, start: datetime, end: datetime) -> Select:
    """(month bucket, kind, total) of the daily counters for days in [start, end)."""
    first_day = start.date()
    after_last = (end - timedelta(microseconds=1)).date() + timedelta(days=1)
    bucket = month_bucket(EngagementCounter.day)
    total = func.sum(EngagementCounter.count).label("n")
    stmt = (select(bucket.label("month"), EngagementCounter.kind, total)
            .where(EngagementCounter.day >= first_day, EngagementCounter.day < after_last)
            .group_by(bucket, EngagementCounter.kind))
    if f.narrows_certificates:  # a join, not IN (...): the planner hashes the (few) matching certificates
        stmt = (stmt.join(Certificate, Certificate.id == EngagementCounter.certificate_id)
                .where(*certificate_scope(f, dates=False)))
    return stmt


# -- tables ---------------------------------------------------------------------------------------------

def top_performers(f: Filters, now: datetime, limit: int | None) -> Select:
    """(user id, name, email, department, certificates held, average score) best first.

    Held certificates are counted per holder in SQL (a CTE). The average score (completed enrolments in
    scope) is aggregated only for the candidates: holders whose count reaches the `limit`-th best, so ties
    at the cut-off are still ordered by score without averaging every learner's enrolments.
    """
    held_counts = (select(Certificate.user_id, func.count().label("held"))
                   .where(held(now), *certificate_scope(f)).group_by(Certificate.user_id).cte("held_counts"))
    candidates = select(held_counts.c.user_id)
    if limit is not None:
        cutoff = (select(held_counts.c.held).order_by(held_counts.c.held.desc())
                  .offset(limit - 1).limit(1).scalar_subquery())
        candidates = candidates.where(held_counts.c.held >= func.coalesce(cutoff, 0))
    scores = (select(Enrollment.user_id, func.avg(Enrollment.score).label("avg_score"))
              .where(Enrollment.user_id.in_(candidates), Enrollment.status == "completed",
                     Enrollment.score.is_not(None),
                     *course_scope(Filters(certification_id=f.certification_id, category=f.category),
                                   Enrollment.user_id, Enrollment.course_id),
                     *_in_range(Enrollment.completed_at, f))
              .group_by(Enrollment.user_id).subquery("scores"))
    stmt = (select(User.id, User.name, User.email, _department_name(), held_counts.c.held, scores.c.avg_score)
            .outerjoin(Department, Department.id == User.department_id)
            .join(held_counts, held_counts.c.user_id == User.id)
            .outerjoin(scores, scores.c.user_id == User.id)
            .where(User.id.in_(candidates))
            .order_by(held_counts.c.held.desc(), scores.c.avg_score.desc().nulls_last(), User.name, User.id))
    return stmt.limit(limit) if limit is not None else stmt


def recent_completions(f: Filters, limit: int | None) -> Select:
    """(completed at, name, email, department, course code, course title, score), newest first."""
    stmt = (select(Completion.completed_at, User.name, User.email, _department_name(), Course.code,
                   Course.title, Completion.score)
            .join(User, User.id == Completion.user_id).join(Course, Course.id == Completion.course_id)
            .outerjoin(Department, Department.id == User.department_id)
            .where(*course_scope(f, Completion.user_id, Completion.course_id),
                   *_in_range(Completion.completed_at, f))
            .order_by(Completion.completed_at.desc(), Completion.id.desc()))
    return stmt.limit(limit) if limit is not None else stmt


def _expiry_bucket(now: datetime):
    return case((Certificate.expires_at <= now + timedelta(days=30), 30),
                (Certificate.expires_at <= now + timedelta(days=60), 60), else_=90)


def _expiring_conditions(f: Filters, now: datetime) -> list[ColumnElement[bool]]:
    return [Certificate.revoked_at.is_(None), Certificate.expires_at > now,
            Certificate.expires_at <= now + timedelta(days=EXPIRY_BUCKETS[-1]),
            *certificate_scope(f, dates=False)]


def expiring_summary(f: Filters, now: datetime) -> Select:
    """(bucket 30|60|90, certificates) for held certificates expiring within 90 days."""
    inner = select(_expiry_bucket(now).label("bucket")).where(*_expiring_conditions(f, now)).subquery("e")
    return select(inner.c.bucket, func.count().label("n")).group_by(inner.c.bucket)


def expiring(f: Filters, now: datetime, limit: int | None) -> Select:
    """(expires at, within days, serial, name, email, department, certification), soonest first."""
    stmt = (select(Certificate.expires_at, _expiry_bucket(now).label("within"), Certificate.serial, User.name,
                   User.email, _department_name(), Certification.name.label("certification"))
            .join(User, User.id == Certificate.user_id)
            .outerjoin(Department, Department.id == User.department_id)
            .join(Certification, Certification.id == Certificate.certification_id)
            .where(*_expiring_conditions(f, now)).order_by(Certificate.expires_at, Certificate.id))
    return stmt.limit(limit) if limit is not None else stmt
