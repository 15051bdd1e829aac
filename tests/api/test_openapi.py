"""The OpenAPI document stays true: every /api/ route is in it, nothing else is, and it is valid 3.1."""

from __future__ import annotations

import pytest

from app.api import external
from app.api.openapi import api_rules, build_document, methods, openapi_path
from app.api.schemas import BODIES


@pytest.fixture
def document(app, anon):
    return anon.get("/openapi.json").get_json()


def test_every_api_route_is_documented_and_vice_versa(app, document):
    routes = {(openapi_path(rule), method) for rule in api_rules(app) for method in methods(rule)}
    documented = {(path, method) for path, item in document["paths"].items() for method in item
                  if method in external.HTTP_METHODS}
    assert routes - documented == set(), "API routes missing from the OpenAPI document"
    assert documented - routes == set(), "documented operations that no route serves"


def test_the_issue_endpoints_are_there(document):
    expected = {
        "/api/v1/courses": {"get", "post"}, "/api/v1/courses/{id}": {"get", "patch", "delete"},
        "/api/v1/certifications": {"get", "post"}, "/api/v1/certifications/{id}": {"get", "patch", "delete"},
        "/api/v1/users": {"get", "post"}, "/api/v1/users/{id}": {"get", "patch"},
        "/api/v1/enrollments": {"get", "post"}, "/api/v1/enrollments/{id}": {"get", "patch"},
        "/api/v1/certificates": {"get"}, "/api/v1/certificates/{id}": {"get"},
        "/api/v1/certificates/{id}/revoke": {"post"}, "/api/v1/certificates/{id}/reinstate": {"post"},
        "/api/v1/stats": {"get"}, "/api/v1/openapi.json": {"get"}, "/api/v1/me": {"get"},
    }
    for path, verbs in expected.items():
        assert set(document["paths"][path]) == verbs, path


def test_document_is_valid_openapi_3_1(document):
    validator = pytest.importorskip("openapi_spec_validator")
    validator.validate(document)


def test_every_operation_documents_its_errors(document):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method not in external.HTTP_METHODS:
                continue  # path-level parameters, summary...
            responses = operation["responses"]
            assert operation["operationId"]
            if operation.get("security") != []:
                assert "401" in responses, (path, method)
            if "{" in path:
                assert "404" in responses, (path, method)
            if operation.get("requestBody") or any(p["in"] == "query" for p in operation["parameters"]):
                assert responses["422"]["content"]["application/problem+json"]["schema"]["$ref"].endswith(
                    "/ValidationProblem"), (path, method)


def test_request_bodies_refuse_unknown_fields(document):
    for name in BODIES:
        schema = document["components"]["schemas"][name]
        assert schema["additionalProperties"] is False, name


def test_status_fields_are_enums(document):
    schemas = document["components"]["schemas"]
    for name in ("Certification", "Enrollment", "Certificate", "User"):
        field = "role" if name == "User" else "status"
        assert schemas[name]["properties"][field]["enum"], name


def test_document_builds_outside_a_request(app):
    assert build_document(app)["openapi"] == "3.1.0"


def test_analytics_routes_answer_as_documented(as_staff, as_learner, world):
    """The analytics API lives in another blueprint; its description here must match what it answers."""
    index = as_staff.get("/api/v1/analytics")
    assert index.status_code == 200
    for figure in index.get_json()["figures"][:3]:
        assert as_staff.get(f"/api/v1/analytics/{figure['name']}").status_code == 200
    assert as_staff.get("/api/v1/analytics/status?from=nonsense").status_code == 422
    assert as_learner.get("/api/v1/analytics").status_code == 403


def test_fragments_are_found_by_convention(app):
    """app/api/analytics.py serves /api/ routes, so app/api/analytics_openapi.py describes them (no list)."""
    assert "app.api.analytics_openapi" in {module.__name__ for module in external.fragments(app)}


def test_fragments_may_have_path_level_keys_and_get_the_app_wide_errors(app, monkeypatch):
    fragment = {"/api/v1/things/{id}": {
        "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}],
        "get": {"summary": "A thing", "tags": ["Things"], "responses": {"200": {"description": "OK"}}},
        "put": {"summary": "Replace", "requestBody": {"content": {"application/json": {"schema": {}}}},
                "responses": {"401": {"description": "Theirs, kept"}}}}}
    monkeypatch.setattr(external, "paths", lambda app=None: fragment)
    item = build_document(app)["paths"]["/api/v1/things/{id}"]
    assert item["parameters"] == fragment["/api/v1/things/{id}"]["parameters"]
    assert set(item["get"]["responses"]) == {"200", "400", "401"}
    assert set(item["put"]["responses"]) == {"400", "401", "413"}
    assert item["put"]["responses"]["401"]["description"] == "Theirs, kept"
    assert set(fragment["/api/v1/things/{id}"]["put"]["responses"]) == {"401"}  # the fragment is not mutated


def test_paths_with_two_placeholders_keep_their_names():
    """`Rule.arguments` is a set: naming placeholders in its order swapped them from run to run."""
    from werkzeug.routing import Map, Rule

    rule = Rule("/api/v1/things/<int:id>/parts/<int:part_id>/<any(a, b):action>")
    Map([rule])
    assert openapi_path(rule) == "/api/v1/things/{id}/parts/{part_id}/{action}"
