"""/api/v1/enrollments: learners see their own; completing through the API issues certificates."""

from __future__ import annotations

from app.extensions import db
from app.models import AuditEvent, Certificate

CONTRACT = {"id", "user_id", "course_id", "status", "progress", "score", "completed_at"}


def test_learner_sees_only_their_own(as_learner, learner, world):
    items = as_learner.get("/enrollments").get_json()["items"]
    assert len(items) == 2 and {e["user_id"] for e in items} == {learner.id}
    assert set(items[0]) == CONTRACT
    assert as_learner.get(f"/enrollments?user_id={world.other.id}").get_json()["total"] == 0
    assert as_learner.get(f"/enrollments/{world.lena_fa101.id}").status_code == 200
    assert as_learner.get(f"/enrollments/{world.other_enrollment.id}").status_code == 404


def test_staff_filters(as_staff, learner, world):
    assert as_staff.get("/enrollments").get_json()["total"] == 4
    assert as_staff.get(f"/enrollments?user_id={learner.id}").get_json()["total"] == 2
    by_course = as_staff.get(f"/enrollments?course_id={world.fa102.id}&status=completed").get_json()
    assert by_course["total"] == 2 and {e["course_id"] for e in by_course["items"]} == {world.fa102.id}
    assert as_staff.get("/enrollments?status=withdrawn").get_json()["total"] == 0
    bad = as_staff.get("/enrollments?status=nonsense&course_id=x&user_id=0")
    assert bad.status_code == 422 and set(bad.get_json()["errors"]) == {"status", "course_id", "user_id"}


def test_enroll_and_complete_issues_a_certificate(as_admin, make_user, world):
    newcomer = make_user("learner", email="nia@example.com", name="Nia New")
    first = as_admin.post("/enrollments", json={"user_id": newcomer.id, "course_id": world.fa101.id})
    assert first.status_code == 201
    assert first.get_json() | {"id": 0} == {"id": 0, "user_id": newcomer.id, "course_id": world.fa101.id,
                                            "status": "enrolled", "progress": 0, "score": None,
                                            "completed_at": None}
    assert first.headers["Location"].endswith(f"/api/v1/enrollments/{first.get_json()['id']}")
    progress = as_admin.patch(f"/enrollments/{first.get_json()['id']}", json={"status": "in_progress",
                                                                             "progress": 40})
    assert progress.get_json()["progress"] == 40
    as_admin.patch(f"/enrollments/{first.get_json()['id']}", json={"status": "completed", "score": 88})
    second = as_admin.post("/enrollments", json={"user_id": newcomer.id, "course_id": world.fa102.id,
                                                 "status": "completed", "score": 91,
                                                 "completed_at": "2026-01-15T10:00:00Z"})
    assert second.status_code == 201, second.get_json()
    assert second.get_json()["completed_at"].startswith("2026-01-15T10:00:00")
    certificate = db.session.query(Certificate).filter_by(user_id=newcomer.id).one()
    assert certificate.certification_id == world.first_aid.id
    assert db.session.query(AuditEvent).filter_by(action="enrollment.created").count() >= 2


def test_duplicates_capacity_and_bad_values(as_admin, learner, world, make_user):
    duplicate = as_admin.post("/enrollments", json={"user_id": learner.id, "course_id": world.fa101.id})
    assert duplicate.status_code == 422 and "user_id" in duplicate.get_json()["errors"]
    unknown = as_admin.post("/enrollments", json={"user_id": 999, "course_id": world.fa101.id})
    assert unknown.status_code == 422 and "user_id" in unknown.get_json()["errors"]
    for _ in range(2):
        person = make_user("learner")
        assert as_admin.post("/enrollments", json={"user_id": person.id,
                                                   "course_id": world.cpr.id}).status_code == 201
    full = as_admin.post("/enrollments", json={"user_id": learner.id, "course_id": world.cpr.id})
    assert full.status_code == 422 and "full" in full.get_json()["errors"]["course_id"]
    bad = as_admin.patch(f"/enrollments/{world.lena_fa101.id}", json={
        "status": "done", "progress": 101, "score": "high", "completed_at": "yesterday"})
    assert set(bad.get_json()["errors"]) == {"status", "progress", "score", "completed_at"}
    future = as_admin.patch(f"/enrollments/{world.lena_fa101.id}",
                            json={"completed_at": "2999-01-01T00:00:00Z"})
    assert future.status_code == 422 and "completed_at" in future.get_json()["errors"]


def test_a_refused_create_leaves_nothing_behind(as_admin, make_user, world):
    person = make_user("learner")
    response = as_admin.post("/enrollments", json={
        "user_id": person.id, "course_id": world.fa101.id, "status": "completed",
        "completed_at": "2999-01-01T00:00:00Z"})
    assert response.status_code == 422
    assert as_admin.get(f"/enrollments?user_id={person.id}").get_json()["total"] == 0


def test_withdraw(as_admin, world):
    response = as_admin.patch(f"/enrollments/{world.other_enrollment.id}", json={"status": "withdrawn"})
    assert response.status_code == 200 and response.get_json()["status"] == "withdrawn"
    assert as_admin.get("/enrollments/424242").status_code == 404
