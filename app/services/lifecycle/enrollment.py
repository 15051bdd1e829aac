"""Enrollments and completions. A completion runs issuing.evaluate for the learner."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from app.database import utcnow
from app.extensions import db
from app.models import ENROLLMENT_STATUSES, Certificate, Certification, Completion, Course, Enrollment, User
from app.models import certification_courses as cc
from app.rules import completion_dates
from app.services import audit, events, locking
from app.services.accounts import scope
from app.services.errors import NotAllowed, ValidationError
from app.services.fields import check_fields, clean_int, clean_score, isodate, like_pattern
from app.services.lifecycle import issuing

EDITABLE = ("status", "progress", "score", "completed_at")
# Statuses that would move a completed enrollment back: only an explicit admin action may (`reopen=True`).
REOPENING = ("enrolled", "in_progress")


class ReopenRefused(NotAllowed):
    """An update would move a completed enrollment back to enrolled/in progress without `reopen`: from an
    automated source that is an old or replayed message, and a newer state must never regress."""


def reopens(enrollment: Enrollment, status: str | None) -> bool:
    """Would setting `status` move this completed enrollment back?"""
    return enrollment.status == "completed" and status in REOPENING


def enrollment_data(enrollment: Enrollment) -> dict:
    """Public shape: {id, user_id, course_id, status, progress, score, completed_at (ISO 8601 UTC)}."""
    return {"id": enrollment.id, "user_id": enrollment.user_id, "course_id": enrollment.course_id,
            "status": enrollment.status, "progress": enrollment.progress, "score": enrollment.score,
            "completed_at": isodate(enrollment.completed_at)}


def enrollment_query(course_id: int | None = None, user_id: int | None = None, status: str = "",
                     search: str = "", viewer: User | None = None) -> Select:
    """A select of enrollments, newest first (`search` matches the learner's name/email; `viewer`: only
    the learners that user may see, app/services/accounts/scope.py)."""
    stmt = (select(Enrollment)
            .options(joinedload(Enrollment.user), joinedload(Enrollment.course))
            .order_by(Enrollment.created_at.desc(), Enrollment.id.desc()))
    if course_id:
        stmt = stmt.where(Enrollment.course_id == course_id)
    if user_id:
        stmt = stmt.where(Enrollment.user_id == user_id)
    if status:
        stmt = stmt.where(Enrollment.status == status)
    if search.strip():
        pattern = like_pattern(search)
        # A subquery, not a join: counting pages must not hash-join every user.
        stmt = stmt.where(Enrollment.user_id.in_(select(User.id).where(or_(
            func.lower(User.name).like(pattern, escape="\\"), User.email.like(pattern, escape="\\")))))
    if viewer is not None:
        stmt = scope.restrict(stmt, Enrollment.user_id, viewer)
    return stmt


def _find(user: User, course: Course) -> Enrollment | None:
    return db.session.scalar(select(Enrollment).where(Enrollment.user_id == user.id,
                                                      Enrollment.course_id == course.id))


def _check_capacity(course: Course) -> None:
    if course.capacity is None:
        return
    taken = db.session.scalar(select(func.count(Enrollment.id)).where(
        Enrollment.course_id == course.id, Enrollment.status != "withdrawn"))
    if taken >= course.capacity:
        raise ValidationError({"course_id": f"{course.code} is full ({course.capacity} places)."})


def _create(user: User, course: Course, *, actor: audit.Actor, source: str) -> Enrollment:
    """Insert the row; a concurrent duplicate becomes a ValidationError, never a 500."""
    enrollment = Enrollment(user_id=user.id, course_id=course.id, source=source, status="enrolled")
    enrollment.user, enrollment.course = user, course
    try:
        with db.session.begin_nested():
            db.session.add(enrollment)
            db.session.flush()
    except IntegrityError:
        raise ValidationError({"user_id": f"{user.name} is already enrolled in {course.code}."}) from None
    announce_created(enrollment, actor=actor, source=source)
    return enrollment


def announce_created(enrollment: Enrollment, *, actor: audit.Actor, source: str,
                     as_created: bool = False) -> None:
    """The audit entry and event of a new enrollment (flushed: it has its id). `as_created`: a bulk
    import inserted it already completed; the event still shows it as it was created (enrolled)."""
    user, course = enrollment.user, enrollment.course
    audit.record(actor, "enrollment.created", "enrollment", enrollment.id,
                 f"{user.email} enrolled in {course.code}", source=source, user_id=user.id,
                 course_id=course.id)
    data = enrollment_data(enrollment)
    if as_created:
        data.update(status="enrolled", progress=0, score=None, completed_at=None)
    events.emit("enrollment.created", data)


def enroll(user: User, course: Course, *, actor: audit.Actor, source: str = "manual") -> Enrollment:
    """Enroll a learner. ValidationError for a duplicate, a full course or an archived course.

    A withdrawn enrollment is re-opened (status back to enrolled) rather than refused.
    """
    locking.hold(course)  # concurrent enrollments in one course take turns: capacity and re-opening hold
    if course.archived:
        raise ValidationError({"course_id": f"{course.code} is archived: no new enrollments."})
    existing = _find(user, course)
    if existing is not None and existing.status != "withdrawn":
        raise ValidationError({"user_id": f"{user.name} is already enrolled in {course.code}."})
    _check_capacity(course)
    if existing is None:
        return _create(user, course, actor=actor, source=source)
    existing.status = "enrolled"
    db.session.flush()
    audit.record(actor, "enrollment.reopened", "enrollment", existing.id,
                 f"{user.email} enrolled again in {course.code}", source=source)
    return existing


def enroll_many(user_ids: list[int], course: Course, *,
                actor: audit.Actor) -> tuple[list[Enrollment], dict[int, str]]:
    """Enroll several learners; returns (created enrollments, {user_id: error message})."""
    users = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(set(user_ids))))}
    created, errors = [], {}
    for user_id in dict.fromkeys(user_ids):
        user = users.get(user_id)
        if user is None:
            errors[user_id] = f"No user with id {user_id}."
            continue
        try:
            created.append(enroll(user, course, actor=actor))
        except ValidationError as exc:
            errors[user_id] = next(iter(exc.errors.values()))
    return created, errors


def _clean_datetime(value: object) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
        except ValueError:
            raise ValueError("Use a date and time like 2026-03-31T14:00:00Z.") from None
    return completion_dates.check(moment)


def _clean(fields: dict) -> dict:
    checks = {
        "status": _status,
        "progress": lambda v: clean_int(v, minimum=0, maximum=100, default=0),
        "score": clean_score,
        "completed_at": _clean_datetime,
    }
    values, errors = check_fields(fields, checks)
    if errors:
        raise ValidationError(errors)
    return values


def _status(value: object) -> str:
    status = str(value or "").strip().lower()
    if status not in ENROLLMENT_STATUSES:
        raise ValueError(f"Status must be one of {', '.join(ENROLLMENT_STATUSES)}.")
    return status


def update_enrollment(enrollment: Enrollment, fields: dict, *, actor: audit.Actor,
                      source: str = "manual", reopen: bool = False) -> list[Certificate]:
    """Change status/progress/score/completed_at (only given keys). Becoming completed records a
    Completion and runs issuing.evaluate; returns the newly issued certificates.

    Moving a completed enrollment back to enrolled/in progress raises ReopenRefused unless `reopen` (an
    admin's explicit action in the console, or `reopen: true` in the API)."""
    values = _clean({k: v for k, v in fields.items() if k in EDITABLE})
    # Identical requests at once (20 parallel "completed" PATCHes) take turns here, and each decides on
    # the state the previous one committed: one completion, one event. The learner first, as everywhere
    # (issuing.lock_learner), so the two locks are always taken in the same order.
    issuing.lock_learner(enrollment.user)
    locking.hold(enrollment)
    status = values.get("status", enrollment.status)
    if reopens(enrollment, status) and not reopen:
        raise ReopenRefused(
            f"The enrollment of {enrollment.user.email} in {enrollment.course.code} is completed: "
            "only an explicit admin action can reopen it.")
    if status == "completed" and (enrollment.status != "completed" or "completed_at" in values):
        return _complete(enrollment, score=values.get("score", enrollment.score),
                         completed_at=values.get("completed_at"), actor=actor, source=source)
    changes = {k: v for k, v in values.items() if getattr(enrollment, k) != v}
    if not changes:
        return []
    for key, value in changes.items():
        setattr(enrollment, key, value)
    if status == "completed" and "score" in changes and enrollment.completions:
        max(enrollment.completions, key=lambda c: c.completed_at).score = changes["score"]  # corrected mark
    db.session.flush()
    audit.record(actor, "enrollment.updated", "enrollment", enrollment.id,
                 f"Enrollment of {enrollment.user.email} in {enrollment.course.code} updated",
                 changes={k: isodate(v) if isinstance(v, datetime) else v for k, v in changes.items()})
    if changes.get("status") == "withdrawn":
        events.emit("enrollment.withdrawn", enrollment_data(enrollment))
    return issuing.evaluate(enrollment.user, actor=actor) if status == "completed" else []


@dataclass
class Recorded:
    """What `apply_completion` did: `completion` is None when it was recorded already (nothing changed)."""

    enrollment: Enrollment
    completion: Completion | None
    certificates: list[Certificate]


def record_completion(user: User, course: Course, *, score: float | None = None,
                      completed_at: datetime | None = None, actor: audit.Actor,
                      source: str = "manual", now: datetime | None = None) -> list[Certificate]:
    """Record a completion from any source (CSV, API, webhook, Moodle), enrolling if needed.

    Idempotent: the same (enrollment, completed_at) twice is one Completion. Capacity and archiving do not
    apply: the learner did complete. `now` is the issuing clock (demo data and tests). Returns new
    certificates.
    """
    return apply_completion(user, course, score=score, completed_at=completed_at, actor=actor, source=source,
                            now=now).certificates


def apply_completion(user: User, course: Course, *, score: float | None = None,
                     completed_at: datetime | None = None, actor: audit.Actor,
                     source: str = "manual", now: datetime | None = None, locked: bool = False,
                     evaluate: bool = True) -> Recorded:
    """`record_completion`, also telling whether the completion was new (syncs count it).

    `locked`: this transaction holds `issuing.lock_learner(user)` already (a sync taking it once).
    `evaluate=False`: the caller evaluates the learner later in this transaction, once for all their
    completions (`issuing.evaluate_many` at the end of a sync), holding the lock until then."""
    values = _clean({"score": score, "completed_at": completed_at})
    if not locked:
        issuing.lock_learner(user)  # first: concurrent completions for one learner take turns (no deadlock)
    enrollment = _find(user, course)
    fresh = enrollment is None
    if fresh:
        enrollment = _create(user, course, actor=actor, source=source)
    completion, issued = _record(enrollment, score=values["score"], completed_at=values["completed_at"],
                                 actor=actor, source=source, now=now, fresh=fresh, evaluate=evaluate)
    return Recorded(enrollment, completion, issued)


def _complete(enrollment: Enrollment, *, score: float | None, completed_at: datetime | None,
              actor: audit.Actor, source: str, now: datetime | None = None) -> list[Certificate]:
    issuing.lock_learner(enrollment.user)
    return _record(enrollment, score=score, completed_at=completed_at, actor=actor, source=source, now=now)[1]


def _record(enrollment: Enrollment, *, score: float | None, completed_at: datetime | None,
            actor: audit.Actor, source: str, now: datetime | None = None,
            fresh: bool = False, evaluate: bool = True) -> tuple[Completion | None, list[Certificate]]:
    """Add the completion and evaluate; the caller holds the learner lock (`issuing.lock_learner`)."""
    completed_at = completed_at or now or utcnow()
    completion = _add_completion(enrollment, score, completed_at, source, fresh=fresh)
    if completion is None:
        return None, []  # already recorded (a retry or a re-import): nothing changes
    mark_completed(enrollment, score, completed_at)
    db.session.flush()
    announce_completed(enrollment, score, completed_at, actor=actor, source=source)
    if not evaluate:
        return completion, []
    return completion, issuing.evaluate(enrollment.user, actor=actor, now=now, locked=True)


def mark_completed(enrollment: Enrollment, score: float | None, completed_at: datetime) -> None:
    """The enrollment after a new completion: completed, its latest date, the latest completion's score."""
    latest = max(completed_at, enrollment.completed_at or completed_at)
    enrollment.status, enrollment.progress, enrollment.completed_at = "completed", 100, latest
    if latest == completed_at:
        enrollment.score = score


def announce_completed(enrollment: Enrollment, score: float | None, completed_at: datetime, *,
                       actor: audit.Actor, source: str) -> None:
    """The audit entry and event of a recorded completion (the enrollment flushed)."""
    audit.record(actor, "enrollment.completed", "enrollment", enrollment.id,
                 f"{enrollment.user.email} completed {enrollment.course.code}", source=source, score=score,
                 completed_at=isodate(completed_at))
    events.emit("enrollment.completed", enrollment_data(enrollment))


def _add_completion(enrollment: Enrollment, score: float | None, completed_at: datetime,
                    source: str, *, fresh: bool = False) -> Completion | None:
    """Insert the completion unless (enrollment, completed_at) exists. `fresh`: the enrollment was created
    in this transaction, so no other transaction can have (or be adding) a completion for it: no check,
    no savepoint."""
    if not fresh:
        exists = db.session.scalar(select(Completion.id).where(Completion.enrollment_id == enrollment.id,
                                                               Completion.completed_at == completed_at))
        if exists is not None:
            return None
    completion = Completion(enrollment_id=enrollment.id, user_id=enrollment.user_id,
                            course_id=enrollment.course_id, completed_at=completed_at, score=score,
                            source=source)
    if fresh:
        db.session.add(completion)
    else:
        try:
            with db.session.begin_nested():
                db.session.add(completion)
                db.session.flush()
        except IntegrityError:  # the same completion arriving concurrently
            return None
    if "completions" in enrollment.__dict__:  # keep an already-loaded collection true (issuing reads it)
        enrollment.completions.append(completion)
    return completion


def withdraw(enrollment: Enrollment, *, actor: audit.Actor) -> None:
    """Set the enrollment to withdrawn (its completions no longer count)."""
    update_enrollment(enrollment, {"status": "withdrawn"}, actor=actor)


@dataclass
class RowOutcome:
    """What a completed enrollment led to for one active certification requiring its course: the
    certificate held (its link stays on the row, not only in a one-off message), or why there is none
    because of the score."""

    certification: str
    certificate: Certificate | None = None
    score: float | None = None
    min_score: float | None = None

    @property
    def below_minimum(self) -> bool:
        return self.certificate is None and self.min_score is not None


def row_outcomes(enrollments: list[Enrollment]) -> dict[int, list[RowOutcome]]:
    """Per completed enrollment id: the certificates its course counts towards (latest of each), and the
    certifications whose minimum score it misses. Two queries for a whole page of rows."""
    done = [e for e in enrollments if e.status == "completed"]
    if not done:
        return {}
    pairs = db.session.execute(
        select(cc.c.course_id, Certification).join(Certification, Certification.id == cc.c.certification_id)
        .where(cc.c.course_id.in_({e.course_id for e in done}), Certification.status == "active")
        .order_by(Certification.name)).all()
    by_course: dict[int, list] = {}
    for course_id, cert in pairs:
        by_course.setdefault(course_id, []).append(cert)
    held: dict[tuple[int, int], Certificate] = {}
    if pairs:
        rows = db.session.scalars(select(Certificate).where(
            Certificate.user_id.in_({e.user_id for e in done}),
            Certificate.certification_id.in_({c.id for _, c in pairs})).order_by(Certificate.cycle))
        held = {(c.user_id, c.certification_id): c for c in rows}  # the latest cycle wins
    outcomes: dict[int, list[RowOutcome]] = {}
    for e in done:
        for cert in by_course.get(e.course_id, []):
            certificate = held.get((e.user_id, cert.id))
            if certificate is not None:
                outcomes.setdefault(e.id, []).append(RowOutcome(cert.name, certificate=certificate))
            elif cert.min_score is not None and (e.score is None or e.score < cert.min_score):
                outcomes.setdefault(e.id, []).append(
                    RowOutcome(cert.name, score=e.score, min_score=cert.min_score))
    return outcomes
