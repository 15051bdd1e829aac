"""Issue #11 item 21: API request bodies are checked by jsonschema (Draft 2020-12, format checking) against
the very schemas the OpenAPI document publishes, with our short field messages and the 422 shape."""

from __future__ import annotations

import pytest
from jsonschema import Draft202012Validator
from sqlalchemy import func, select

from app.api import validation
from app.api.openapi import build_document
from app.api.schemas import BODIES
from app.extensions import db
from app.models import Certification, Course, User
from app.services.accounts import tokens
from app.services.errors import ValidationError
from app.services.lifecycle import catalog


@pytest.fixture
def auth(admin) -> dict:
    _, secret = tokens.create_token(admin, "schema")
    db.session.commit()
    return {"Authorization": f"Bearer {secret}"}


def _count(model) -> int:
    db.session.commit()
    return db.session.scalar(select(func.count()).select_from(model))


def test_every_body_is_checked_against_the_published_component(app):
    with app.test_request_context():
        document = build_document(app)
    for name, schema in BODIES.items():
        Draft202012Validator.check_schema(schema)
        assert document["components"]["schemas"][name] is schema  # one object: no drift possible
        assert validation.validator_for(schema).format_checker is validation.FORMATS
    bodies = {op["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
              for item in document["paths"].values() for op in item.values()
              if isinstance(op, dict) and "requestBody" in op and "$ref" in str(op["requestBody"])}
    assert bodies <= set(BODIES)


def test_array_items_are_checked_with_their_position(client, auth):
    response = client.post("/api/v1/certifications", headers=auth, json={
        "name": "Cert", "course_ids": [1, "two"], "reminder_days": [30, 0], "prerequisite_ids": [2**40]})
    assert response.status_code == 422
    assert response.get_json()["errors"] == {"course_ids": "Item 2: Must be a whole number.",
                                             "reminder_days": "Item 2: Must be at least 1.",
                                             "prerequisite_ids": "Item 1: Must be at most 2147483647."}
    assert _count(Certification) == 0


@pytest.mark.parametrize("email", ["lena@", "@example.com", "lena@@example.com", "lena@example",
                                   "lena example@example.com", "lena@exam_ple.com"])
def test_email_format_is_checked_by_email_validator(client, auth, email):
    response = client.post("/api/v1/users", headers=auth, json={"email": email, "name": "Lena"})
    assert response.status_code == 422
    assert response.get_json()["errors"]["email"] == "Not a valid email address."
    assert _count(User) == 1  # the admin only


def test_a_valid_email_still_creates_the_user(client, auth):
    response = client.post("/api/v1/users", headers=auth, json={"email": "lena@example.com", "name": "Lena"})
    assert response.status_code == 201, response.get_json()


@pytest.mark.parametrize("value", ["2026-13-01T00:00:00Z", "2026-02-30T10:00:00Z", "yesterday",
                                   "2026-01-01 10:00", "0001-01-01T00:00:00+14:00"])
def test_date_time_format_is_checked(client, auth, value):
    course = catalog.create_course({"code": "C-1", "title": "Course"}, actor="test")
    db.session.commit()
    response = client.post("/api/v1/enrollments", headers=auth, json={
        "user_id": 1, "course_id": course.id, "completed_at": value})
    assert response.status_code == 422
    assert response.get_json()["errors"]["completed_at"].startswith("Use an RFC 3339 date and time")


def test_every_problem_is_reported_at_once(client, auth):
    response = client.post("/api/v1/courses", headers=auth, json={
        "title": "", "capacity": 1e30, "starts_on": "2026-02-30", "colour": "red", "code": None})
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    assert response.get_json()["errors"] == {
        "title": "Must not be empty.", "capacity": "Must be at most 2147483647.",
        "starts_on": "Use a date like 2026-03-31.", "colour": "Unknown field.", "code": "Must be a string."}
    assert _count(Course) == 0


def test_missing_required_fields_and_a_non_object_body(client, auth):
    missing = client.post("/api/v1/courses", headers=auth, json={})
    assert missing.get_json()["errors"] == {"code": "This field is required.",
                                            "title": "This field is required."}
    listed = client.post("/api/v1/courses", headers=auth, json=[{"code": "C"}])
    assert listed.status_code == 422
    assert listed.get_json()["errors"] == {"": "The body must be a JSON object."}


# Keywords no published body uses yet still work: nothing is ignored silently any more.
NESTED = {"type": "object", "additionalProperties": False, "properties": {
    "contact": {"type": "object", "required": ["email"], "additionalProperties": False,
                "properties": {"email": {"type": "string", "format": "email"}}},
    "when": {"oneOf": [{"type": "string", "format": "date"}, {"type": "integer", "minimum": 2000}]},
    "tag": {"anyOf": [{"const": "a"}, {"const": "b"}]},
}}


def test_nested_objects_and_combinators_are_enforced():
    with pytest.raises(ValidationError) as refused:
        validation.check_body({"contact": {"email": "nope"}, "when": 1999, "tag": "c"}, NESTED)
    assert refused.value.errors == {"contact": "email: Not a valid email address.",
                                    "when": "Does not match exactly one of the allowed forms.",
                                    "tag": "Does not match any of the allowed forms."}
    with pytest.raises(ValidationError) as missing:
        validation.check_body({"contact": {}}, NESTED)
    assert missing.value.errors == {"contact": "email: This field is required."}
    with pytest.raises(ValidationError) as unknown:
        validation.check_body({"contact": {"email": "a@example.com", "phone": "1"}}, NESTED)
    assert unknown.value.errors == {"contact": "phone: Unknown field."}
    assert validation.check_body({"contact": {"email": "a@example.com"}, "when": "2026-01-02", "tag": "a"},
                                 NESTED)["tag"] == "a"


def test_whole_floats_reach_the_services_as_integers():
    body = validation.check_body({"capacity": 3.0, "code": "C", "title": "T"}, BODIES["CourseCreate"])
    assert body["capacity"] == 3 and isinstance(body["capacity"], int)


def test_query_parameters_use_the_same_checks(client, auth):
    response = client.get("/api/v1/courses?page=0&per_page=201", headers=auth)
    assert response.status_code == 422
    assert response.get_json()["errors"] == {"page": "Must be at least 1.",
                                             "per_page": "Must be at most 200."}
