"""24-hour reminders (once, however often the job runs), and hostile session input refused cleanly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import OutboxEmail, TrainingSession
from app.services.errors import ValidationError
from app.services.training import registrations, sessions
from app.tasks.training import send_session_reminders


def _reminders() -> list[OutboxEmail]:
    return list(db.session.scalars(select(OutboxEmail).where(OutboxEmail.template == "session_reminder")))


def test_reminder_goes_out_once_a_day_before(make_session, learner, make_user, smtp_server, jobs):
    session = make_session(capacity=1, starts_in=timedelta(days=3))
    waiting = make_user()
    registrations.register(learner, session, actor=learner)
    registrations.register(waiting, session, actor=waiting)
    db.session.commit()
    assert send_session_reminders((session.starts_at - timedelta(hours=30)).isoformat()) == {"reminders": 0}
    for hours in (23, 23, 12, 1):
        send_session_reminders((session.starts_at - timedelta(hours=hours)).isoformat())
    mails = _reminders()
    assert [m.to for m in mails] == [learner.email]  # the waitlist is not reminded
    jobs()
    assert [m["To"] for m in smtp_server.messages if m["Subject"].startswith("Tomorrow")] == [learner.email]


def test_registering_within_a_day_needs_no_reminder(make_session, learner):
    session = make_session(capacity=3, starts_in=timedelta(hours=5))
    registrations.register(learner, session, actor=learner)
    db.session.commit()
    send_session_reminders()
    assert _reminders() == []


def test_moving_the_session_makes_the_reminder_due_again(make_session, learner, admin):
    session = make_session(capacity=3, starts_in=timedelta(days=3))
    registrations.register(learner, session, actor=learner)
    db.session.commit()
    send_session_reminders((session.starts_at - timedelta(hours=20)).isoformat())
    later = session.starts_at + timedelta(days=7)
    sessions.update_session(session, {"starts_at": later, "ends_at": later + timedelta(hours=2)}, actor=admin)
    db.session.commit()
    send_session_reminders((later - timedelta(hours=20)).isoformat())
    send_session_reminders((later - timedelta(hours=10)).isoformat())
    assert len(_reminders()) == 2


BASE = {"starts_at": "2030-05-04T09:00", "ends_at": "2030-05-04T12:00", "timezone": "Europe/Berlin",
        "location": "Room 1", "capacity": 10}


@pytest.mark.parametrize(("change", "field"), [
    ({"ends_at": "2030-05-04T08:00"}, "ends_at"),  # end before start
    ({"ends_at": "2030-05-04T09:00"}, "ends_at"),  # zero length
    ({"ends_at": "2030-06-04T09:00"}, "ends_at"),  # a month long
    ({"capacity": 0}, "capacity"),
    ({"capacity": -3}, "capacity"),
    ({"capacity": 2**63}, "capacity"),
    ({"capacity": "ten"}, "capacity"),
    ({"capacity": True}, "capacity"),
    ({"location": "x" * 10_000}, "location"),
    ({"location": "Room\n1"}, "location"),
    ({"location": "", "online_url": ""}, "location"),
    ({"online_url": "javascript:alert(1)"}, "online_url"),
    ({"online_url": "http://meet.example.com/x"}, "online_url"),
    ({"online_url": "https://"}, "online_url"),
    ({"online_url": "https://user:pw@meet.example.com/"}, "online_url"),
    ({"online_url": "https://meet.example.com/a b"}, "online_url"),
    ({"timezone": "../../etc/passwd"}, "timezone"),
    ({"timezone": "Mars/Olympus"}, "timezone"),
    ({"timezone": "x" * 500}, "timezone"),
    ({"starts_at": "yesterday"}, "starts_at"),
    ({"starts_at": "9999-01-01T00:00"}, "starts_at"),
    ({"starts_at": "1900-01-01T00:00"}, "starts_at"),
    ({"registration_deadline": "2030-05-05T09:00"}, "registration_deadline"),
    ({"course_id": 2**31}, "course_id"),
    ({"trainer_id": "abc"}, "trainer_id"),
])
def test_hostile_session_input_is_refused_and_nothing_is_written(course, admin, change, field):
    with pytest.raises(ValidationError) as refused:
        sessions.create_session({"course_id": course.id, **BASE, **change}, actor=admin)
    db.session.rollback()
    assert field in refused.value.errors
    assert db.session.scalar(select(func.count()).select_from(TrainingSession)) == 0


def test_a_learner_cannot_be_a_trainer(course, admin, learner):
    with pytest.raises(ValidationError) as refused:
        sessions.create_session({"course_id": course.id, **BASE, "trainer_id": learner.id}, actor=admin)
    assert "trainer_id" in refused.value.errors


def test_local_times_are_read_in_the_sessions_zone_and_stored_in_utc(course, admin):
    session = sessions.create_session({"course_id": course.id, **BASE}, actor=admin)
    assert session.starts_at == datetime(2030, 5, 4, 7, 0, tzinfo=UTC)  # 09:00 CEST
    offset = sessions.create_session({"course_id": course.id, **BASE,
                                      "starts_at": "2030-05-04T09:00:00+00:00",
                                      "ends_at": "2030-05-04T10:00:00Z"}, actor=admin)
    assert offset.starts_at == datetime(2030, 5, 4, 9, 0, tzinfo=UTC)
