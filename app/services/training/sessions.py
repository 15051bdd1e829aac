"""Sessions: create, change (invitations updated in place), cancel; the calendar and the trainer's rights."""

from __future__ import annotations

import secrets
from datetime import date, datetime, timedelta

from sqlalchemy import Select, func, select
from sqlalchemy.orm import joinedload

from app.database import utcnow
from app.extensions import db
from app.models import CourseTrainingSettings, SessionRegistration, TrainingSession, User
from app.models.training import ATTENDANCE_RULES
from app.rules import display
from app.services import audit, locking
from app.services.errors import NotAllowed, ValidationError
from app.services.fields import isodate
from app.services.training import checks, invitations, registrations

# Changing any of these sends everyone registered an updated invitation (same UID, higher SEQUENCE).
INVITATION_FIELDS = ("starts_at", "ends_at", "timezone", "location", "online_url", "title")


def session_data(session: TrainingSession, *, taken: int | None = None) -> dict:
    """Public shape (API, webhooks): times in ISO 8601 UTC, the zone people see them in."""
    if taken is None:
        taken = registrations.registered_count(session)
    return {"id": session.id, "course_id": session.course_id,
            "course": {"id": session.course.id, "code": session.course.code, "title": session.course.title},
            "title": session.title, "starts_at": isodate(session.starts_at),
            "ends_at": isodate(session.ends_at),
            "timezone": session.timezone, "location": session.location, "online_url": session.online_url,
            "trainer_id": session.trainer_id, "capacity": session.capacity, "registered": taken,
            "registration_deadline": isodate(session.registration_deadline), "status": session.status,
            "sequence": session.sequence}


def _current(session: TrainingSession) -> dict:
    return {name: getattr(session, name) for name in checks.FIELDS}


def create_session(fields: dict, *, actor: audit.Actor) -> TrainingSession:
    values = checks.clean_session(fields)
    session = TrainingSession(uid=secrets.token_hex(16), status="scheduled", sequence=0, **values)
    db.session.add(session)
    db.session.flush()
    audit.record(actor, "session.created", "training_session", session.id,
                 f"Session of {session.course.code} on {display.moment(session.starts_at)}",
                 course_id=session.course_id)
    return session


def update_session(session: TrainingSession, fields: dict, *, actor: audit.Actor) -> TrainingSession:
    """Change a session. Time or place changes re-invite everyone registered; more places move the
    waitlist up; fewer places than people registered are refused."""
    locking.hold(session)
    if session.status == "cancelled":
        raise NotAllowed("This session was cancelled; schedule a new one instead.")
    values = checks.clean_session(fields, _current(session))
    taken = registrations.registered_count(session)
    if values["capacity"] < taken:
        raise ValidationError({"capacity": f"{taken} people are registered: cancel some registrations "
                                           "first."})
    changed = [name for name, value in values.items() if getattr(session, name) != value]
    if not changed:
        return session
    for name in changed:
        setattr(session, name, values[name])
    db.session.flush()
    db.session.expire(session, ["course", "trainer"])
    audit.record(actor, "session.updated", "training_session", session.id,
                 f"Session of {session.course.code} changed: {', '.join(changed)}", fields=changed)
    if any(name in INVITATION_FIELDS for name in changed):
        session.sequence += 1
        for registration in registrations.registered(session):
            invitations.send_invitation(registration, "updated")
    registrations.fill_from_waitlist(session, actor=actor)
    return session


def cancel_session(session: TrainingSession, *, actor: audit.Actor) -> TrainingSession:
    """Cancel the session: everyone registered gets METHOD:CANCEL (their calendars drop it), the
    waitlist a notice. Once: a second cancel changes nothing."""
    locking.hold(session)
    if session.status == "cancelled":
        return session
    session.status = "cancelled"
    session.sequence += 1
    audit.record(actor, "session.cancelled", "training_session", session.id,
                 f"Session of {session.course.code} on {display.moment(session.starts_at)} cancelled")
    for registration in registrations.active(session):
        was_registered = registration.status == "registered"
        registration.status = "cancelled"
        if was_registered:
            invitations.send_invitation(registration, "cancelled")
        else:
            invitations.send_waitlist_notice(registration, cancelled=True)
    db.session.flush()
    return session


def may_run(actor: User, session: TrainingSession) -> bool:
    """Mark attendance and show the check-in code: admins and the session's trainer."""
    return actor.role == "admin" or (session.trainer_id is not None and session.trainer_id == actor.id)


def require_runner(actor: User, session: TrainingSession) -> None:
    if not may_run(actor, session):
        raise NotAllowed("Only the session's trainer or an admin can do this.")


# --- reading ---------------------------------------------------------------------------------------


def session_query(*, course_id: int | None = None, start: datetime | None = None, end: datetime | None = None,
                  include_cancelled: bool = True) -> Select:
    stmt = (select(TrainingSession)
            .options(joinedload(TrainingSession.course), joinedload(TrainingSession.trainer))
            .order_by(TrainingSession.starts_at, TrainingSession.id))
    if course_id:
        stmt = stmt.where(TrainingSession.course_id == course_id)
    if start:
        stmt = stmt.where(TrainingSession.ends_at >= start)
    if end:
        stmt = stmt.where(TrainingSession.starts_at < end)
    if not include_cancelled:
        stmt = stmt.where(TrainingSession.status == "scheduled")
    return stmt


def calendar_range(view: str, anchor: date) -> tuple[datetime, datetime, date, date]:
    """(from, to, previous anchor, next anchor) of a month or ISO-week list around `anchor` (UTC days)."""
    from datetime import UTC

    if view == "week":
        first = anchor - timedelta(days=anchor.weekday())
        last = first + timedelta(days=7)
        previous, following = first - timedelta(days=7), last
    else:
        first = anchor.replace(day=1)
        last = (first + timedelta(days=32)).replace(day=1)
        previous, following = (first - timedelta(days=1)).replace(day=1), last
    as_moment = lambda d: datetime(d.year, d.month, d.day, tzinfo=UTC)  # noqa: E731
    return as_moment(first), as_moment(last), previous, following


def counts(session_ids: list[int]) -> dict[int, int]:
    """Registered people per session (one query for a list)."""
    if not session_ids:
        return {}
    rows = db.session.execute(select(SessionRegistration.session_id, func.count()).where(
        SessionRegistration.session_id.in_(session_ids), SessionRegistration.status == "registered")
        .group_by(SessionRegistration.session_id))
    return dict(rows.all())


def upcoming(now: datetime | None = None) -> Select:
    return session_query(start=now or utcnow(), include_cancelled=False)


def attendance_rule(course_id: int) -> str:
    row = db.session.get(CourseTrainingSettings, course_id)
    return row.attendance_rule if row else "none"


def set_attendance_rule(course_id: int, rule: object, *, actor: audit.Actor) -> str:
    if rule not in ATTENDANCE_RULES:
        raise ValidationError({"attendance_rule": "Choose none, one or all."})
    row = db.session.get(CourseTrainingSettings, course_id)
    if row is None:
        row = CourseTrainingSettings(course_id=course_id, attendance_rule="none")
        db.session.add(row)
    if row.attendance_rule != rule:
        row.attendance_rule = str(rule)
        audit.record(actor, "course.attendance_rule", "course", course_id,
                     f"Attendance completes the course: {rule}", rule=rule)
    db.session.flush()
    return row.attendance_rule
