"""What schemathesis found (tests/api/test_schemathesis.py), pinned as plain regression tests."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("code", ["ÀÉ-1", "Ωmega", "\U000f62f2oN"])
def test_an_exact_duplicate_non_ascii_course_code_is_422_not_500(as_admin, code):
    """The uniqueness check compared lower(code) in SQL with Python's lower(): SQLite folds ASCII only,
    so an exact duplicate of a non-ASCII code slipped through to the unique index (IntegrityError, 500)."""
    assert as_admin.post("/courses", json={"code": code, "title": "First"}).status_code == 201
    again = as_admin.post("/courses", json={"code": code, "title": "Second"})
    assert again.status_code == 422 and "code" in again.get_json()["errors"]
    other = as_admin.post("/courses", json={"code": "X-1", "title": "Other"}).get_json()
    renamed = as_admin.patch(f"/courses/{other['id']}", json={"code": code})
    assert renamed.status_code == 422 and "code" in renamed.get_json()["errors"]


def test_an_exact_duplicate_non_ascii_certification_name_is_422_not_500(as_admin):
    assert as_admin.post("/certifications", json={"name": "Ärztliche Hilfe"}).status_code == 201
    again = as_admin.post("/certifications", json={"name": "Ärztliche Hilfe"})
    assert again.status_code == 422 and "name" in again.get_json()["errors"]


def test_a_form_body_is_415_even_after_the_app_wide_nul_check_read_it(as_admin):
    """app/web/inputs.py reads request.form on every request, which consumes a form body: the API took
    the empty stream for "no body" and answered 422 (missing fields) instead of 415."""
    response = as_admin.post("/courses", data={"code": "F-1", "title": "Form"})
    assert response.status_code == 415
    empty = as_admin.post("/courses", data="", headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert empty.status_code == 422  # nothing sent: an empty body, missing its required fields


def test_a_nul_in_any_query_string_is_a_documented_400(as_admin, as_staff):
    """The app refuses NUL characters before any view runs; every operation documents that 400, which the
    `as_*` clients check."""
    for client, url in ((as_admin, "/me?x=%00"), (as_admin, "/courses?q=a%00b"),
                        (as_staff, "/api/v1/analytics/status?department=a%00"),
                        (as_admin, "/openapi.json?x=%00")):
        response = client.get(url)
        assert response.status_code == 400, url
        assert response.mimetype == "application/problem+json"


def test_a_bad_token_is_a_documented_401_even_where_none_is_needed(api_as):
    assert api_as(None, token="lau_nonsense").get("/openapi.json").status_code == 401
