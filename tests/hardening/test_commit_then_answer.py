"""Item 20: a write that committed answers 2xx with the right body even when the database goes away
right after the commit (PostgreSQL: the request's backend is terminated from another connection and the
database refuses new connections until the response is out, like a restart or a failover)."""

from __future__ import annotations

from contextlib import contextmanager

import psycopg
import pytest
from sqlalchemy import event, make_url
from sqlalchemy.orm import Session

from app.extensions import db
from app.models import Certificate, Course, Enrollment, User
from app.services.accounts import departments
from app.services.integrations import registry
from app.services.lifecycle import catalog, enrollment


class Outage:
    """Arms an after-commit hook that takes the database away at the next commit inside a request."""

    def __init__(self, app):
        url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
        self.name = url.database
        # From the maintenance database: PostgreSQL refuses to close the database one is connected to.
        self.admin = psycopg.connect(host=url.host, port=url.port, user=url.username, password=url.password,
                                     dbname="postgres", autocommit=True)
        self.armed = False
        self.dropped = 0

    def after_commit(self, session) -> None:
        from flask import has_request_context

        # (also fired when a SAVEPOINT is released: only the real commit counts)
        if not (self.armed and has_request_context()) or session.in_nested_transaction():
            return
        self.armed = False
        self.admin.execute(f'ALTER DATABASE "{self.name}" ALLOW_CONNECTIONS false')
        self.admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                           (self.name,))
        self.dropped += 1

    @contextmanager
    def during(self):
        """The database goes away after the first commit of the request made inside the block."""
        self.armed = True
        try:
            yield
        finally:
            self.armed = False
            self.admin.execute(f'ALTER DATABASE "{self.name}" ALLOW_CONNECTIONS true')
        assert self.dropped == 1, "the request did not commit"
        self.dropped = 0


@pytest.fixture
def outage(app):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("needs PostgreSQL (a database that can go away between commit and response)")
    watcher = Outage(app)
    event.listen(Session, "after_commit", watcher.after_commit)
    yield watcher
    event.remove(Session, "after_commit", watcher.after_commit)
    watcher.admin.execute(f'ALTER DATABASE "{watcher.name}" ALLOW_CONNECTIONS true')
    watcher.admin.close()
    db.session.remove()
    db.engine.dispose()  # the pool's connections were terminated


@pytest.fixture
def world(learner):
    course = catalog.create_course({"code": "DB-1", "title": "Drops"}, actor="test")
    catalog.create_certification({"name": "Drops", "status": "active", "course_ids": [course.id]},
                                 actor="test")
    db.session.commit()
    row = enrollment.enroll(learner, course, actor="test")
    db.session.commit()
    return {"course": course.id, "enrollment": row.id, "learner": learner.id}


def _certificate(world) -> int:
    user = db.session.get(User, world["learner"])
    enrollment.record_completion(user, db.session.get(Course, world["course"]), score=90, actor="test")
    db.session.commit()
    return db.session.query(Certificate.id).scalar()


def _call(outage, client, method: str, url: str, **kwargs):
    headers = {"X-CSRFToken": client.csrf_token, **kwargs.pop("headers", {})}
    with outage.during():
        response = client.open(url, method=method, headers=headers, **kwargs)
    assert response.status_code < 300, (response.status_code, response.get_data(as_text=True)[:2000])
    return response


# -- API -------------------------------------------------------------------------------------------------

def test_api_enrollment_patch(outage, admin, login_as, world):
    response = _call(outage, login_as(admin), "PATCH", f"/api/v1/enrollments/{world['enrollment']}",
                     json={"progress": 40})
    assert response.json["progress"] == 40 and response.json["id"] == world["enrollment"]
    assert db.session.get(Enrollment, world["enrollment"]).progress == 40


def test_api_enrollment_completion(outage, admin, login_as, world):
    response = _call(outage, login_as(admin), "PATCH", f"/api/v1/enrollments/{world['enrollment']}",
                     json={"status": "completed", "score": 95})
    assert response.json["status"] == "completed" and response.json["score"] == 95


def test_api_enroll(outage, admin, login_as, world, make_user):
    other = make_user("learner").id
    response = _call(outage, login_as(admin), "POST", "/api/v1/enrollments",
                     json={"user_id": other, "course_id": world["course"]})
    assert response.status_code == 201 and response.json["user_id"] == other


def test_api_revoke_and_reinstate(outage, admin, login_as, world):
    cert_id, client = _certificate(world), login_as(admin)
    response = _call(outage, client, "POST", f"/api/v1/certificates/{cert_id}/revoke",
                     json={"reason": "Fraud"})
    assert response.json["status"] == "revoked" and response.json["revoke_reason"] == "Fraud"
    response = _call(outage, client, "POST", f"/api/v1/certificates/{cert_id}/reinstate", json={})
    assert response.json["status"] == "valid"


def test_api_user_create_and_update(outage, admin, login_as, learner):
    client = login_as(admin)
    response = _call(outage, client, "PATCH", f"/api/v1/users/{learner.id}", json={"department": "Surgery"})
    assert response.json["department"] == "Surgery"
    response = _call(outage, client, "POST", "/api/v1/users",
                     json={"email": "new@example.com", "name": "New Person", "role": "learner"})
    assert response.status_code == 201 and response.json["email"] == "new@example.com"


