"""Exactly one certificate when completions race (PostgreSQL: real concurrent transactions)."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent, Certificate, Completion, Course, User
from app.services.lifecycle import enrollment, issuing
from tests.lifecycle.conftest import at

THREADS = 6


@pytest.fixture
def postgres_only():
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite serialises writers with a database lock: the race needs PostgreSQL "
                    "(set DATABASE_URL=postgresql://...)")


def _race(app, work) -> list:
    """Run `work(i)` in THREADS threads, each with its own app context and session, all at once."""
    results: list = [None] * THREADS
    errors: list = []

    def run(i: int) -> None:
        try:
            with app.app_context():
                results[i] = work(i)
                db.session.commit()
                db.session.remove()
        except Exception as exc:  # surfaced below; a thread must not die silently
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    return results


def _ids(*rows) -> list[int]:
    return [r.id for r in rows]


def test_last_requirements_completed_at_once_issue_exactly_once(app, postgres_only, first_aid, learner):
    """Half the threads complete FA-101, half FA-102, all at once: one certificate, never zero or two."""
    cert, fa101, fa102 = first_aid
    user_id, course_ids = learner.id, _ids(fa101, fa102)
    start = threading.Barrier(THREADS, timeout=30)

    def complete(i: int):
        user = db.session.get(User, user_id)
        course = db.session.get(Course, course_ids[i % 2])
        start.wait()
        return enrollment.record_completion(user, course, score=80 + i, completed_at=at(2026, 1, 2, i),
                                            actor="test", source="api")

    results = _race(app, complete)
    assert sorted(len(r) for r in results) == [0] * (THREADS - 1) + [1]
    db.session.expire_all()
    assert db.session.scalar(select(func.count(Certificate.id))) == 1
    assert db.session.scalar(select(func.count(Completion.id))) == THREADS  # every completion kept


def test_racing_issuers_are_stopped_by_the_constraint(app, postgres_only, first_aid, learner, monkeypatch):
    """Without the per-learner lock, every evaluator reaches the INSERT together: the unique constraint
    lets one win and the others' SAVEPOINTs roll back cleanly (their transactions still commit)."""
    cert, fa101, fa102 = first_aid
    monkeypatch.setattr(issuing, "evaluate", issuing.evaluate)  # restored after the test
    monkeypatch.setattr(issuing, "lock_learner", lambda user: None)
    original = issuing._insert
    barrier = threading.Barrier(THREADS, timeout=30)

    def insert_together(*args, **kwargs):
        barrier.wait()
        return original(*args, **kwargs)

    monkeypatch.setattr(issuing, "_insert", insert_together)
    for course, day in ((fa101, 1), (fa102, 2)):
        monkeypatch.setattr(issuing, "_insert", lambda *a, **k: None)  # no issuing while setting up
        enrollment.record_completion(learner, course, score=90, completed_at=at(2026, 1, day), actor="test")
    db.session.commit()
    monkeypatch.setattr(issuing, "_insert", insert_together)
    user_id = learner.id

    def evaluate(i: int):
        issued = issuing.evaluate(db.session.get(User, user_id), actor="test")
        db.session.add(AuditEvent(actor_label="test", action="probe", subject_type="t", summary=str(i)))
        return issued

    results = _race(app, evaluate)
    assert sorted(len(r) for r in results) == [0] * (THREADS - 1) + [1]
    db.session.expire_all()
    assert db.session.scalar(select(func.count(Certificate.id))) == 1
    assert db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "probe")) == THREADS


def test_concurrent_duplicate_completion_is_one_row(app, postgres_only, first_aid, learner):
    cert, fa101, fa102 = first_aid
    enrollment.enroll(learner, fa101, actor="test")
    db.session.commit()
    user_id, course_id = learner.id, fa101.id

    def complete(i: int):
        user = db.session.get(User, user_id)
        return enrollment.record_completion(user, db.session.get(Course, course_id), score=90,
                                            completed_at=at(2026, 1, 1), actor="test", source="webhook")

    _race(app, complete)
    db.session.expire_all()
    assert db.session.scalar(select(func.count(Completion.id))) == 1
