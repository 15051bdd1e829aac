"""Issue #11 item 2: control characters (C0, DEL, C1, U+2028/2029) are refused in every single-line text
field on input, and multi-line fields allow only line breaks and tabs. One rule (app.rules.plain_text)
behind every entrance: web forms, the REST API, CSV import, incoming hooks, the Moodle and SQL syncs."""

from __future__ import annotations

import json
import os
import re
from datetime import UTC, datetime
from pathlib import Path

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir
from sqlalchemy import create_engine, func, select, text
from standardwebhooks import Webhook

from app.extensions import db
from app.models import ApiToken, Certificate, CertificateTemplate, Certification, Course, User
from app.models.integration import Integration
from app.rules import plain_text
from app.services.accounts import tokens, users
from app.services.errors import ValidationError
from app.services.fields import checked_text
from app.services.integrations import registry
from app.services.lifecycle import enrollment, imports
from tests.support.catalog_fixtures import first_aid, make_certification, make_course  # noqa: F401
from tests.support.moodle_simulator import MoodleSimulator, small_site
from tests.support.syncs import active_sql_source, run_sync

# Hypothesis caches under ./.hypothesis by default: keep it in the run's temporary instance folder instead.
set_hypothesis_home_dir(Path(os.environ["LAUREL_INSTANCE_PATH"]) / "hypothesis")

INJECTION = "Lena\r\nBcc: x@example.com"
SINGLE_LINE_BAD = ["a\rb", "a\nb", "a\tb", "a\x1bb", "a\x7fb", "a\x85b", "a\u2028b", "a\u2029b", "a\x00b"]


@pytest.mark.parametrize("value", SINGLE_LINE_BAD)
def test_the_rule_refuses_every_class_on_one_line(value):
    assert plain_text.problem(value)
    assert plain_text.field_problems({"name": value}) and not plain_text.problem(plain_text.flatten(value))


@pytest.mark.parametrize("value", [*SINGLE_LINE_BAD, "name\n"])
def test_the_published_patterns_refuse_the_same_under_a_python_validator(value):
    single = jsonschema.Draft202012Validator({"type": "string", "pattern": plain_text.SINGLE_LINE_PATTERN})
    multi = jsonschema.Draft202012Validator({"type": "string", "pattern": plain_text.MULTI_LINE_PATTERN})
    assert not single.is_valid(value) and single.is_valid("Lena Fischer-Åström")
    assert multi.is_valid("one\ntwo\tthree\n")
    assert multi.is_valid(value) == (value in ("a\nb", "a\tb", "name\n"))


def test_multi_line_fields_allow_only_line_breaks_and_tabs():
    assert plain_text.problem("one\ntwo\tthree", multiline=True) is None
    assert plain_text.field_problems({"d": "one\r\ntwo"}, multiline=("d",)) == {}  # a text area's CRLF
    for value in ("a\x1bb", "a\x7fb", "a\x9bb", "a\u2028b", "a\x0cb", "a\rb"):
        assert plain_text.problem(value, multiline=True), value
    assert checked_text("a\r\nb", "d", multiline=True) == "a\nb"


# ---- web forms: each re-renders with the error next to the field (422) and changes nothing -----------------


@pytest.fixture
def certificate(first_aid, learner):  # noqa: F811
    _, fa101, fa102 = first_aid
    enrollment.record_completion(learner, fa101, score=80, completed_at=datetime(2026, 1, 1, tzinfo=UTC),
                                 actor="test")
    [cert] = enrollment.record_completion(learner, fa102, score=90,
                                          completed_at=datetime(2026, 1, 2, tzinfo=UTC), actor="test")
    db.session.commit()
    return cert


def _post(client, url: str, data: dict):
    return client.post(url, data=data, headers={"X-CSRFToken": client.csrf_token, "HX-Request": "true"})


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


WEBHOOK = {"url": "https://hooks.example.com/laurel", "event_types": ["certificate.issued"],
           "auth_type": "none"}
