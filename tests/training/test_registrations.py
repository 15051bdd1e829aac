"""Capacity, the waitlist (FIFO, exactly once under concurrency), and the invitations' iCalendar."""

from __future__ import annotations

import threading

from sqlalchemy import select

from app.extensions import db
from app.models import OutboxEmail, SessionRegistration, TrainingSession, User
from app.services.training import registrations, sessions
from tests.training.conftest import event_of, invites


def _status(session, user) -> str:
    db.session.expire_all()
    return registrations.find(session, user).status


def test_full_session_takes_a_waitlist_and_a_cancellation_moves_the_first_up(make_session, make_user):
    session = make_session(capacity=2)
    a, b, c, d = (make_user() for _ in range(4))
    for person in (a, b, c, d):
        registrations.register(person, session, actor=person)
        db.session.commit()
    assert [_status(session, p) for p in (a, b, c, d)] == ["registered", "registered", "waitlisted",
                                                           "waitlisted"]
    assert registrations.waitlist_position(registrations.find(session, d)) == 2

    registrations.cancel(registrations.find(session, a), actor=a)
    db.session.commit()
    assert [_status(session, p) for p in (a, b, c, d)] == ["cancelled", "registered", "registered",
                                                           "waitlisted"]
    assert registrations.registered_count(session) == 2


def test_registering_twice_is_refused_and_re_registering_after_cancel_queues_again(make_session, learner):
    session = make_session(capacity=5)
    registrations.register(learner, session, actor=learner)
    db.session.commit()
    try:
        registrations.register(learner, session, actor=learner)
        raise AssertionError("a second registration was accepted")
    except Exception as exc:  # ValidationError
        db.session.rollback()
        assert "already" in str(getattr(exc, "errors", exc))
    registrations.cancel(registrations.find(session, learner), actor=learner)
    registrations.register(learner, session, actor=learner)
    db.session.commit()
    assert _status(session, learner) == "registered"
    assert db.session.scalar(select(SessionRegistration.id).where(SessionRegistration.user_id == learner.id))


def test_two_cancellations_at_once_move_exactly_two_up(app, make_session, make_user):
    session = make_session(capacity=2)
    people = [make_user() for _ in range(5)]
    for person in people:
        registrations.register(person, session, actor=person)
        db.session.commit()
    session_id, leaving = session.id, [people[0].id, people[1].id]
    barrier = threading.Barrier(2, timeout=30)
    errors: list = []

    def cancel(user_id: int) -> None:
        try:
            with app.app_context():
                row = db.session.scalar(select(SessionRegistration).where(
                    SessionRegistration.session_id == session_id, SessionRegistration.user_id == user_id))
                barrier.wait()
                registrations.cancel(row, actor=db.session.get(User, user_id))
                db.session.commit()
                db.session.remove()
        except Exception as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=cancel, args=(uid,)) for uid in leaving]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    db.session.expire_all()
    statuses = [_status(session, p) for p in people]
    assert statuses == ["cancelled", "cancelled", "registered", "registered", "waitlisted"]
    promoted = db.session.scalars(select(OutboxEmail).where(OutboxEmail.template == "session_invitation",
                                                            OutboxEmail.to == people[2].email)).all()
    assert len(promoted) == 1  # moved up once, invited once


def test_invitation_update_and_cancel_parse_back_with_one_uid_and_rising_sequence(
        make_session, learner, admin, smtp_server, jobs):
    session = make_session(capacity=3)
    registrations.register(learner, session, actor=learner)
    db.session.commit()
    jobs()
    first = invites(smtp_server, learner.email)
    assert len(first) == 1
    event = event_of(first[0])
    assert str(first[0]["METHOD"]) == "REQUEST"
    assert event.decoded("DTSTART") == session.starts_at and event.decoded("DTEND") == session.ends_at
    assert event.decoded("DTSTART").utcoffset().total_seconds() == 0
    uid = str(event["UID"])
    assert uid.startswith(f"session-{session.uid}@")

    new_start = session.starts_at.replace(microsecond=0) + (session.ends_at - session.starts_at) * 2
    sessions.update_session(session, {"starts_at": new_start, "ends_at": new_start + (session.ends_at
                                                                                     - session.starts_at)},
                            actor=admin)
    db.session.commit()
    jobs()
    registrations.cancel(registrations.find(session, learner), actor=learner)
    db.session.commit()
    jobs()
    calendars = invites(smtp_server, learner.email)
    assert [str(c["METHOD"]) for c in calendars] == ["REQUEST", "REQUEST", "CANCEL"]
    events = [event_of(c) for c in calendars]
    assert {str(e["UID"]) for e in events} == {uid}
    sequences = [int(e["SEQUENCE"]) for e in events]
    assert sequences == sorted(sequences) and len(set(sequences)) == 3
    assert events[1].decoded("DTSTART") == new_start
    assert str(events[2]["STATUS"]) == "CANCELLED"


def test_cancelling_the_session_cancels_every_calendar_entry(make_session, make_user, admin, smtp_server,
                                                              jobs):
    session = make_session(capacity=1)
    first, second = make_user(), make_user()
    registrations.register(first, session, actor=first)
    registrations.register(second, session, actor=second)
    db.session.commit()
    sessions.cancel_session(session, actor=admin)
    sessions.cancel_session(session, actor=admin)  # twice: nothing more
    db.session.commit()
    jobs()
    assert [str(c["METHOD"]) for c in invites(smtp_server, first.email)] == ["REQUEST", "CANCEL"]
    waitlisted = [m for m in smtp_server.messages if m["To"] == second.email]
    assert [m["Subject"].split(":")[0] for m in waitlisted] == ["On the waitlist", "Cancelled"]
    assert db.session.get(TrainingSession, session.id).status == "cancelled"


def test_capacity_cannot_drop_below_the_registered_and_more_places_move_the_waitlist(
        make_session, make_user, admin):
    session = make_session(capacity=1)
    a, b = make_user(), make_user()
    registrations.register(a, session, actor=a)
    registrations.register(b, session, actor=b)
    db.session.commit()
    sessions.update_session(session, {"capacity": 2}, actor=admin)
    db.session.commit()
    assert _status(session, b) == "registered"
    try:
        sessions.update_session(session, {"capacity": 1}, actor=admin)
        raise AssertionError("capacity below the registered count was accepted")
    except Exception as exc:
        db.session.rollback()
        assert "capacity" in getattr(exc, "errors", {})
