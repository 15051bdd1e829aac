"""Item 15: identical state changes arriving at once happen once (one row, one audit entry, one event, one
mail), with real threads, each request with its own session and connection, on PostgreSQL and SQLite.

Every request in a race waits at a barrier, so they all check the row's state before any has committed.
"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.database import utcnow
from app.extensions import db
from app.models import AuditEvent, Certificate, Completion, Course, Enrollment, OutboxEmail, User
from app.models.integration import WebhookEvent
from app.services.accounts import tokens, users
from app.services.integrations import registry
from app.services.lifecycle import catalog, enrollment, issuing
from tests.conftest import csrf_token_from

N = 20


def race(app, n: int, call, prepare=None) -> list:
    """Run `call(i, prepared)` in n threads at once (after `prepare(client)`); return their results."""
    barrier = threading.Barrier(n, timeout=60)
    results: list = [None] * n
    errors: list = []

    def run(i: int) -> None:
        try:
            client = app.test_client()
            prepared = prepare(client) if prepare else None
            barrier.wait()
            results[i] = call(client, i, prepared)
        except Exception as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors, errors
    db.session.expire_all()
    return results


def count(model, *where) -> int:
    db.session.commit()
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def audits(action: str) -> int:
    return count(AuditEvent, AuditEvent.action == action)


def events(kind: str) -> int:
    return count(WebhookEvent, WebhookEvent.type == kind)


@pytest.fixture
def bearer(admin):
    _, secret = tokens.create_token(admin, "race", actor="test")
    db.session.commit()
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def subscribed(allow_private_outgoing):
    """An outgoing webhook for every event, so each emitted event is stored as a WebhookEvent."""
    from app.services.integrations.settings import EVENT_TYPES

    hook, _ = registry.create("generic_webhook", {"name": "Out", "url": "http://127.0.0.1:9/hook",
                                                      "event_types": list(EVENT_TYPES)}, actor="test")
    registry.set_active(hook, True, actor="test")
    db.session.commit()


@pytest.fixture
def course_cert():
    course = catalog.create_course({"code": "RC-1", "title": "Races"}, actor="test")
    catalog.create_certification({"name": "Races", "status": "active", "course_ids": [course.id],
                                  "validity_months": 24}, actor="test")
    db.session.commit()
    return course


def _patch(url: str, body: dict, headers: dict):
    return lambda client, i, _: client.patch(url, json=body, headers=headers).status_code


def _post(url: str, body: dict | None, headers: dict):
    return lambda client, i, _: client.post(url, json=body or {}, headers=headers).status_code


def test_parallel_completions_of_one_enrollment_record_one(app, bearer, subscribed, course_cert, learner):
    row = enrollment.enroll(learner, course_cert, actor="test")
    db.session.commit()
    statuses = race(app, N, _patch(f"/api/v1/enrollments/{row.id}", {"status": "completed", "score": 90},
                                   bearer))
    assert statuses == [200] * N
    assert count(Completion) == 1
    assert audits("enrollment.completed") == 1 and events("enrollment.completed") == 1
    assert count(Certificate) == 1 and events("certificate.issued") == 1


def test_parallel_withdrawals_withdraw_once(app, bearer, subscribed, course_cert, learner):
    row = enrollment.enroll(learner, course_cert, actor="test")
    db.session.commit()
    statuses = race(app, N, _patch(f"/api/v1/enrollments/{row.id}", {"status": "withdrawn"}, bearer))
    assert statuses == [200] * N
    assert audits("enrollment.updated") == 1 and events("enrollment.withdrawn") == 1


@pytest.fixture
def held_certificate(course_cert, learner):
    enrollment.record_completion(learner, course_cert, score=90, actor="test")
    db.session.commit()
    return db.session.scalar(select(Certificate))


def test_parallel_revocations_revoke_once(app, bearer, subscribed, held_certificate):
    url = f"/api/v1/certificates/{held_certificate.id}/revoke"
    statuses = race(app, N, _post(url, {"reason": "Fraud"}, bearer))
    assert sorted(statuses) == [200] + [409] * (N - 1)
    assert audits("certificate.revoked") == 1 and events("certificate.revoked") == 1
    assert count(OutboxEmail, OutboxEmail.template == "certificate_revoked") == 1


def test_parallel_reinstatements_reinstate_once(app, bearer, subscribed, held_certificate):
    from app.services.lifecycle import revocation

    revocation.revoke(held_certificate, "Mistake", actor="test")
    db.session.commit()
    statuses = race(app, N, _post(f"/api/v1/certificates/{held_certificate.id}/reinstate", None, bearer))
    assert sorted(statuses) == [200] + [409] * (N - 1)
    assert audits("certificate.reinstated") == 1 and events("certificate.reinstated") == 1
    assert count(OutboxEmail, OutboxEmail.template == "certificate_reinstated") == 1


def test_parallel_re_enrollments_reopen_once(app, bearer, course_cert, learner):
    row = enrollment.enroll(learner, course_cert, actor="test")
    enrollment.withdraw(row, actor="test")
    db.session.commit()
    body = {"user_id": learner.id, "course_id": course_cert.id}
    statuses = race(app, N, _post("/api/v1/enrollments", body, bearer))
    assert sorted(statuses) == [201] + [422] * (N - 1)
    assert audits("enrollment.reopened") == 1


def test_parallel_enrollments_respect_capacity(app, bearer, course_cert, make_user):
    course = db.session.get(Course, course_cert.id)
    course.capacity = 3
    db.session.commit()
    learners, course_id = [make_user("learner").id for _ in range(N)], course.id
    statuses = race(app, N, lambda client, i, _: client.post("/api/v1/enrollments", headers=bearer, json={
        "user_id": learners[i], "course_id": course_id}).status_code)
    assert sorted(statuses) == [201] * 3 + [422] * (N - 3)
    assert count(Enrollment, Enrollment.status != "withdrawn") == 3


@pytest.mark.parametrize("action", ["activate", "deactivate"])
def test_parallel_integration_toggles_change_once(app, bearer, allow_private_outgoing, action):
    hook, _ = registry.create("generic_webhook", {"name": "Toggle", "url": "http://127.0.0.1:9/x",
                                                      "event_types": ["certificate.issued"]}, actor="test")
    if action == "deactivate":
        registry.set_active(hook, True, actor="test")
    db.session.commit()
    statuses = race(app, N, _post(f"/api/v1/integrations/{hook.id}/{action}", None, bearer))
    assert statuses == [200] * N
    assert audits(f"integration.{action}d") == 1


def test_two_admins_demoting_each_other_leave_one(app, make_user):
    first, second = make_user("admin").id, make_user("admin").id
    barrier = threading.Barrier(2, timeout=30)
    outcomes: list = []

    def demote(target: int, actor_id: int) -> None:
        with app.app_context():
            user, actor = db.session.get(User, target), db.session.get(User, actor_id)
            barrier.wait()
            try:
                users.update_user(user, actor=actor, active=False)
                db.session.commit()
                outcomes.append("done")
            except users.NotAllowed:
                db.session.rollback()
                outcomes.append("refused")
            db.session.remove()

    threads = [threading.Thread(target=demote, args=pair) for pair in ((first, second), (second, first))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(outcomes) == ["done", "refused"]
    assert count(User, User.role == "admin", User.active.is_(True)) == 1


def test_one_invitation_link_submitted_at_once_sets_one_password(app, make_user):
    invited = make_user("learner")
    invited.password_hash = None  # invited, never logged in
    db.session.commit()
    url = f"/set-password/{users.make_token(invited, 'invite')}"

    def prepare(client):
        return csrf_token_from(client.get(url).get_data(as_text=True))

    def submit(client, i, csrf):
        password = f"brand-new-password-{i}"
        form = {"csrf_token": csrf, "password": password, "confirm": password}
        return client.post(url, data=form).status_code

    statuses = race(app, 10, submit, prepare)
    assert sorted(statuses) == [302] + [400] * 9
    assert audits("user.password_set") == 1


def test_parallel_manual_issues_issue_once(app, course_cert, learner, admin):
    from app.models import Certification

    cert = db.session.scalar(select(Certification))
    barrier = threading.Barrier(6, timeout=30)
    outcomes: list = []

    def issue(_i: int) -> None:
        with app.app_context():
            user, program = db.session.get(User, learner.id), db.session.get(Certification, cert.id)
            barrier.wait()
            try:
                issuing.issue(user, program, actor=db.session.get(User, admin.id), note="Paper exam",
                              now=utcnow() - timedelta(seconds=1))
                db.session.commit()
                outcomes.append("issued")
            except issuing.NotAllowed:
                db.session.rollback()
                outcomes.append("refused")
            db.session.remove()

    threads = [threading.Thread(target=issue, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(outcomes) == ["issued"] + ["refused"] * 5
    assert count(Certificate) == 1 and audits("certificate.issued") == 1