FORM_CASES = {
    # name: (url, data, how to see that nothing changed)
    "profile name": ("/profile", {"name": INJECTION, "reminder_emails": "y"},
                     lambda: db.session.scalar(select(User.name).where(User.email == "admin@example.com"))
                     == "Ada Admin"),
    "token name": ("/profile/tokens", {"name": "CI\rtoken"}, lambda: _count(ApiToken) == 0),
    "invite name": ("/admin/users/invite", {"email": "new@example.com", "name": INJECTION, "role": "learner"},
                    lambda: _count(User) == 1),
    "course code": ("/courses", {"code": "FA\t101", "title": "First aid"}, lambda: _count(Course) == 0),
    "course title": ("/courses", {"code": "FA-101", "title": "First\u2028aid"}, lambda: _count(Course) == 0),
    "course category": ("/courses", {"code": "FA-101", "title": "First aid", "category": "Safety\x85"},
                        lambda: _count(Course) == 0),
    "course description": ("/courses", {"code": "FA-101", "title": "First aid", "description": "a\x1bb"},
                           lambda: _count(Course) == 0),
    "certification name": ("/certifications", {"name": INJECTION, "status": "draft"},
                           lambda: _count(Certification) == 0),
    "certification signatory": ("/certifications", {"name": "First Aid", "status": "draft",
                                                    "signatory_name": "Dr.\x7fRoe"},
                                lambda: _count(Certification) == 0),
    "template name": ("/admin/templates/new", {"name": INJECTION, "html": "<p>{{ holder_name }}</p>",
                                               "css": "", "page_size": "A4", "orientation": "landscape"},
                      lambda: _count(CertificateTemplate) == 0),
    "integration name": ("/integrations/new/generic_webhook", {**WEBHOOK, "name": INJECTION},
                         lambda: _count(Integration) == 0),
    "integration header name": ("/integrations/new/generic_webhook",
                                {**WEBHOOK, "name": "ERP", "auth_type": "api_key",
                                 "header_name": "X-Key\r\nX-Evil: 1", "api_key": "k-123"},
                                lambda: _count(Integration) == 0),
}


@pytest.mark.parametrize("case", sorted(FORM_CASES))
def test_web_forms_refuse_control_characters(login_as, admin, case):
    url, data, unchanged = FORM_CASES[case]
    client = login_as(admin)
    response = _post(client, url, data)
    page = response.get_data(as_text=True)
    assert response.status_code == 422, page[:2000]
    assert "single line of text" in page or "only line breaks and tabs" in page
    db.session.expire_all()
    assert unchanged()


def test_admin_user_row_refuses_a_department_and_changes_nothing(login_as, admin, learner):
    # Departments are chosen from a select now (their names are checked where they are typed: API, CSV).
    response = _post(login_as(admin), f"/admin/users/{learner.id}",
                     {"role": "staff", "department_id": "1\n2", "active": "y"})
    assert response.status_code == 422 and "could not coerce" in response.get_data(as_text=True)
    db.session.expire_all()
    assert (learner.role, learner.department) == ("learner", "Nursing")


def test_revoke_reason_and_manual_issue_note_are_multi_line(login_as, admin, learner, certificate,
                                                            make_course, make_certification):  # noqa: F811
    advanced = make_certification("Advanced First Aid", [make_course("FA-201")])  # not met yet: issuable
    client = login_as(admin)
    response = _post(client, f"/certificates/{certificate.id}/revoke", {"reason": "Fraud\x1b[2J"})
    assert response.status_code == 422 and "only line breaks and tabs" in response.get_data(as_text=True)
    db.session.expire_all()
    assert certificate.revoked_at is None
    note = _post(client, f"/learners/{learner.id}/issue",
                 {"certification_id": advanced.id, "note": "By hand\x07"})
    assert note.status_code == 422 and "only line breaks and tabs" in note.get_data(as_text=True)
    assert _count(Certificate) == 1


def test_share_message_refuses_control_characters(login_as, learner, certificate):
    prefix = f"share{certificate.id}-"
    response = _post(login_as(learner), f"/me/certificates/{certificate.id}/share",
                     {f"{prefix}recipients": "friend@example.com", f"{prefix}message": "Hi\x1b[8m"})
    assert response.status_code == 422 and "only line breaks and tabs" in response.get_data(as_text=True)


def test_a_text_area_with_crlf_is_stored_with_lf(login_as, admin):
    response = _post(login_as(admin), "/courses",
                     {"code": "FA-101", "title": "First aid", "description": "One\r\nTwo\tthree"})
    assert response.status_code == 200
    assert db.session.scalar(select(Course.description)) == "One\nTwo\tthree"


# ---- REST API: 422 with the field's error, nothing changed -------------------------------------------------


def _api(app, user, method: str, url: str, body: dict):
    _, secret = tokens.create_token(user, "hardening")
    db.session.commit()
    headers = {"Authorization": f"Bearer {secret}"}
    return app.test_client().open(url, method=method, json=body, headers=headers)


