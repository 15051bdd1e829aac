"""API fixtures: bearer-token clients that check every response against the OpenAPI document, and a small
world (catalog, enrollments, certificates) built through the services."""

from __future__ import annotations

import copy
from dataclasses import dataclass

import jsonschema
import pytest
from sqlalchemy import select

from app.api.openapi import build_document, openapi_path
from app.api.schemas import RESOURCES
from app.extensions import db
from app.models import Enrollment
from app.services.accounts import tokens
from app.services.lifecycle import catalog, enrollment

STRICT = [*RESOURCES, *(f"{name}Page" for name in RESOURCES), "Stats"]


class Documented:
    """Validates a response against what the OpenAPI document says that operation answers."""

    def __init__(self, app):
        self.app = app
        with app.test_request_context():
            self.document = build_document(app)
        components = copy.deepcopy(self.document["components"])
        for name in STRICT:  # responses may not carry fields the document does not name
            components["schemas"][name]["additionalProperties"] = False
        self.components = components
        self.checked: set[tuple[str, str, str]] = set()

    def check(self, method: str, path: str, response) -> None:
        adapter = self.app.url_map.bind("localhost")
        try:
            endpoint, _ = adapter.match(path.split("?")[0], method=method)
        except Exception:  # noqa: BLE001 (unknown route or method: not an operation to check)
            return
        rule = next(r for r in self.app.url_map.iter_rules(endpoint) if method in r.methods)
        if not rule.rule.startswith("/api/"):
            return
        operation = self.document["paths"][openapi_path(rule)][method.lower()]
        status = str(response.status_code)
        assert status in operation["responses"], \
            f"{method} {path} answered {status}, not documented: {sorted(operation['responses'])}"
        self.checked.add((openapi_path(rule), method.lower(), status))
        documented = operation["responses"][status]
        if "content" not in documented:
            assert not response.get_data(), f"{method} {path} {status}: documented without a body"
            return
        media = response.mimetype
        assert media in documented["content"], f"{method} {path} {status}: {media} not documented"
        if not media.endswith("json"):  # a file (the certificate PDF): documented as binary
            assert documented["content"][media]["schema"].get("format") == "binary"
            assert response.get_data(), f"{method} {path} {status}: empty {media}"
            return
        schema = {**documented["content"][media]["schema"], "components": self.components}
        jsonschema.validate(response.get_json(), schema, cls=jsonschema.Draft202012Validator,
                            format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


@pytest.fixture(scope="session")
def documented(app):
    return Documented(app)


@dataclass
class Api:
    """A test client speaking to /api/v1 with a bearer token (or none); every answer is schema-checked."""

    client: object
    documented: Documented
    token: str | None = None

    def open(self, method: str, url: str, *, headers: dict | None = None, **kwargs):
        headers = dict(headers or {})
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        path = url if url.startswith("/api/") else f"/api/v1{url}"
        response = self.client.open(path, method=method, headers=headers, **kwargs)
        self.documented.check(method, path, response)
        return response

    def get(self, url: str, **kwargs):
        return self.open("GET", url, **kwargs)

    def post(self, url: str, **kwargs):
        return self.open("POST", url, **kwargs)

    def patch(self, url: str, **kwargs):
        return self.open("PATCH", url, **kwargs)

    def delete(self, url: str, **kwargs):
        return self.open("DELETE", url, **kwargs)


@pytest.fixture
def token_for():
    """token_for(user, name="test") -> the secret of a new API token (committed)."""

    def make(user, name: str = "test") -> str:
        _, secret = tokens.create_token(user, name)
        db.session.commit()
        return secret

    return make


@pytest.fixture
def api_as(app, documented, token_for):
    """api_as(user) -> an Api client with that user's token; api_as(None) -> no credentials."""

    def make(user=None, token: str | None = None) -> Api:
        secret = token or (token_for(user) if user is not None else None)
        return Api(app.test_client(), documented, secret)

    return make


@pytest.fixture
def as_admin(api_as, admin):
    return api_as(admin)


@pytest.fixture
def as_staff(api_as, staff):
    return api_as(staff)


@pytest.fixture
def as_learner(api_as, learner):
    return api_as(learner)


@pytest.fixture
def anon(api_as):
    return api_as(None)


@dataclass
class World:
    fa101: object
    fa102: object
    cpr: object
    first_aid: object
    draft: object
    lena_fa101: object
    lena_cert: object
    other: object
    other_enrollment: object
    other_cert: object


@pytest.fixture
def world(learner, make_user) -> World:
    """Two courses making "First Aid Level 2" (active, 24 months), a third course, a draft certification;
    Lena (the `learner`) and another learner each completed both courses and hold a certificate."""
    fa101 = catalog.create_course({"code": "FA-101", "title": "First aid basics", "category": "Safety"},
                                  actor="test")
    fa102 = catalog.create_course({"code": "FA-102", "title": "CPR and AED", "category": "Safety"},
                                  actor="test")
    cpr = catalog.create_course({"code": "IT-200", "title": "Spreadsheets", "category": "IT",
                                 "capacity": 2}, actor="test")
    first_aid = catalog.create_certification(
        {"name": "First Aid Level 2", "status": "active", "course_ids": [fa101.id, fa102.id], "min_score": 70,
         "validity_months": 24}, actor="test")
    draft = catalog.create_certification({"name": "Spreadsheet Wizard", "course_ids": [cpr.id]}, actor="test")
    other = make_user("learner", email="olga@example.com", name="Olga Other", department="Radiology")
    certs = {}
    for person in (learner, other):
        enrollment.record_completion(person, fa101, score=90, actor="test")
        certs[person.id] = enrollment.record_completion(person, fa102, score=80, actor="test")[0]
    db.session.commit()
    lena_fa101 = _enrollment(learner, fa101)
    other_enrollment = _enrollment(other, fa102)
    return World(fa101, fa102, cpr, first_aid, draft, lena_fa101, certs[learner.id], other, other_enrollment,
                 certs[other.id])


def _enrollment(user, course):
    return db.session.scalar(select(Enrollment).where(Enrollment.user_id == user.id,
                                                      Enrollment.course_id == course.id))
