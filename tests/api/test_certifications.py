"""/api/v1/certifications."""

from __future__ import annotations

CONTRACT = {"id", "name", "description", "status", "course_ids", "min_score", "prerequisite_ids",
            "validity_months", "renewal_window_days", "reminder_days"}


def test_list_and_filters(as_learner, world):
    body = as_learner.get("/certifications").get_json()
    assert [c["name"] for c in body["items"]] == ["First Aid Level 2", "Spreadsheet Wizard"]
    assert body["items"][0].keys() >= CONTRACT
    assert body["items"][0]["course_ids"] == [world.fa101.id, world.fa102.id]
    active = as_learner.get("/certifications?status=active").get_json()["items"]
    assert [c["name"] for c in active] == ["First Aid Level 2"]
    assert as_learner.get("/certifications?q=wizard").get_json()["total"] == 1
    bad = as_learner.get("/certifications?status=nonsense")
    assert bad.status_code == 422 and "status" in bad.get_json()["errors"]


def test_create_with_every_field(as_admin, world):
    response = as_admin.post("/certifications", json={
        "name": "Advanced First Aid", "description": "Level 3", "status": "active",
        "course_ids": [world.fa102.id], "min_score": 75.5, "prerequisite_ids": [world.first_aid.id],
        "validity_months": 12, "renewal_window_days": 60, "reminder_days": [7, 60, 30]})
    assert response.status_code == 201, response.get_json()
    cert = response.get_json()
    assert cert["prerequisite_ids"] == [world.first_aid.id] and cert["reminder_days"] == [60, 30, 7]
    assert cert["min_score"] == 75.5 and cert["validity_months"] == 12 and cert["renewal_window_days"] == 60
    assert as_admin.get(f"/certifications/{cert['id']}").get_json() == cert


def test_defaults(as_admin):
    cert = as_admin.post("/certifications", json={"name": "Bare"}).get_json()
    assert cert["status"] == "draft" and cert["validity_months"] is None
    assert cert["renewal_window_days"] == 90 and cert["reminder_days"] == [90, 30, 7]


def test_validation(as_admin, world):
    response = as_admin.post("/certifications", json={
        "name": "First Aid Level 2", "status": "active", "course_ids": [999], "min_score": 120,
        "validity_months": "twelve", "reminder_days": [0]})
    assert response.status_code == 422
    # Types and ranges are checked against the schema first; business rules (unknown ids) after.
    assert set(response.get_json()["errors"]) == {"min_score", "validity_months", "reminder_days"}
    name_taken = as_admin.post("/certifications", json={"name": "first aid level 2"})
    assert "name" in name_taken.get_json()["errors"]
    unknown = as_admin.post("/certifications", json={"name": "X", "course_ids": [999]})
    assert "course_ids" in unknown.get_json()["errors"]
    active_without_courses = as_admin.post("/certifications", json={"name": "Y", "status": "active"})
    assert "course_ids" in active_without_courses.get_json()["errors"]


def test_prerequisite_cycle_is_refused(as_admin, world):
    child = as_admin.post("/certifications", json={"name": "Child",
                                                   "prerequisite_ids": [world.first_aid.id]}).get_json()
    response = as_admin.patch(f"/certifications/{world.first_aid.id}",
                              json={"prerequisite_ids": [child["id"]]})
    assert response.status_code == 422 and "prerequisite_ids" in response.get_json()["errors"]


def test_update_and_archive(as_admin, world):
    response = as_admin.patch(f"/certifications/{world.first_aid.id}", json={"status": "archived",
                                                                            "validity_months": None})
    assert response.status_code == 200
    assert response.get_json()["status"] == "archived" and response.get_json()["validity_months"] is None


def test_delete_rules(as_admin, world):
    refused = as_admin.delete(f"/certifications/{world.first_aid.id}")
    assert refused.status_code == 409 and "archive" in refused.get_json()["detail"]
    assert as_admin.delete(f"/certifications/{world.draft.id}").status_code == 204
    assert as_admin.get(f"/certifications/{world.draft.id}").status_code == 404
    assert as_admin.delete(f"/certifications/{world.draft.id}").status_code == 404