API_CASES = {
    "course title": ("POST", "/api/v1/courses", {"code": "FA-101", "title": "First\r\naid"}, "title"),
    "course code": ("POST", "/api/v1/courses", {"code": "FA\u2029101", "title": "First aid"}, "code"),
    "course description": ("POST", "/api/v1/courses", {"code": "FA-101", "title": "F", "description": "a\rb"},
                           "description"),
    "user name": ("POST", "/api/v1/users", {"email": "n@example.com", "name": INJECTION}, "name"),
    "user email": ("POST", "/api/v1/users", {"email": "n@example.com\r\nBcc: x@example.com", "name": "N"},
                   "email"),
    "certification name": ("POST", "/api/v1/certifications", {"name": "First\x85Aid"}, "name"),
    "certification issuer": ("POST", "/api/v1/certifications", {"name": "FA", "issuer_name": "A\tB"},
                             "issuer_name"),
    "integration name": ("POST", "/api/v1/integrations", {"type": "generic_webhook", **WEBHOOK,
                                                          "name": INJECTION}, "name"),
    "integration token": ("POST", "/api/v1/integrations",
                          {"type": "generic_webhook", **WEBHOOK, "name": "ERP", "auth_type": "bearer",
                           "token": "t\r\nX-Evil: 1"}, "token"),
}


@pytest.mark.parametrize("case", sorted(API_CASES))
def test_api_refuses_control_characters_with_a_field_error(app, admin, case):
    method, url, body, field = API_CASES[case]
    before = [_count(m) for m in (Course, User, Certification, Integration)]
    response = _api(app, admin, method, url, body)
    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["errors"], response.get_json()
    assert [_count(m) for m in (Course, User, Certification, Integration)] == before


def test_api_updates_and_revoke_refuse_control_characters(app, admin, learner, certificate):
    response = _api(app, admin, "PATCH", f"/api/v1/users/{learner.id}", {"department": "Ops\u2028"})
    assert response.status_code == 422 and "department" in response.get_json()["errors"]
    response = _api(app, admin, "POST", f"/api/v1/certificates/{certificate.id}/revoke", {"reason": "x\x1by"})
    assert response.status_code == 422 and "reason" in response.get_json()["errors"]
    db.session.expire_all()
    assert learner.department == "Nursing" and certificate.revoked_at is None


def test_api_multi_line_description_keeps_line_breaks_and_tabs(app, admin):
    response = _api(app, admin, "POST", "/api/v1/courses",
                    {"code": "FA-101", "title": "First aid", "description": "One\nTwo\tthree"})
    assert response.status_code == 201 and response.get_json()["description"] == "One\nTwo\tthree"


# ---- services (every other caller): refusal before anything changes ---------------------------------------


def test_an_uploaded_image_name_is_kept_on_one_line():
    import io

    from PIL import Image

    from app.services.documents import designer

    template = designer.create_template({"name": "Gold", "html": "<p>{{ holder_name }}</p>"},
                                               actor="test")
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), "red").save(buffer, format="PNG")
    png = buffer.getvalue()
    asset = designer.upload_asset(template, "logo", "lo\r\ngo\x1b.png", png, actor="test")
    assert asset.filename == "lo  go .png"


def test_services_refuse_names_before_changing_anything(admin, learner):
    with pytest.raises(ValidationError) as refused:
        users.update_user(learner, actor=admin, role="staff", name=INJECTION)
    assert "name" in refused.value.errors and learner.role == "learner"
    with pytest.raises(ValidationError):
        users.create_user("x@example.com", "X", department="R\x9bD", actor="test")
    with pytest.raises(ValidationError, match="single line"):
        tokens.create_token(learner, "bad\nname")


# ---- CSV import, incoming hook, Moodle and SQL syncs ------------------------------------------------------


def test_csv_import_refuses_a_quoted_line_break_in_a_row(first_aid):  # noqa: F811
    body = (b'email,name,course_code\n"lena@example.com","Lena\r\nBcc: x@example.com",FA-101\n'
            b"ann@example.com,Ann,FA-101\n")
    preview = imports.parse(body)
    [(line, reason)] = preview.errors
    assert line == 3 and reason.startswith("name: Contains a carriage return")  # the record ends on line 3
    assert [r.email for r in preview.rows] == ["ann@example.com"]


def _hook_post(client, integration, secret, data: dict, msg_id: str):
    payload = {"email": "new.person@example.com", "name": "New Person", "course_code": "FA-101",
               "completed_at": "2026-01-15T09:30:00Z", **data}
    body = json.dumps({"type": "completion.record", "timestamp": "2026-01-15T09:31:00Z", "data": payload})
    when = datetime.now(UTC)
    headers = {"webhook-id": msg_id, "webhook-timestamp": str(int(when.timestamp())),
               "webhook-signature": Webhook(secret).sign(msg_id, when, body),
               "Content-Type": "application/json"}
    return client.post(f"/hooks/in/{integration.incoming_token}", data=body.encode(), headers=headers)


