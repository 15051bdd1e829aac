"""Issue #11 item 9: huge integers in path ids, query strings and form fields answer 404/400/422, never an
OverflowError 500 (app.services.numbers, app.web.numbers)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from werkzeug.routing import AnyConverter, IntegerConverter

from app.extensions import db
from app.models import Certification, Course, Enrollment
from app.services import numbers
from app.services.errors import ValidationError
from app.services.integrations import registry
from app.services.lifecycle import catalog
from app.web.numbers import IdConverter

HUGE = "1" + "0" * 30
NOT_IDS = [HUGE, str(numbers.MAX_ID + 1), "0", "%C2%B2", "9" * 5000]  # %C2%B2 is "²"


@pytest.fixture
def admin_client(login_as, admin):
    return login_as(admin)


def _send(client, method: str, url: str):
    return client.open(url, method=method, headers={"X-CSRFToken": client.csrf_token})


# ---- path ids -------------------------------------------------------------------------------------------

def _id_rules(app):
    return [r for r in app.url_map.iter_rules() if any(isinstance(c, IntegerConverter)
                                                         for c in r._converters.values())]


def test_every_integer_route_uses_the_bounded_id_converter(app):
    rules = _id_rules(app)
    assert len(rules) >= 80
    plain = [r.rule for r in rules if not all(isinstance(c, IdConverter) for c in r._converters.values()
                                              if isinstance(c, IntegerConverter))]
    assert plain == []


def _url(rule, value: str) -> str:
    url = rule.rule
    for name, converter in rule._converters.items():
        start = url.index("<")
        fill = value if isinstance(converter, IntegerConverter) else \
            sorted(converter.items)[0] if isinstance(converter, AnyConverter) else "x"
        url = url[:start] + fill + url[url.index(">", start) + 1:]
        del name
    return url


@pytest.mark.parametrize("value", NOT_IDS, ids=["10**30", "MAX_ID+1", "0", "superscript-2", "5000 digits"])
def test_every_id_route_answers_404_for_an_id_no_row_can_have(app, admin_client, value):
    for rule in _id_rules(app):
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            url = _url(rule, value)
            response = _send(admin_client, method, url)
            assert response.status_code == 404, (method, url[:80], response.status_code)


def test_the_largest_id_is_routed_and_simply_not_found(app, admin_client):
    for rule in _id_rules(app):
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = _send(admin_client, method, _url(rule, str(numbers.MAX_ID)))
            assert response.status_code < 500, (method, rule.rule, response.status_code)


# ---- query strings --------------------------------------------------------------------------------------

@pytest.fixture
def integration_id():
    integration, _ = registry.create("incoming", {"name": "LMS"}, actor="test")
    db.session.commit()
    return integration.id


LIST_PAGES = ["/admin/users", "/admin/mail", "/admin/audit", "/courses", "/certifications", "/enrollments",
              "/certificates", "/notifications", "/integrations/{i}/logs", "/integrations/{i}/deliveries"]


@pytest.mark.parametrize("query", [f"page={HUGE}", f"per_page={HUGE}", "page=0", "per_page=0", "page=%C2%B2",
                                   "page=abc", "per_page=101", f"page={'9' * 5000}"])
def test_every_list_page_refuses_a_bad_page_with_400(admin_client, integration_id, query):
    for page in LIST_PAGES:
        url = f"{page.format(i=integration_id)}?{query}"
        response = admin_client.get(url)
        assert response.status_code == 400, (url[:80], response.status_code)
        assert "must be a whole number" in response.get_data(as_text=True)
        assert admin_client.get(f"{page.format(i=integration_id)}?page=2&per_page=10").status_code == 200


@pytest.mark.parametrize("url", ["/enrollments?course_id={}", "/certificates?certification_id={}"])
def test_id_filters_refuse_ids_beyond_the_range(admin_client, url):
    assert admin_client.get(url.format(HUGE)).status_code == 400
    assert admin_client.get(url.format("%C2%B2")).status_code == 400
    assert admin_client.get(url.format("")).status_code == 200


def test_every_page_without_path_arguments_survives_huge_numbers(app, admin_client):
    query = "&".join(f"{name}={HUGE}" for name in ("page", "per_page", "limit", "course_id",
                                                   "certification_id", "subject_id", "days"))
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.arguments or rule.rule.startswith("/static"):
            continue
        response = admin_client.get(f"{rule.rule}?{query}")
        if response.mimetype != "text/event-stream":  # the live stream never ends by itself
            response.get_data()  # stream CSV exports to the end: their server-side cursor closes
        response.close()
        assert response.status_code < 500 or rule.rule == "/healthz", (rule.rule, response.status_code)


@pytest.mark.parametrize("path", ["logs", "deliveries"])
@pytest.mark.parametrize("query", [f"page={HUGE}", f"per_page={HUGE}", "page=%C2%B2", "per_page=201",
                                   "page=0"])
def test_the_integrations_api_checks_pages_like_the_other_lists(client, admin, integration_id, path, query):
    from app.services.accounts import tokens

    _, secret = tokens.create_token(admin, "t")
    db.session.commit()
    response = client.get(f"/api/v1/integrations/{integration_id}/{path}?{query}",
                          headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 422, response.get_data()[:200]
    assert set(response.get_json()["errors"]) <= {"page", "per_page"}


# ---- form fields ----------------------------------------------------------------------------------------

def _count(model) -> int:
    db.session.commit()
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.mark.parametrize("capacity", [HUGE, str(numbers.MAX_INT + 1), "9" * 5000])
def test_course_capacity_beyond_an_integer_is_a_field_error(admin_client, capacity):
    response = admin_client.post("/courses", data={"csrf_token": admin_client.csrf_token, "code": "C-1",
                                                   "title": "Course", "capacity": capacity})
    assert response.status_code == 422
    assert _count(Course) == 0


@pytest.mark.parametrize("field", ["course_ids", "prerequisite_ids"])
@pytest.mark.parametrize("value", [HUGE, "²", "0", "-1"])
def test_certification_id_lists_refuse_ids_no_row_can_have(admin_client, field, value):
    response = admin_client.post("/certifications", data={"csrf_token": admin_client.csrf_token,
                                                          "name": "Cert", "status": "draft", field: value})
    assert response.status_code == 422, response.status_code
    assert _count(Certification) == 0


def test_enrolling_huge_user_ids_enrolls_nobody(admin_client):
    course = catalog.create_course({"code": "C-1", "title": "Course"}, actor="test")
    db.session.commit()
    response = admin_client.post(f"/courses/{course.id}/enrollments", data={
        "csrf_token": admin_client.csrf_token, "user_ids": [HUGE, "²", str(numbers.MAX_ID + 1)]})
    assert response.status_code == 422
    assert _count(Enrollment) == 0


def test_manual_issue_with_a_huge_certification_id_is_a_field_error(admin_client, learner):
    response = admin_client.post(f"/learners/{learner.id}/issue", data={
        "csrf_token": admin_client.csrf_token, "certification_id": HUGE, "note": "Because"})
    assert response.status_code in (400, 422)


def test_template_preview_with_a_huge_template_id_previews_a_new_template(admin_client):
    response = admin_client.post("/admin/templates/preview", data={
        "csrf_token": admin_client.csrf_token, "template_id": HUGE, "name": "T", "html": "<p>x</p>"})
    assert response.status_code < 500


@pytest.mark.parametrize("export_id", [HUGE, "abc", "-1", "999999"])
def test_retry_exports_with_an_unknown_export_id_is_a_404_not_a_retry_of_all(admin_client, integration_id,
                                                                             export_id):
    response = admin_client.post(f"/integrations/{integration_id}/retry-exports", data={
        "csrf_token": admin_client.csrf_token, "export_id": export_id})
    assert response.status_code == 404


@pytest.mark.parametrize("field,value", [("sync_every_minutes", "²"), ("sync_every_minutes", HUGE),
                                         ("condition_certification_id", HUGE),
                                         ("condition_certification_id", "²")])
def test_integration_settings_refuse_numbers_they_cannot_read(field, value):
    integration, _ = registry.create("incoming", {"name": "LMS"}, actor="test")
    from app.services.integrations import settings

    with pytest.raises(ValidationError) as refused:
        settings.clean("sql" if field == "sync_every_minutes" else "generic_webhook",
                                   {"name": "X", field: value, "query": "select 1"}, integration)
    assert field in refused.value.errors


@pytest.mark.parametrize("value", [HUGE, numbers.MAX_INT + 1, "9" * 5000])
def test_services_refuse_integers_a_column_cannot_hold(value):
    with pytest.raises(ValidationError) as refused:
        catalog.create_course({"code": "C-1", "title": "Course", "capacity": value}, actor="test")
    assert "capacity" in refused.value.errors


def test_whole_number_reads_ascii_digits_only():
    assert numbers.whole_number("42") == 42
    assert numbers.whole_number(" +7 ") == 7
    assert numbers.whole_number("-3", minimum=-5) == -3
    assert numbers.whole_number("-3") is None
    assert numbers.whole_number("²") is None and numbers.whole_number("١") is None
    assert numbers.whole_number(HUGE) is None and numbers.whole_number("9" * 5000) is None
    assert numbers.whole_number(True) is None and numbers.whole_number(5, maximum=4) is None


@pytest.mark.parametrize("kind,field,extra", [
    ("file_drop", "settle_seconds", {"location": "folder"}),
    ("moodle", "company_id", {"site_url": "https://203.0.113.5/moodle"}),
])
@pytest.mark.parametrize("value", ["²", "9" * 5000, HUGE])
def test_integration_config_numbers_use_the_bounded_parser(kind, field, extra, value):
    from app.services.integrations import settings

    with pytest.raises(ValidationError) as refused:
        settings.clean(kind, {"name": "X", field: value, **extra}, None)
    assert field in refused.value.errors


def test_a_retry_after_header_in_unicode_digits_is_ignored():
    from app.connectors import retry

    assert retry.parse_retry_after("²") is None
    assert retry.parse_retry_after("30") == 30.0
