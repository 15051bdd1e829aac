"""Registering for a session, cancelling, and the waitlist moving up (first come, first served).

Every change starts with `locking.hold(session)`: registrations and cancellations of one session take
turns, so two cancellations at once move exactly two people up, never the same one twice, and a full
session is never overbooked.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Select, func, select
from sqlalchemy.orm import joinedload

from app.database import utcnow
from app.extensions import db
from app.models import SessionRegistration, TrainingSession, User
from app.rules import display
from app.services import audit, events, locking
from app.services.accounts import scope
from app.services.errors import NotAllowed, ValidationError
from app.services.fields import isodate
from app.services.training import invitations

REMINDER_BEFORE = timedelta(hours=24)


def registration_data(registration: SessionRegistration) -> dict:
    """Public shape (API, webhooks)."""
    session = registration.session
    return {"id": registration.id, "session_id": registration.session_id, "user_id": registration.user_id,
            "status": registration.status, "attendance": registration.attendance,
            "checked_in_via": registration.checked_in_via,
            "attendance_marked_at": isodate(registration.attendance_marked_at),
            "registered_at": isodate(registration.queued_at),
            "course": {"id": session.course.id, "code": session.course.code, "title": session.course.title},
            "starts_at": isodate(session.starts_at), "ends_at": isodate(session.ends_at)}


def registered_count(session: TrainingSession) -> int:
    return db.session.scalar(select(func.count()).where(
        SessionRegistration.session_id == session.id, SessionRegistration.status == "registered")) or 0


def _of(session: TrainingSession, *statuses: str) -> list[SessionRegistration]:
    return list(db.session.scalars(
        select(SessionRegistration).options(joinedload(SessionRegistration.user))
        .where(SessionRegistration.session_id == session.id, SessionRegistration.status.in_(statuses))
        .order_by(SessionRegistration.queued_at, SessionRegistration.id)))


def registered(session: TrainingSession) -> list[SessionRegistration]:
    return _of(session, "registered")


def active(session: TrainingSession) -> list[SessionRegistration]:
    return _of(session, "registered", "waitlisted")


def find(session: TrainingSession, user: User) -> SessionRegistration | None:
    return db.session.scalar(select(SessionRegistration).where(
        SessionRegistration.session_id == session.id, SessionRegistration.user_id == user.id))


def register(user: User, session: TrainingSession, *, actor: User | str, now: datetime | None = None
             ) -> SessionRegistration:
    """A place in the session, or on its waitlist when it is full. Someone registering another person
    must manage them (admins; managers for their departments); the registration deadline binds learners."""
    now = now or utcnow()
    for_someone_else = not isinstance(actor, User) or actor.id != user.id
    if for_someone_else and isinstance(actor, User) and not scope.can_manage_user(actor, user):
        raise ValidationError({"user_id": "No such person."})
    if not user.active:
        raise ValidationError({"user_id": f"{user.name} is deactivated."})
    locking.hold(session)
    if session.status != "scheduled":
        raise NotAllowed("This session was cancelled.")
    if session.starts_at <= now:
        raise NotAllowed("This session has started: registration is closed.")
    if not for_someone_else and session.registration_deadline and session.registration_deadline < now:
        raise NotAllowed("Registration for this session has closed.")
    registration = find(session, user)
    if registration is not None and registration.status != "cancelled":
        raise ValidationError({"user_id": f"{user.name} is already on this session's list."})
    if registration is None:
        registration = SessionRegistration(session_id=session.id, user_id=user.id, status="waitlisted")
        registration.session, registration.user = session, user
        db.session.add(registration)
    registration.queued_at = now
    registration.attendance = registration.attendance_marked_at = registration.checked_in_via = None
    # Starting within a day: the invitation is the reminder.
    registration.reminded_at = now if session.starts_at - now <= REMINDER_BEFORE else None
    full = registered_count(session) >= session.capacity
    registration.status = "waitlisted" if full else "registered"
    db.session.flush()
    audit.record(actor, "session.waitlisted" if full else "session.registered", "session_registration",
                 registration.id, f"{user.email} {'on the waitlist of' if full else 'registered for'} "
                 f"{session.course.code} on {display.moment(session.starts_at)}", session_id=session.id,
                 user_id=user.id)
    if full:
        invitations.send_waitlist_notice(registration, cancelled=False)
    else:
        _confirmed(registration)
    return registration


def _confirmed(registration: SessionRegistration) -> None:
    invitations.send_invitation(registration, "new")
    events.emit("session.registered", registration_data(registration))


def cancel(registration: SessionRegistration, *, actor: User | str, now: datetime | None = None
           ) -> SessionRegistration:
    """Give the place back (their calendar gets METHOD:CANCEL) and move the waitlist up. Once."""
    now = now or utcnow()
    session = registration.session
    locking.hold(session)
    db.session.refresh(registration)
    if registration.status == "cancelled":
        return registration
    if registration.attendance is not None:
        raise NotAllowed("Attendance is recorded for this registration; it can no longer be cancelled.")
    if session.ends_at <= now:
        raise NotAllowed("This session is over.")
    was_registered = registration.status == "registered"
    registration.status = "cancelled"
    db.session.flush()
    audit.record(actor, "session.registration_cancelled", "session_registration", registration.id,
                 f"{registration.user.email} cancelled {session.course.code} on "
                 f"{display.moment(session.starts_at)}",
                 session_id=session.id, user_id=registration.user_id)
    if was_registered:
        invitations.send_invitation(registration, "cancelled")
        fill_from_waitlist(session, actor="system", now=now)
    return registration


def fill_from_waitlist(session: TrainingSession, *, actor: User | str, now: datetime | None = None) -> int:
    """Move the longest-waiting people up while there are free places; the caller holds the session."""
    now = now or utcnow()
    if session.status != "scheduled" or session.starts_at <= now:
        return 0
    free = session.capacity - registered_count(session)
    moved = 0
    for registration in _of(session, "waitlisted")[:max(free, 0)]:
        registration.status = "registered"
        registration.reminded_at = now if session.starts_at - now <= REMINDER_BEFORE else None
        db.session.flush()
        audit.record(actor, "session.promoted", "session_registration", registration.id,
                     f"{registration.user.email} moved up from the waitlist of {session.course.code}",
                     session_id=session.id, user_id=registration.user_id)
        _confirmed(registration)
        moved += 1
    return moved


# --- reading ---------------------------------------------------------------------------------------


def session_registrations(session: TrainingSession, viewer: User | None) -> Select:
    """Everyone on the session's list the viewer may see (managers: their departments; None: the session's
    trainer or an admin, who see everyone), in list order."""
    stmt = (select(SessionRegistration).options(joinedload(SessionRegistration.user))
            .where(SessionRegistration.session_id == session.id)
            .order_by(SessionRegistration.status != "registered", SessionRegistration.queued_at,
                      SessionRegistration.id))
    return stmt if viewer is None else scope.restrict(stmt, SessionRegistration.user_id, viewer)


def my_registrations(user: User, *, past: bool = False, now: datetime | None = None) -> Select:
    now = now or utcnow()
    stmt = (select(SessionRegistration).join(SessionRegistration.session)
            .options(joinedload(SessionRegistration.session).joinedload(TrainingSession.course))
            .where(SessionRegistration.user_id == user.id, SessionRegistration.status != "cancelled"))
    if past:
        return stmt.where(TrainingSession.ends_at < now).order_by(TrainingSession.starts_at.desc())
    return stmt.where(TrainingSession.ends_at >= now).order_by(TrainingSession.starts_at)


def waitlist_position(registration: SessionRegistration) -> int | None:
    if registration.status != "waitlisted":
        return None
    ahead = db.session.scalar(select(func.count()).where(
        SessionRegistration.session_id == registration.session_id, SessionRegistration.status == "waitlisted",
        (SessionRegistration.queued_at < registration.queued_at)
        | ((SessionRegistration.queued_at == registration.queued_at)
           & (SessionRegistration.id < registration.id))))
    return (ahead or 0) + 1
