"""The OpenAPI document stays true: every /api/ route is in it, nothing else is, and it is valid 3.1."""

from __future__ import annotations

import pytest

from app.api.openapi import HTTP_METHODS, api_rules, build_document, methods, openapi_path, operation_for
from app.api.schemas import BODIES


@pytest.fixture
def document(app, anon):
    return anon.get("/openapi.json").get_json()


def test_every_api_route_is_documented_and_vice_versa(app, document):
    routes = {(openapi_path(rule), method) for rule in api_rules(app) for method in methods(rule)}
    documented = {(path, method) for path, item in document["paths"].items() for method in item
                  if method in HTTP_METHODS}
    assert routes - documented == set(), "API routes missing from the OpenAPI document"
    assert documented - routes == set(), "documented operations that no route serves"


def test_every_api_route_is_an_endpoint_of_the_one_blueprint(app):
    """One /api/v1 blueprint, every route declared with @endpoint: nothing is described by hand."""
    for rule in api_rules(app):
        assert rule.endpoint.startswith("api."), rule.rule
        assert operation_for(app, rule.endpoint) is not None, f"{rule.rule}: no @endpoint"


def test_the_issue_endpoints_are_there(document):
    expected = {
        "/api/v1/courses": {"get", "post"}, "/api/v1/courses/{id}": {"get", "patch", "delete"},
        "/api/v1/certifications": {"get", "post"}, "/api/v1/certifications/{id}": {"get", "patch", "delete"},
        "/api/v1/users": {"get", "post"}, "/api/v1/users/{id}": {"get", "patch"},
        "/api/v1/enrollments": {"get", "post"}, "/api/v1/enrollments/{id}": {"get", "patch"},
        "/api/v1/certificates": {"get"}, "/api/v1/certificates/{id}": {"get"},
        "/api/v1/certificates/{id}/revoke": {"post"}, "/api/v1/certificates/{id}/reinstate": {"post"},
        "/api/v1/stats": {"get"}, "/api/v1/openapi.json": {"get"}, "/api/v1/me": {"get"},
        "/api/v1/analytics": {"get"}, "/api/v1/analytics/{name}": {"get"},
        "/api/v1/integrations": {"get", "post"}, "/api/v1/integrations/health": {"get"},
        "/api/v1/integrations/{id}": {"get", "patch", "delete"},
        "/api/v1/integrations/{id}/activate": {"post"}, "/api/v1/integrations/{id}/deactivate": {"post"},
        "/api/v1/integrations/{id}/test": {"post"}, "/api/v1/integrations/{id}/sync": {"post"},
        "/api/v1/integrations/{id}/logs": {"get"}, "/api/v1/integrations/{id}/deliveries": {"get"},
        "/api/v1/integrations/{id}/replay": {"post"}, "/api/v1/deliveries/{id}": {"get"},
        "/api/v1/deliveries/{id}/redeliver": {"post"}, "/api/v1/integrations/{id}/pdf-copies": {"get"},
        "/api/v1/integrations/{id}/pdf-copies/retry": {"post"},
        "/api/v1/integrations/{id}/pdf-copies/{copy_id}/retry": {"post"},
        "/api/v1/certificates/{id}/regenerate": {"post"}, "/api/v1/certifications/{id}/regenerate": {"post"},
    }
    for path, verbs in expected.items():
        assert set(document["paths"][path]) == verbs, path


def test_document_is_valid_openapi_3_1(document):
    validator = pytest.importorskip("openapi_spec_validator")
    validator.validate(document)


def test_every_operation_documents_its_errors(document):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method not in HTTP_METHODS:
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
    """Every call of the `as_*` clients is checked against the document (tests/api/conftest.py)."""
    index = as_staff.get("/api/v1/analytics")
    assert index.status_code == 200
    for figure in index.get_json()["figures"][:3]:
        assert as_staff.get(f"/api/v1/analytics/{figure['name']}").status_code == 200
    assert as_staff.get("/api/v1/analytics/status?from=nonsense").status_code == 422
    assert as_staff.get("/api/v1/analytics/nope").status_code == 404
    assert as_learner.get("/api/v1/analytics").status_code == 403


def test_app_wide_errors_are_on_every_operation(document):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            assert {"400", "401"} <= set(operation["responses"]), (path, method)
            if "requestBody" in operation:
                assert "413" in operation["responses"], (path, method)


def test_paths_with_two_placeholders_keep_their_names():
    """`Rule.arguments` is a set: naming placeholders in its order swapped them from run to run."""
    from werkzeug.routing import Map, Rule

    rule = Rule("/api/v1/things/<int:id>/parts/<int:part_id>/<any(a, b):action>")
    Map([rule])
    assert openapi_path(rule) == "/api/v1/things/{id}/parts/{part_id}/{action}"
