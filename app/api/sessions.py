"""/api/v1/sessions: training sessions, registrations (with the waitlist) and attendance.

Everyone signed in reads sessions and registers themselves; admins schedule, change and cancel sessions
(registered people get updated calendar invitations); admins and managers register and cancel for the
people they manage; the session's trainer and admins record attendance.
"""

from __future__ import annotations

from flask import abort, url_for

from app.api import session_schemas  # noqa: F401 (adds the schemas below to the shared tables)
from app.api.base import Param, actor, bp, committed, created, endpoint, is_learner, paginate
from app.api.schemas import DATE_TIME, ID
from app.extensions import db
from app.models import SessionRegistration, TrainingSession, User
from app.models.training import SESSION_STATUSES
from app.services.accounts import scope
from app.services.errors import ValidationError
from app.services.training import attendance, checks, registrations, sessions

TAG = "Training sessions"
FILTERS = (
    Param("course_id", ID, "Only this course's sessions."),
    Param("from", DATE_TIME, "Sessions ending at or after this moment."),
    Param("to", DATE_TIME, "Sessions starting before this moment."),
    Param("status", {"type": "string", "enum": list(SESSION_STATUSES)}, "Only this status."),
)


def _moment(value, field: str):
    try:
        return checks.clean_moment(value, "UTC")
    except ValueError as exc:
        raise ValidationError({field: str(exc)}) from None


@bp.get("/sessions")
@endpoint("List training sessions", access="login", tag=TAG, response="Session", paginated=True,
          params=FILTERS,
          description="In start order. `registered` counts confirmed places (not the waitlist).")
def list_sessions(query: dict):
    stmt = sessions.session_query(course_id=query["course_id"], start=_moment(query["from"], "from"),
                                  end=_moment(query["to"], "to"))
    if query["status"]:
        stmt = stmt.where(TrainingSession.status == query["status"])
    return paginate(stmt, query, sessions.session_data)


@bp.post("/sessions")
@endpoint("Schedule a session", access="admin", tag=TAG, response="Session", status=201, body="SessionCreate",
          description="End after start (at most 14 days), a place or an https online link, "
                      "capacity 1..10000, "
                      "an IANA time zone; the registration deadline not after the start.")
def create_session(body: dict):
    session = sessions.create_session(body, actor=actor())
    return committed(created(sessions.session_data(session, taken=0),
                             url_for("api.get_session", id=session.id)))


@bp.get("/sessions/<id:id>")
@endpoint("Get a session", access="login", tag=TAG, response="Session", load=TrainingSession)
def get_session(item: TrainingSession):
    return sessions.session_data(item)


@bp.patch("/sessions/<id:id>")
@endpoint("Change a session", access="admin", tag=TAG, response="Session", load=TrainingSession,
          body="SessionUpdate", errors=(409,),
          description="Changing time or place mails everyone registered an updated invitation (same UID, "
                      "higher SEQUENCE). More places move the waitlist up; fewer than registered: 422. "
                      "A cancelled session: 409.")
def update_session(item: TrainingSession, body: dict):
    sessions.update_session(item, body, actor=actor())
    return committed(sessions.session_data(item))


@bp.post("/sessions/<id:id>/cancel")
@endpoint("Cancel a session", access="admin", tag=TAG, response="Session", load=TrainingSession, body="Empty",
          description="Everyone registered gets a METHOD:CANCEL invitation; the waitlist a notice. "
                      "Idempotent.")
def cancel_session(item: TrainingSession, body: dict):
    sessions.cancel_session(item, actor=actor())
    return committed(sessions.session_data(item))


@bp.get("/sessions/<id:id>/registrations")
@endpoint("List a session's registrations", access="staff", tag=TAG, response="Registration", paginated=True,
          load=TrainingSession,
          description="Registered first, then the waitlist in order, then cancellations. Managers see their "
                      "departments' people; the trainer and admins everyone.")
def list_registrations(item: TrainingSession, query: dict):
    return paginate(_registrations(item), query, registrations.registration_data)


def _registrations(session: TrainingSession):
    """The session's list as the caller may see it: everyone for its trainer and admins, else their scope."""
    me = actor()
    return registrations.session_registrations(session, None if sessions.may_run(me, session) else me)


@bp.post("/sessions/<id:id>/registrations")
@endpoint("Register for a session", access="login", tag=TAG, response="Registration", status=201,
          load=TrainingSession, body="RegistrationCreate", errors=(409,),
          description="Yourself by default; `user_id` registers someone you manage. A full session puts "
                      "them on the waitlist (`status: waitlisted`). Closed or cancelled sessions: 409.")
def register(item: TrainingSession, body: dict):
    me = actor()
    user_id = body.get("user_id", me.id)
    person = db.session.get(User, user_id)
    if person is None or (person.id != me.id and (is_learner() or not scope.can_manage_user(me, person))):
        abort(404, f"No user with id {user_id}.")
    registration = registrations.register(person, item, actor=me)
    return committed(created(registrations.registration_data(registration),
                             url_for("api.list_registrations", id=item.id)))


@bp.post("/registrations/<id:id>/cancel")
@endpoint("Cancel a registration", access="login", tag=TAG, response="Registration", load=SessionRegistration,
          own="user_id", body="Empty", errors=(409,),
          description="Your own, or (admins, managers) of someone you manage. The first on the "
                      "waitlist moves "
                      "up. Idempotent; after attendance was recorded: 409.")
def cancel_registration(item: SessionRegistration, body: dict):
    me = actor()
    if item.user_id != me.id and not scope.can_manage_user(me, item.user):
        abort(404, f"No sessionregistration with id {item.id}.")
    registrations.cancel(item, actor=me)
    return committed(registrations.registration_data(item))


@bp.get("/sessions/<id:id>/attendance")
@endpoint("List a session's attendance", access="staff", tag=TAG, response="Registration", paginated=True,
          load=TrainingSession,
          description="The registered people with their attendance (null: not recorded).")
def list_attendance(item: TrainingSession, query: dict):
    stmt = _registrations(item).where(SessionRegistration.status == "registered")
    return paginate(stmt, query, registrations.registration_data)


@bp.post("/sessions/<id:id>/attendance")
@endpoint("Record attendance", access="staff", tag=TAG, response="AttendanceResult", load=TrainingSession,
          body="AttendanceMarks", errors=(409,),
          description="The session's trainer or an admin (others: 409), from 30 minutes before the start. "
                      "`present` may complete the enrollment (the course's attendance rule) and issue "
                      "certificates. Registrations not registered for this session: 422.")
def mark_attendance(item: TrainingSession, body: dict):
    marks = {mark["registration_id"]: mark["attendance"] for mark in body["marks"]}
    changed = attendance.mark(item, marks, actor=actor())
    return committed({"changed": changed})
