"""Pagination, Link headers, request-body errors, and /stats."""

from __future__ import annotations

from app.extensions import db
from app.services.lifecycle import catalog


def _courses(n: int) -> None:
    for i in range(n):
        catalog.create_course({"code": f"C-{i:03d}", "title": f"Course {i}"}, actor="test")
    db.session.commit()


def test_pages_walk_every_item_once(as_staff):
    _courses(7)
    seen, url = [], "/courses?per_page=3&q=course"
    pages = 0
    while url:
        response = as_staff.get(url)
        body = response.get_json()
        assert body["per_page"] == 3 and body["total"] == 7
        assert 'rel="first"' in response.headers["Link"] and 'rel="last"' in response.headers["Link"]
        seen += [c["code"] for c in body["items"]]
        url = body["next"] and body["next"].removeprefix("http://localhost")
        if url:
            assert f'<{body["next"]}>; rel="next"' in response.headers["Link"]
            assert "q=course" in url
        pages += 1
    assert pages == 3 and seen == [f"C-{i:03d}" for i in range(7)]


def test_page_past_the_end_is_empty(as_staff):
    _courses(2)
    body = as_staff.get("/courses?page=5").get_json()
    assert body["items"] == [] and body["total"] == 2 and body["next"] is None


def test_default_and_maximum_page_size(as_staff):
    _courses(60)
    assert len(as_staff.get("/courses").get_json()["items"]) == 50
    assert len(as_staff.get("/courses?per_page=200").get_json()["items"]) == 60


def test_bad_paging_is_422(as_staff):
    for query, field in (("page=abc", "page"), ("page=0", "page"), ("per_page=201", "per_page"),
                         ("per_page=-1", "per_page"), ("page=99999999999999999999", "page"),
                         ("page=", "page")):
        response = as_staff.get(f"/courses?{query}")
        assert response.status_code == 422, query
        assert response.mimetype == "application/problem+json"
        assert field in response.get_json()["errors"], query


def test_bodies_must_be_json_objects(as_admin):
    wrong_type = as_admin.post("/courses", data="code=X&title=Y",
                               headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert wrong_type.status_code == 415 and "application/json" in wrong_type.get_json()["detail"]
    malformed = as_admin.post("/courses", data="{not json", headers={"Content-Type": "application/json"})
    assert malformed.status_code == 400 and "not valid JSON" in malformed.get_json()["detail"]
    not_object = as_admin.post("/courses", json=["code", "title"])
    assert not_object.status_code == 422 and "" in not_object.get_json()["errors"]
    nan = as_admin.post("/courses", data='{"code": "N", "title": "N", "capacity": NaN}',
                        headers={"Content-Type": "application/json"})
    assert nan.status_code in (400, 422)


def test_unknown_api_paths_are_problem_json(as_admin, anon):
    response = as_admin.get("/api/v1/nothing-here")
    assert response.status_code == 404 and response.mimetype == "application/problem+json"
    assert anon.get("/api/v1/nothing-here").status_code == 404


def test_stats_are_the_dashboard_tiles(as_staff, world):
    body = as_staff.get("/stats").get_json()
    assert body | {"generated_at": None} == {
        "certificates_valid": 2, "active_certifications": 1, "learners": 2, "completion_rate": 100.0,
        "issued_this_month": 2, "expiring_30_days": 0, "generated_at": None}


def test_values_postgresql_cannot_store_are_422_not_500(as_admin, world):
    nul = as_admin.post("/courses", json={"code": "N-1", "title": "a\x00b"})
    assert nul.status_code == 422 and "title" in nul.get_json()["errors"]
    assert as_admin.get("/courses?q=a%00b").status_code == 400  # app-wide (app/web/inputs.py), documented
    edge = as_admin.patch(f"/enrollments/{world.lena_fa101.id}",
                          json={"completed_at": "0001-01-01T00:00:00+14:00"})
    assert edge.status_code == 422 and "completed_at" in edge.get_json()["errors"]
    huge = as_admin.post("/courses", json={"code": "H-1", "title": "H", "capacity": 10**30})
    assert huge.status_code == 422 and "capacity" in huge.get_json()["errors"]
    assert as_admin.get("/certificates?user_id=99999999999").status_code == 422
