"""Attendance: QR check-in tokens (expiry, replay, wrong session, not registered), marking in bulk, and
attendance completing the enrollment so the certificate is issued."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.database import utcnow
from app.extensions import db
from app.models import Certificate, Enrollment
from app.services.errors import NotAllowed, ValidationError
from app.services.training import attendance, registrations, sessions

SOON = timedelta(minutes=20)  # inside the check-in window (it opens 30 minutes before the start)


@pytest.fixture
def running(make_session, learner):
    """A session starting in 20 minutes with the learner registered."""
    session = make_session(capacity=5, starts_in=SOON)
    registrations.register(learner, session, actor=learner)
    db.session.commit()
    return session


def test_a_fresh_token_checks_in_once(running, learner):
    registration = attendance.check_in(running, learner, attendance.checkin_token(running))
    db.session.commit()
    assert (registration.attendance, registration.checked_in_via) == ("present", "qr")
    attendance.check_in(running, learner, attendance.checkin_token(running))  # a second scan: nothing new
    db.session.commit()
    assert registrations.find(running, learner).attendance == "present"


def test_last_minutes_token_still_works_and_an_older_one_is_refused(running, learner):
    now = utcnow()
    last_minute = attendance.checkin_token(running, now - timedelta(seconds=60))
    assert attendance.check_in(running, learner, last_minute, now=now)
    db.session.rollback()
    with pytest.raises(ValidationError, match="expired"):
        attendance.check_in(running, learner, attendance.checkin_token(running, now - timedelta(minutes=3)),
                            now=now)


def test_a_token_from_the_future_or_forged_or_of_another_session_is_refused(running, make_session, learner):
    now = utcnow()
    with pytest.raises(ValidationError, match="expired"):
        attendance.check_in(running, learner, attendance.checkin_token(running, now + timedelta(minutes=5)),
                            now=now)
    other = make_session(capacity=5, starts_in=SOON)
    with pytest.raises(ValidationError, match="another session"):
        attendance.check_in(running, learner, attendance.checkin_token(other))
    for forged in ("", "x" * 5000, attendance.checkin_token(running)[:-2] + "AA", None, 12, "[1,2]"):
        with pytest.raises(ValidationError, match="not valid"):
            attendance.check_in(running, learner, forged)


def test_not_registered_or_waitlisted_cannot_check_in(running, make_user):
    outsider = make_user()
    with pytest.raises(NotAllowed, match="not registered"):
        attendance.check_in(running, outsider, attendance.checkin_token(running))


def test_check_in_only_inside_the_session_window(make_session, learner):
    later = make_session(capacity=5, starts_in=timedelta(days=2))
    registrations.register(learner, later, actor=learner)
    db.session.commit()
    with pytest.raises(NotAllowed, match="30 minutes before"):
        attendance.check_in(later, learner, attendance.checkin_token(later))
    after_end = later.ends_at + timedelta(minutes=1)
    with pytest.raises(NotAllowed):
        attendance.check_in(later, learner, attendance.checkin_token(later, after_end), now=after_end)


def test_attending_one_session_completes_the_enrollment_and_issues_the_certificate(
        running, learner, admin, certification, captured):
    sessions.set_attendance_rule(running.course_id, "one", actor=admin)
    db.session.commit()
    attendance.check_in(running, learner, attendance.checkin_token(running))
    db.session.commit()
    enrollment = db.session.scalar(select(Enrollment).where(Enrollment.user_id == learner.id))
    assert enrollment.status == "completed"
    certificate = db.session.scalar(select(Certificate).where(Certificate.user_id == learner.id))
    assert certificate is not None and certificate.certification_id == certification.id
    kinds = [e.type for e in captured]
    assert kinds.index("session.attended") < kinds.index("enrollment.completed") \
        < kinds.index("certificate.issued")


def test_without_the_rule_attendance_is_only_recorded(running, learner, certification):
    attendance.check_in(running, learner, attendance.checkin_token(running))
    db.session.commit()
    assert db.session.scalar(select(Enrollment).where(Enrollment.user_id == learner.id)) is None


def test_all_sessions_rule_waits_for_the_last_one(make_session, learner, admin, staff, certification):
    first = make_session(capacity=5, starts_in=SOON, trainer_id=staff.id)
    second = make_session(capacity=5, starts_in=SOON + timedelta(minutes=5), trainer_id=staff.id)
    sessions.set_attendance_rule(first.course_id, "all", actor=admin)
    for s in (first, second):
        registrations.register(learner, s, actor=learner)
    db.session.commit()
    attendance.mark(first, {registrations.find(first, learner).id: "present"}, actor=staff)
    db.session.commit()
    assert db.session.scalar(select(Certificate).where(Certificate.user_id == learner.id)) is None
    attendance.mark(second, {registrations.find(second, learner).id: "present"}, actor=staff)
    db.session.commit()
    assert db.session.scalar(select(Certificate).where(Certificate.user_id == learner.id)) is not None


def test_bulk_marking_by_the_trainer_only(running, learner, make_user, staff, admin):
    other = make_user()
    registrations.register(other, running, actor=other)
    db.session.commit()
    ids = {registrations.find(running, learner).id: "absent",
           registrations.find(running, other).id: "excused"}
    with pytest.raises(NotAllowed, match="trainer"):
        attendance.mark(running, ids, actor=staff)  # staff, but not this session's trainer
    assert attendance.mark(running, ids, actor=admin) == 2
    db.session.commit()
    assert attendance.mark(running, ids, actor=admin) == 0  # the same again changes nothing
    with pytest.raises(ValidationError):
        attendance.mark(running, {999999: "present"}, actor=admin)
    with pytest.raises(ValidationError):
        attendance.mark(running, {registrations.find(running, learner).id: "asleep"}, actor=admin)


def test_attendance_cannot_be_marked_days_before(make_session, learner, admin):
    later = make_session(capacity=5, starts_in=timedelta(days=2))
    registrations.register(learner, later, actor=learner)
    db.session.commit()
    with pytest.raises(NotAllowed, match="30 minutes"):
        attendance.mark(later, {registrations.find(later, learner).id: "present"}, actor=admin)


@pytest.fixture
def captured():
    from app.services import events

    seen: list = []
    events.subscribe("*")(seen.append)
    yield seen
    events._subscribers["*"].remove(seen.append)


def test_session_events_are_webhook_types_with_a_slack_line(running, learner, captured):
    from app.connectors.slack import format_message
    from app.services.integrations.settings import EVENT_TYPES

    assert {"session.registered", "session.attended"} <= set(EVENT_TYPES)
    attendance.check_in(running, learner, attendance.checkin_token(running))
    db.session.commit()
    attended = next(e for e in captured if e.type == "session.attended")
    assert attended.data["user_id"] == learner.id and attended.data["checked_in_via"] == "qr"
    message = format_message({"type": "session.attended", "data": {
        **attended.data, "user": {"name": learner.name, "email": learner.email}}})
    assert "Session attended" in message["text"] and learner.name in message["text"]
    assert running.course.title in message["text"]
