"""Attendance: the trainer marks it, or learners check in with the QR code the trainer shows.

The QR code encodes a check-in link whose token is signed (itsdangerous, the app's secret key) over the
session id and the current minute: it rotates every 60 seconds and is accepted for at most two minutes,
so a photo of an old code passed around later is refused. Check-in needs the learner signed in and
registered, within the session window (30 minutes before the start to the end).

Attending can complete the course's enrollment (`CourseTrainingSettings.attendance_rule`: one session or
all sessions); that goes through `enrollment.record_completion`, so issuance flows as for any completion.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import func, select

from app.database import utcnow
from app.extensions import db
from app.models import SessionRegistration, TrainingSession, User
from app.models.training import ATTENDANCE
from app.rules import display
from app.services import audit, events, locking
from app.services.csv_export import stream_rows
from app.services.errors import NotAllowed, ValidationError
from app.services.fields import clean_int, isodate
from app.services.lifecycle import enrollment
from app.services.training import registrations, sessions

STEP_SECONDS = 60
EARLY = timedelta(minutes=30)  # check-in opens this long before the start
CSV_HEADER = ["name", "email", "registration", "attendance", "checked_in_via", "attendance_marked_at",
              "registered_at"]


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="laurel.session-checkin")


def _step(now: datetime) -> int:
    return int(now.timestamp()) // STEP_SECONDS


def in_window(session: TrainingSession, now: datetime) -> bool:
    return session.status == "scheduled" and session.starts_at - EARLY <= now <= session.ends_at


def checkin_token(session: TrainingSession, now: datetime | None = None) -> str:
    """The token of this minute (the trainer's page refreshes the code every 30 seconds)."""
    return _serializer().dumps([session.id, _step(now or utcnow())])


def seconds_left(now: datetime | None = None) -> int:
    now = now or utcnow()
    return STEP_SECONDS - int(now.timestamp()) % STEP_SECONDS


def _check_token(session: TrainingSession, token: object, now: datetime) -> None:
    text = token if isinstance(token, str) and len(token) <= 200 else ""
    try:
        session_id, step = _serializer().loads(text)
    except (BadSignature, ValueError, TypeError):
        raise ValidationError({"token": "This check-in code is not valid. Scan the code on the screen "
                                        "again."}) from None
    if session_id != session.id:
        raise ValidationError({"token": "This code belongs to another session."})
    if not isinstance(step, int) or not 0 <= _step(now) - step <= 1:
        raise ValidationError({"token": "This check-in code has expired. Scan the code on the screen again."})


def check_in(session: TrainingSession, user: User, token: object, *, now: datetime | None = None
             ) -> SessionRegistration:
    """The learner scanned the code: present (once; a second scan changes nothing)."""
    now = now or utcnow()
    _check_token(session, token, now)
    if not in_window(session, now):
        raise NotAllowed("Check-in is open from 30 minutes before the start until the end of the session.")
    locking.hold(session)
    registration = registrations.find(session, user)
    if registration is None or registration.status != "registered":
        raise NotAllowed("You are not registered for this session.")
    if registration.attendance != "present":
        _mark(registration, "present", via="qr", actor=user, now=now)
    return registration


def mark(session: TrainingSession, marks: dict[object, object], *, actor: User, now: datetime | None = None
         ) -> int:
    """Set attendance for several registrations at once ({registration id: present/absent/excused}).
    The trainer or an admin, from 30 minutes before the start. Returns how many changed."""
    now = now or utcnow()
    sessions.require_runner(actor, session)
    if session.status != "scheduled":
        raise NotAllowed("This session was cancelled.")
    if now < session.starts_at - EARLY:
        raise NotAllowed("Attendance can be recorded from 30 minutes before the start.")
    cleaned: dict[int, str] = {}
    for key, status in marks.items():
        try:
            registration_id = clean_int(key, minimum=1)
        except ValueError:
            raise ValidationError({"marks": f"'{str(key)[:40]}' is not a registration."}) from None
        if status not in ATTENDANCE:
            raise ValidationError({"marks": "Attendance is present, absent or excused."})
        cleaned[registration_id] = str(status)
    locking.hold(session)
    rows = {r.id: r for r in registrations.registered(session)}
    unknown = [str(i) for i in cleaned if i not in rows]
    if unknown:
        raise ValidationError({"marks": f"Not registered for this session: {', '.join(unknown[:5])}."})
    changed = 0
    for registration_id, status in cleaned.items():
        if rows[registration_id].attendance != status:
            _mark(rows[registration_id], status, via="trainer", actor=actor, now=now)
            changed += 1
    return changed


def _mark(registration: SessionRegistration, status: str, *, via: str, actor: User, now: datetime) -> None:
    was_present = registration.attendance == "present"
    registration.attendance, registration.checked_in_via, registration.attendance_marked_at = status, via, now
    db.session.flush()
    session = registration.session
    audit.record(actor, "session.attendance", "session_registration", registration.id,
                 f"{registration.user.email} {status} at {session.course.code} on "
                 f"{display.moment(session.starts_at)}",
                 session_id=session.id, user_id=registration.user_id, attendance=status, via=via)
    if status == "present" and not was_present:
        events.emit("session.attended", registrations.registration_data(registration))
        _complete_if_earned(registration, actor=actor, now=now)


def _complete_if_earned(registration: SessionRegistration, *, actor: User, now: datetime) -> None:
    session = registration.session
    rule = sessions.attendance_rule(session.course_id)
    if rule == "none":
        return
    if rule == "all":
        held = db.session.scalar(select(func.count()).where(
            TrainingSession.course_id == session.course_id, TrainingSession.status == "scheduled"))
        attended = db.session.scalar(select(func.count()).select_from(SessionRegistration)
                                     .join(SessionRegistration.session).where(
            TrainingSession.course_id == session.course_id, TrainingSession.status == "scheduled",
            SessionRegistration.user_id == registration.user_id, SessionRegistration.attendance == "present"))
        if attended < held:
            return
    enrollment.record_completion(registration.user, session.course, completed_at=min(now, utcnow()),
                                 actor=actor, source="attendance")


def csv_rows(session_id: int, viewer_id: int) -> Iterator[list[object]]:
    """The attendance list as CSV rows (ISO times); the trainer and admins get everyone, managers their
    departments' people. Ids, not rows: it runs while the response streams, on a fresh session."""
    session, viewer = db.session.get(TrainingSession, session_id), db.session.get(User, viewer_id)
    if session is None or viewer is None:
        return
    stmt = registrations.session_registrations(session, None if sessions.may_run(viewer, session) else viewer)
    for row in stream_rows(stmt):
        yield [row.user.name, row.user.email, row.status, row.attendance or "", row.checked_in_via or "",
               isodate(row.attendance_marked_at) or "", isodate(row.queued_at) or ""]

