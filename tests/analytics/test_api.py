"""GET /api/v1/analytics[/<name>]: JSON for every figure, same filters as the page, checked against the
API's OpenAPI document (the analytics endpoints are @endpoint views of the one /api/v1 blueprint)."""

from __future__ import annotations

import functools

import jsonschema
import pytest
from flask import current_app

from app.api.openapi import build_document
from app.services.accounts import tokens
from app.services.analytics import figures


@functools.cache
def _document(app) -> dict:
    with app.test_request_context():
        return build_document(app)


def check(response, path: str = "/api/v1/analytics/{name}") -> dict:
    """The response is one the document describes, with a body that matches its schema."""
    document = _document(current_app._get_current_object())
    operation = document["paths"][path]["get"]
    documented = operation["responses"][str(response.status_code)]
    media = response.mimetype
    schema = {**documented["content"][media]["schema"], "components": document["components"]}
    body = response.get_json()
    jsonschema.validate(body, schema, cls=jsonschema.Draft202012Validator,
                        format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    return body


@pytest.fixture
def bearer(world, app, frozen):
    """An admin's API client using a bearer token (no session, no CSRF)."""
    _, secret = tokens.create_token(world.users["admin"], "analytics tests", actor="test")
    from app.extensions import db

    db.session.commit()
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {secret}"
    return client


def test_index_lists_every_figure(bearer):
    response = bearer.get("/api/v1/analytics")
    body = check(response, "/api/v1/analytics")
    assert [f["name"] for f in body["figures"]] == list(figures.FIGURES)
    assert body["figures"][0]["url"] == "/api/v1/analytics/issued-per-month"


@pytest.mark.parametrize("name", list(figures.FIGURES))
def test_every_figure_answers_documented_json(bearer, name):
    response = bearer.get(f"/api/v1/analytics/{name}")
    assert response.status_code == 200
    body = check(response)
    assert body["name"] == name and body["filters"]["department"] is None


def test_chart_with_filters_matches_hand_counts(bearer, world):
    body = check(bearer.get("/api/v1/analytics/status?department=Nursing&from=2026-01-01"))
    assert dict(zip(body["labels"], body["datasets"][0]["data"], strict=True)) == {
        "Valid": 3, "Expiring": 1, "Expired": 0, "Revoked": 0}
    assert body["filters"] == {"from": "2026-01-01", "to": None, "certification": None,
                               "department": "Nursing", "category": None}
    body = check(bearer.get("/api/v1/analytics/issued-per-month"))
    assert sum(body["datasets"][0]["data"]) == 7 and len(body["labels"]) == 12


def test_table_limit(bearer):
    body = check(bearer.get("/api/v1/analytics/recent-completions?limit=3"))
    assert len(body["rows"]) == 3 and body["limit"] == 3
    assert body["rows"][0]["course_code"] == "LD-300"
    body = check(bearer.get("/api/v1/analytics/expiring"))
    assert body["summary"] == {"within": {"30": 1, "60": 1, "90": 1}, "total": 3}


@pytest.mark.parametrize("query, field", [
    ("from=2026-02-30", "from"), ("to=tomorrow", "to"), ("from=2026-05-02&to=2026-05-01", "to"),
    ("certification=0", "certification"), ("certification=1e3", "certification"),
    ("certification=123456789", "certification"), ("certification=99999999999999999999999", "certification"),
("category=" + "x" * 121, "category"), ("limit=0", "limit"),
    ("limit=1001", "limit"), ("limit=-5", "limit"), ("from=0001-01-01", "from"), ("from=9999-12-31", "from"),
])
def test_bad_filters_are_422_problems(bearer, query, field):
    response = bearer.get(f"/api/v1/analytics/top-performers?{query}")
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    assert field in check(response)["errors"]


def test_unknown_figure_is_404_problem(bearer):
    response = bearer.get("/api/v1/analytics/nope")
    assert response.status_code == 404 and response.mimetype == "application/problem+json"
    check(response)


def test_roles(world, app, login_as, frozen):
    assert check(app.test_client().get("/api/v1/analytics/status"))["status"] == 401
    learner = login_as(world.users["ann"])
    response = learner.get("/api/v1/analytics/status")
    assert response.status_code == 403 and check(response)["status"] == 403
    _, secret = tokens.create_token(world.users["ann"], "t", actor="test")
    from app.extensions import db

    db.session.commit()
    response = app.test_client().get("/api/v1/analytics", headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 403
    staff = login_as(world.users["staff"])
    assert staff.get("/api/v1/analytics/by-department").status_code == 200
