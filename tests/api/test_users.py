"""/api/v1/users: staff read, learners only themselves, admins write; no DELETE."""

from __future__ import annotations

from app.extensions import db
from app.models import AuditEvent, OutboxEmail


def test_list_and_filters(as_staff, world):
    body = as_staff.get("/users").get_json()
    assert body["total"] == 3  # staff, Lena, Olga
    assert set(body["items"][0]) >= {"id", "email", "name", "role", "department", "active"}
    learners = as_staff.get("/users?role=learner").get_json()["items"]
    assert sorted(u["email"] for u in learners) == ["learner@example.com", "olga@example.com"]
    radiology = as_staff.get("/users?department=Radiology").get_json()["items"]
    assert [u["name"] for u in radiology] == ["Olga Other"]
    assert [u["name"] for u in as_staff.get("/users?q=OLGA").get_json()["items"]] == ["Olga Other"]
    bad = as_staff.get("/users?role=king")
    assert bad.status_code == 422 and "role" in bad.get_json()["errors"]


def test_learner_reads_only_their_own_record(as_learner, learner, world):
    assert as_learner.get(f"/users/{learner.id}").get_json()["email"] == "learner@example.com"
    assert as_learner.get(f"/users/{world.other.id}").status_code == 404


def test_create_user_and_invite(as_admin, smtp_server):
    response = as_admin.post("/users", json={"email": "New.Person@Example.com", "name": "New Person",
                                             "role": "staff", "department": "IT", "invite": True})
    assert response.status_code == 201
    user = response.get_json()
    assert user["email"] == "new.person@example.com" and user["role"] == "staff" and user["active"] is True
    assert as_admin.get(f"/users/{user['id']}").get_json() == user
    assert db.session.query(OutboxEmail).filter_by(to="new.person@example.com").count() == 1


def test_create_user_validation(as_admin, admin):
    duplicate = as_admin.post("/users", json={"email": "ADMIN@example.com", "name": "Twin"})
    assert duplicate.status_code == 422 and "email" in duplicate.get_json()["errors"]
    bad = as_admin.post("/users", json={"email": "nope", "name": "", "role": "king", "password": "x"})
    assert set(bad.get_json()["errors"]) == {"email", "name", "role", "password"}
    invalid_email = as_admin.post("/users", json={"email": "a@b@c", "name": "A"})
    assert "email" in invalid_email.get_json()["errors"]


def test_update_and_deactivate(as_admin, api_as, world, token_for):
    other_api = api_as(token=token_for(world.other))
    assert other_api.get("/me").status_code == 200
    response = as_admin.patch(f"/users/{world.other.id}", json={"name": "Olga O.", "department": None,
                                                               "role": "staff"})
    assert response.status_code == 200
    assert response.get_json() | {} == {"id": world.other.id, "email": "olga@example.com", "name": "Olga O.",
                                        "role": "staff", "department": None, "active": True,
                                        "reads_everything": False, "job_title": None}
    deactivated = as_admin.patch(f"/users/{world.other.id}", json={"active": False})
    assert deactivated.get_json()["active"] is False
    assert other_api.get("/me").status_code == 401
    assert db.session.query(AuditEvent).filter_by(action="user.deactivated").count() == 1


def test_update_validation_and_last_admin(as_admin, admin):
    assert as_admin.patch(f"/users/{admin.id}", json={"name": "  "}).status_code == 422
    assert as_admin.patch(f"/users/{admin.id}", json={"email": "x@example.com"}).status_code == 422
    assert as_admin.patch(f"/users/{admin.id}", json={"active": "no"}).status_code == 422
    last = as_admin.patch(f"/users/{admin.id}", json={"role": "learner"})
    assert last.status_code == 409 and "last active admin" in last.get_json()["detail"]
    assert as_admin.patch("/users/4242", json={"name": "X"}).status_code == 404


def test_no_delete(as_admin, admin):
    response = as_admin.delete(f"/users/{admin.id}")
    assert response.status_code == 405
    assert response.mimetype == "application/problem+json"


def test_the_staff_grant_is_read_and_set_through_the_api(as_admin):
    """The staff grant "Reads everything" (docs/departments.md) is part of a user in the API."""
    created = as_admin.post("/users", json={"email": "grant@example.com", "name": "Grant Holder",
                                            "role": "staff", "reads_everything": True}).get_json()
    assert created["reads_everything"] is True
    plain = as_admin.post("/users", json={"email": "plain@example.com", "name": "Plain Staff",
                                          "role": "staff"}).get_json()
    assert plain["reads_everything"] is False  # new staff read only their departments
    changed = as_admin.patch(f"/users/{created['id']}", json={"reads_everything": False})
    assert changed.status_code == 200 and changed.get_json()["reads_everything"] is False
    refused = as_admin.patch(f"/users/{created['id']}", json={"reads_everything": "yes"})
    assert refused.status_code == 422
    assert as_admin.get(f"/users/{created['id']}").get_json()["reads_everything"] is False