def test_api_course_and_certification_writes(outage, admin, login_as, world):
    client = login_as(admin)
    response = _call(outage, client, "PATCH", f"/api/v1/courses/{world['course']}", json={"title": "Renamed"})
    assert response.json["title"] == "Renamed"
    response = _call(outage, client, "POST", "/api/v1/courses", json={"code": "DB-2", "title": "Second"})
    assert response.status_code == 201 and response.json["code"] == "DB-2"
    response = _call(outage, client, "POST", "/api/v1/certifications",
                     json={"name": "Second", "course_ids": [world["course"]]})
    assert response.status_code == 201 and response.json["name"] == "Second"
    response = _call(outage, client, "PATCH", f"/api/v1/certifications/{response.json['id']}",
                     json={"name": "Second, renamed"})
    assert response.json["name"] == "Second, renamed"


def test_api_integration_writes(outage, admin, login_as, allow_private_outgoing):
    hook, _ = registry.create("generic_webhook", {"name": "Out", "url": "http://127.0.0.1:9/x",
                                                      "event_types": ["certificate.issued"]}, actor="test")
    db.session.commit()
    client = login_as(admin)
    response = _call(outage, client, "POST", f"/api/v1/integrations/{hook.id}/activate")
    assert response.json["active"] is True
    response = _call(outage, client, "PATCH", f"/api/v1/integrations/{hook.id}", json={"name": "Renamed"})
    assert response.json["name"] == "Renamed"


# -- htmx views ------------------------------------------------------------------------------------------

HTMX = {"HX-Request": "true"}


def test_htmx_enrollment_row_update_and_withdraw(outage, admin, login_as, world):
    client = login_as(admin)
    response = _call(outage, client, "POST", f"/enrollments/{world['enrollment']}", headers=HTMX,
                     data={"status": "in_progress", "progress": "60", "score": ""})
    assert "60" in response.get_data(as_text=True)
    response = _call(outage, client, "POST", f"/enrollments/{world['enrollment']}/withdraw", headers=HTMX)
    assert "withdrawn" in response.get_data(as_text=True)


def test_htmx_enroll_learners(outage, admin, login_as, world, make_user):
    other = make_user("learner", name="Olga Other")
    response = _call(outage, login_as(admin), "POST", f"/courses/{world['course']}/enrollments",
                     headers=HTMX, data={"user_ids": [str(other.id)]})
    assert "Olga Other" in response.get_data(as_text=True)


def test_htmx_revoke_and_reinstate(outage, admin, login_as, world):
    cert_id, client = _certificate(world), login_as(admin)
    response = _call(outage, client, "POST", f"/certificates/{cert_id}/revoke", headers=HTMX,
                     data={"reason": "Fraud"})
    assert "Certificate revoked." in response.get_data(as_text=True)
    response = _call(outage, client, "POST", f"/certificates/{cert_id}/reinstate", headers=HTMX)
    assert "Certificate reinstated." in response.get_data(as_text=True)


def test_htmx_admin_user_row(outage, admin, login_as, learner):
    surgery = departments.find_or_create("Surgery", actor=admin)
    db.session.commit()
    response = _call(outage, login_as(admin), "POST", f"/admin/users/{learner.id}", headers=HTMX,
                     data={"role": "staff", "department_id": str(surgery.id), "active": "y"})
    assert "Surgery" in response.get_data(as_text=True)


def test_htmx_course_and_program_writes(outage, admin, login_as, world):
    client = login_as(admin)
    response = _call(outage, client, "POST", "/courses", headers=HTMX, data={"code": "DB-9", "title": "Nine"})
    assert "DB-9" in response.get_data(as_text=True)
    response = _call(outage, client, "POST", f"/courses/{world['course']}/archive", headers=HTMX)
    assert "DB-1" in response.get_data(as_text=True)
    response = _call(outage, client, "POST", "/certifications", headers=HTMX,
                     data={"name": "Created in htmx", "status": "draft"})
    assert "Created in htmx" in response.get_data(as_text=True)


def test_api_token_page(outage, admin, login_as):
    from app.services.accounts.tokens import TOKEN_PREFIX

    response = _call(outage, login_as(admin), "POST", "/profile/tokens", data={"name": "CI"})
    assert TOKEN_PREFIX in response.get_data(as_text=True)  # the only time the secret is shown


def test_integration_secret_rotation_page(outage, admin, login_as):
    hook, _ = registry.create("incoming", {"name": "LMS"}, actor="test")
    db.session.commit()
    response = _call(outage, login_as(admin), "POST", f"/integrations/{hook.id}/rotate-secret")
    assert "whsec_" in response.get_data(as_text=True)  # the only time the new secret is shown


def test_learner_sharing_and_inbox(outage, learner, login_as, world):
    cert_id = _certificate(world)
    client = login_as(learner)
    response = _call(outage, client, "POST", f"/me/certificates/{cert_id}/public", headers=HTMX,
                     data={"public": "1"})
    assert response.status_code == 200
    code = db.session.get(Certificate, cert_id).code
    # The public page writes nothing in the request (its views are counted in Redis and flushed by the
    # sweep), so there is no commit for an outage to follow: it simply answers.
    page = client.get(f"/s/{code}", follow_redirects=True)
    assert page.status_code == 200 and "Drops" in page.get_data(as_text=True)
    response = _call(outage, client, "POST", "/notifications/read-all", headers=HTMX)
    assert response.status_code == 200


def test_pdf_regeneration_status(outage, admin, login_as, world):
    cert_id = _certificate(world)
    response = _call(outage, login_as(admin), "POST", f"/certificates/{cert_id}/regenerate", headers=HTMX)
    assert response.status_code == 200