@pytest.mark.parametrize("field", ["name", "department", "email", "course_code"])
def test_incoming_hook_refuses_control_characters_with_422(client, first_aid, field):  # noqa: F811
    integration, secret = registry.create("incoming", {"name": "LMS", "create_users": True}, actor="test")
    registry.set_active(integration, True, actor="test")
    db.session.commit()
    value = {"name": INJECTION, "department": "Ops\x1b", "email": "a@example.com\r\nBcc: b@example.com",
             "course_code": "FA-101\u2028"}[field]
    response = _hook_post(client, integration, secret, {field: value}, f"msg-{field}")
    assert response.status_code == 422 and field in response.json["fields"], response.json
    assert _count(User) == 0




def test_moodle_sync_refuses_such_items_and_goes_on(allow_private, jobs):  # noqa: F811
    site = small_site()
    now = int(site.clock())
    bad_course = site.add_course("BAD\t1", "Bad\ncourse", site.add_category("Misc"),
                                 summary="<p>Line\r\none\x0b</p>")
    odd = site.add_user("Ada\r\nBcc: x@example.com", "Lovelace", email="odd@example.com")
    site.enrol(bad_course, odd, lastcourseaccess=now - 86400 * 10)
    with MoodleSimulator(site) as sim:
        integration, _ = registry.create(
            "moodle", {"name": "Campus Moodle", "site_url": sim.url, "moodle_token": "full"}, actor="test")
        registry.set_active(integration, True, actor="test")
        db.session.commit()
        run = run_sync(integration, jobs)
    assert run.status == "partial"
    assert run.details["courses"]["failed"] == 1 and run.details["users"]["failed"] == 1
    assert run.details["courses"]["created"] == 3  # the other courses are applied
    assert db.session.scalar(select(User.id).where(User.email == "odd@example.com")) is None
    messages = db.session.scalars(select(text("message")).select_from(text("integration_logs"))).all()
    assert any("single line of text" in m for m in messages), messages
    fire = db.session.scalar(select(Course.description).where(Course.code == "FIRE101"))
    assert fire == "Evacuation drills"


def test_sql_sync_refuses_such_rows_and_goes_on(sqlite_sources, tmp_path, first_aid, jobs):  # noqa: F811
    url = f"sqlite:///{tmp_path / 'lms.db'}"
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE lms (id INTEGER PRIMARY KEY, email TEXT, name TEXT, code TEXT)"))
        conn.execute(text("INSERT INTO lms VALUES (1, 'lena@example.com', :bad, 'FA-101'), "
                          "(2, 'ann@example.com', 'Ann Archer', 'FA-101')"), {"bad": INJECTION})
    engine.dispose()
    query = "SELECT email, name, code AS course_code, 'enrolled' AS status FROM lms ORDER BY id"
    integration = active_sql_source(url, query)
    run = run_sync(integration, jobs)
    assert run.status == "partial" and run.failed == 1
    assert db.session.scalar(select(User.id).where(User.email == "ann@example.com")) is not None
    assert db.session.scalar(select(User.id).where(User.email == "lena@example.com")) is None


# ---- fuzz: any mix of text and control characters in those forms is a 2xx/3xx/4xx, never a 5xx ------------

_FUZZ_TEXT = st.text(alphabet=st.one_of(st.characters(max_codepoint=0x9F), st.sampled_from("\u2028\u2029é€")),
                     max_size=30)


@pytest.mark.parametrize("case", sorted(FORM_CASES))
def test_forms_never_answer_5xx_to_any_text(login_as, admin, case):
    url, data, _ = FORM_CASES[case]
    client = login_as(admin)
    choices = ("role", "auth_type", "status", "page_size", "orientation")
    text_fields = [k for k, v in data.items() if isinstance(v, str) and k not in choices]

    @settings(max_examples=8, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(st.fixed_dictionaries({k: _FUZZ_TEXT for k in text_fields}))
    def post_any(values):
        response = _post(client, url, {**data, **values})
        assert response.status_code < 500, (values, response.status_code)

    post_any()


def test_a_nul_in_any_path_is_a_400_before_any_query(app, client, login_as, admin):
    """Every route with a part in its address, signed out and as an admin: `%00` there is a clear 400
    (a NUL reached PostgreSQL from /verify/<code> and answered 500)."""
    urls = sorted({re.sub(r"<[^>]+>", "%00", rule.rule) for rule in app.url_map.iter_rules()
                   if rule.arguments and "GET" in rule.methods})
    assert len(urls) >= 20
    admin_client = login_as(admin)
    for url in urls:
        for who in (client, admin_client):
            response = who.get(url)
            assert response.status_code == 400, (url, response.status_code)
