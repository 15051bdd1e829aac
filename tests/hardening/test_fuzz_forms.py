"""Issue #11 fuzz: every HTML form POST route, as an admin, with hostile values (huge numbers, control
characters, very long strings, unicode, empty, NaN spellings) in every field any form of the app reads.
Whatever they are, the answer is never a 5xx.

Bounded and derandomised for CI (about a minute): FORM_FUZZ_EXAMPLES (default 6) per route. To dig deeper
locally: `FORM_FUZZ_EXAMPLES=100 FORM_FUZZ_RANDOM=1 .venv/bin/pytest tests/hardening/test_fuzz_forms.py`.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from flask import Flask
from flask_wtf import FlaskForm
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir
from wtforms.fields.core import UnboundField

from app import _register_blueprints as register_blueprints
from app.extensions import db
from app.models import Enrollment
from app.services.accounts import tokens
from app.services.documents import designer
from app.services.integrations import registry
from app.services.lifecycle import catalog, enrollment
from app.services.messaging import notifications

EXAMPLES = int(os.environ.get("FORM_FUZZ_EXAMPLES", "6"))
RANDOM = os.environ.get("FORM_FUZZ_RANDOM") == "1"
set_hypothesis_home_dir(Path(os.environ["LAUREL_INSTANCE_PATH"]) / "hypothesis")  # not ./.hypothesis

# Routes that end the admin's session (the rest of the run would test the login page) or are not forms.
SKIPPED = {"accounts.logout", "accounts.change_password"}
# Fields read straight from request.form by views (not declared on a FlaskForm).
RAW_FIELDS = ("user_ids", "export_id", "template_id", "archived", "public", "frequency", "next", "token",
              "email", "recipients", "message", "key_id")


def _post_rules() -> list[tuple[str, str]]:
    bare = Flask(__name__)
    register_blueprints(bare)  # routes only, known at collection time
    rules = [(r.endpoint, r.rule) for r in bare.url_map.iter_rules() if "POST" in r.methods
             and not r.rule.startswith(("/api/", "/hooks/")) and r.endpoint not in SKIPPED]
    return sorted(rules)


def _form_fields() -> list[str]:
    names: set[str] = set(RAW_FIELDS)
    pending = list(FlaskForm.__subclasses__())
    while pending:
        form = pending.pop()
        pending += form.__subclasses__()
        names.update(name for name in dir(form) if isinstance(getattr(form, name, None), UnboundField))
    return sorted(names - {"csrf_token"})


HUGE = ["1" + "0" * 30, "9" * 5000, "-" + "9" * 25, "2147483648", "-2147483649"]
NUMBERISH = ["", "0", "-1", "NaN", "sNaN", "-Infinity", "1e400", "1e-400", "0x10", "²", "١٢", " 7 "]
DATES = ["2026-02-30", "0001-01-01", "9999-12-31", "2026-01-01T25:00:00Z", "99999-01-01"]
CONTROL = st.text(st.characters(codec="utf-8", categories=["Cc", "Cf", "Zl", "Zp"],
                                exclude_characters="\x00"), min_size=1, max_size=20)
LONG = st.builds(lambda char, n: char * n, st.sampled_from(["a", "é", "\u2028", "\r\n", "<", "🎓", "%"]),
                 st.integers(300, 20_000))
VALUE = st.one_of(st.sampled_from(HUGE + NUMBERISH + DATES), CONTROL, LONG, st.text(max_size=40),
                  st.builds(lambda a, b: f"Lena{a}Bcc: x@example.com{b}", st.sampled_from(["\r\n", "\n"]),
                            st.sampled_from(["", "\r\n"])))
# Plausible values too, so requests also get past the forms into the services: a good value per field
# name (else a generic one), with one to three fields replaced by hostile values.
GOOD = {"code": "FZ-1", "title": "Fuzz", "name": "Fuzz", "email": "fuzz@example.com", "capacity": "5",
        "progress": "50", "score": "80", "min_score": "70", "validity_months": "12", "reason": "Because",
        "renewal_window_days": "30", "reminder_days": "30, 7", "starts_on": "2026-01-01", "note": "Because",
        "ends_on": "2026-12-31", "role": "learner", "certification_id": "1", "course_ids": "1",
        "html": "<p>{{ holder_name }}</p>", "page_size": "A4", "orientation": "landscape", "user_ids": "2",
        "url": "https://203.0.113.5/hook", "event_types": "certificate.issued", "template_id": "0"}
BENIGN = st.sampled_from(["Course", "5", "1", "2026-01-01", "lena@example.com", "active", "draft",
                          "completed", "enrolled", "y", "on", "90, 30"])
POST_RULES = _post_rules()  # first: registering the blueprints imports every form class
FIELDS = _form_fields()
HOSTILE_VALUE = st.one_of(VALUE, st.lists(VALUE, min_size=2, max_size=3))
FORM = st.one_of(
    # every field any form reads gets a value: each route's own fields are always hit
    st.fixed_dictionaries({name: st.one_of(HOSTILE_VALUE, BENIGN) for name in FIELDS}),
    st.builds(lambda good, bad: {**good, **bad},
              st.fixed_dictionaries({name: st.just(GOOD[name]) if name in GOOD else BENIGN
                                     for name in FIELDS}),
              st.dictionaries(st.sampled_from(FIELDS), HOSTILE_VALUE, min_size=1, max_size=3)),
)


@pytest.fixture
def world(admin, learner) -> dict:
    """One row of each kind a route id can name, so the routes reach their forms (not only 404)."""
    course = catalog.create_course({"code": "FA-101", "title": "First aid"}, actor="test")
    certification = catalog.create_certification(
        {"name": "First Aid", "status": "active", "course_ids": [course.id]}, actor="test")
    certificate = enrollment.record_completion(learner, course, score=90, actor="test")[0]
    integration, _ = registry.create("incoming", {"name": "LMS"}, actor="test")
    token, _ = tokens.create_token(admin, "fuzz")
    note = notifications.create(admin.id, "info", "Hello")
    template = designer.create_template({"name": "Fuzz template", "html": "<p>{{ holder_name }}</p>"},
                                               actor="test")
    db.session.commit()
    enrollment_id = db.session.scalar(db.select(Enrollment.id))
    return {"course_id": course.id, "cert_id": certification.id, "certification_id": certification.id,
            "certificate_id": certificate.id, "enrollment_id": enrollment_id, "user_id": learner.id,
            "integration_id": integration.id, "token_id": token.id, "notification_id": note.id,
            "template_id": template.id, "kind": "incoming", "action": "activate", "token": "x"}


def _url(app, endpoint: str, world: dict) -> str:
    rule = next(r for r in app.url_map.iter_rules(endpoint) if "POST" in r.methods)
    values = {name: world.get(name, 1) for name in rule.arguments}
    with app.test_request_context():
        from flask import url_for

        return url_for(endpoint, **values)


@pytest.mark.parametrize("endpoint", [endpoint for endpoint, _ in POST_RULES])
def test_no_form_post_answers_5xx(app, login_as, admin, world, endpoint):
    client = login_as(admin)
    url = _url(app, endpoint, world)

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=not RANDOM, database=None,
              suppress_health_check=list(HealthCheck))
    @given(FORM)
    def post(fields: dict):
        response = client.post(url, data={**fields, "csrf_token": client.csrf_token},
                               headers={"X-CSRFToken": client.csrf_token})
        assert response.status_code < 500, (endpoint, response.status_code, {k: str(v)[:60]
                                                                            for k, v in fields.items()})

    post()


# ---- what the fuzzing found, pinned ---------------------------------------------------------------------

@pytest.mark.parametrize("value", ["sNaN", "-sNaN", "NaN", "Infinity", "-Infinity"])
def test_decimal_fields_refuse_non_finite_numbers(login_as, admin, world, value):
    """Decimal("sNaN") made WTForms' NumberRange raise ValueError in math.isnan: a 500."""
    client = login_as(admin)
    program = client.post("/certifications", data={"csrf_token": client.csrf_token, "name": "Cert",
                                                   "status": "draft", "min_score": value})
    assert program.status_code == 422
    score = client.post(f"/enrollments/{world['enrollment_id']}", data={
        "csrf_token": client.csrf_token, "status": "completed", "progress": "5", "score": value})
    assert score.status_code == 422
