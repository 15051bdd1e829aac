"""/api/v1/courses."""

from __future__ import annotations

from app.extensions import db
from app.models import AuditEvent, Course


def test_list_has_the_contract_fields(as_learner, world):
    body = as_learner.get("/courses").get_json()
    assert body["total"] == 3 and body["page"] == 1 and body["per_page"] == 50 and body["next"] is None
    first = body["items"][0]
    assert {"id", "code", "title", "category", "description"} <= first.keys()
    assert first["code"] == "FA-101" and first["category"] == "Safety"


def test_filters(as_staff, world):
    assert [c["code"] for c in as_staff.get("/courses?category=IT").get_json()["items"]] == ["IT-200"]
    assert [c["code"] for c in as_staff.get("/courses?q=cpr").get_json()["items"]] == ["FA-102"]
    assert as_staff.get("/courses?q=nothing-like-this").get_json()["total"] == 0


def test_bad_filters_are_422(as_staff):
    response = as_staff.get("/courses?include_archived=maybe&page=abc")
    assert response.status_code == 422
    assert set(response.get_json()["errors"]) == {"include_archived", "page"}


def test_create_get_update_delete(as_admin, admin):
    response = as_admin.post("/courses", json={"code": "HS-1", "title": "Hygiene", "category": "Safety",
                                               "description": "Wash hands", "capacity": 10,
                                               "starts_on": "2026-01-05", "ends_on": "2026-02-05"})
    assert response.status_code == 201
    course = response.get_json()
    assert response.headers["Location"].endswith(f"/api/v1/courses/{course['id']}")
    assert course["code"] == "HS-1" and course["capacity"] == 10 and course["starts_on"] == "2026-01-05"
    assert as_admin.get(f"/courses/{course['id']}").get_json() == course

    updated = as_admin.patch(f"/courses/{course['id']}", json={"title": "Hand hygiene", "category": None})
    assert updated.status_code == 200
    assert updated.get_json()["title"] == "Hand hygiene" and updated.get_json()["category"] is None
    assert updated.get_json()["description"] == "Wash hands"  # untouched

    assert as_admin.delete(f"/courses/{course['id']}").status_code == 204
    assert as_admin.get(f"/courses/{course['id']}").status_code == 404
    actions = [e.action for e in db.session.query(AuditEvent).order_by(AuditEvent.id)]
    assert actions[-3:] == ["course.created", "course.updated", "course.deleted"]
    assert db.session.query(AuditEvent).filter_by(action="course.created").one().actor_id == admin.id


def test_validation_errors_are_field_maps(as_admin, world):
    response = as_admin.post("/courses", json={"code": "", "title": 5, "capacity": 0, "colour": "red"})
    assert response.status_code == 422
    assert set(response.get_json()["errors"]) == {"code", "title", "capacity", "colour"}
    missing = as_admin.post("/courses", json={}).get_json()["errors"]
    assert set(missing) == {"code", "title"}
    taken = as_admin.post("/courses", json={"code": "fa-101", "title": "Again"})
    assert taken.status_code == 422 and "code" in taken.get_json()["errors"]
    dates = as_admin.post("/courses", json={"code": "D-1", "title": "D", "starts_on": "2026-02-30"})
    assert "starts_on" in dates.get_json()["errors"]
    order = as_admin.patch(f"/courses/{world.cpr.id}", json={"starts_on": "2026-05-01",
                                                             "ends_on": "2026-04-01"})
    assert order.status_code == 422 and "ends_on" in order.get_json()["errors"]
    assert db.session.get(Course, world.cpr.id).starts_on is None  # nothing changed


def test_course_with_enrollments_cannot_be_deleted_but_archived(as_admin, world):
    response = as_admin.delete(f"/courses/{world.fa101.id}")
    assert response.status_code == 409
    assert "archive" in response.get_json()["detail"]
    archived = as_admin.patch(f"/courses/{world.fa101.id}", json={"archived": True})
    assert archived.get_json()["archived"] is True
    codes = [c["code"] for c in as_admin.get("/courses").get_json()["items"]]
    assert "FA-101" not in codes
    assert "FA-101" in [c["code"] for c in as_admin.get("/courses?include_archived=true").get_json()["items"]]


def test_unknown_ids_are_404(as_admin):
    for method, url in (("GET", "/courses/999"), ("PATCH", "/courses/999"), ("DELETE", "/courses/999"),
                        ("GET", "/courses/99999999999999999999999")):
        response = as_admin.open(method, url, json={} if method == "PATCH" else None)
        assert response.status_code == 404, (method, url)
        assert response.mimetype == "application/problem+json"
