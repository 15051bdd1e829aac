"""A manager of department Alpha (with the sub-department Alpha One) sees and manages the people of Alpha and
Alpha One, and nothing of Bravo: on every list, detail, export, figure and API route.

The routes are not listed by hand: every GET rule of `app.url_map` a manager may open (tests/web/
access_rules.py) is requested, its id arguments filled with Bravo's records (404 expected) and with
Alpha One's (answered); no answer may show anything of Bravo. A new route is checked without a change here.
"""

from __future__ import annotations

import json

import pytest
from flask import url_for

from app import live
from app.extensions import db
from app.models import Certificate, Enrollment, User
from app.services.accounts import departments, scope
from app.services.analytics import figures
from app.services.lifecycle import catalog, enrollment, issuing, stats
from tests.web.access_rules import DUMMY_VALUES, level_for

READABLE = ("login", "staff", "manage", "api-login", "api-staff", "api-manage")
# The segment before an id argument says what the id names.
KINDS = {"learners": "user", "users": "user", "certificates": "certificate", "enrollments": "enrollment",
         "courses": "course", "certifications": "certification", "c": "code"}
PERSONAL = {"user", "certificate", "enrollment", "code"}
# 404 for a record in scope too: no PDF rendered in these tests; a manager's own certificates only (/me).
NOT_FOUND_FOR_A1 = {"documents.certificate_pdf", "api.certificate_pdf", "sharing.linkedin",
                    "sharing.embed_controls", "sharing.wallet_page", "lifecycle.request_correction"}


class Org:
    def __init__(self) -> None:
        self.people: dict[str, User] = {}
        self.certificates: dict[str, Certificate] = {}
        self.enrollments: dict[str, Enrollment] = {}

    def values(self, who: str) -> dict[str, object]:
        cert = self.certificates[who]
        return {"user": self.people[who].id, "certificate": cert.id, "enrollment": self.enrollments[who].id,
                "code": cert.code, "course": self.course_id, "certification": self.certification_id}

    def markers(self, who: str) -> tuple[str, ...]:
        """Text that would show a record of this person (a page, a CSV, a JSON body)."""
        person, cert = self.people[who], self.certificates[who]
        return (person.name, person.email, cert.serial, cert.code)


@pytest.fixture
def org(make_user, admin) -> Org:
    """Alpha > Alpha One; Bravo apart. Mona manages Alpha; Alice (Alpha), Aaron (Alpha One) and Bob (Bravo)
    each have an enrollment and a certificate."""
    o = Org()
    alpha = departments.find_or_create("Alpha", actor="test")
    departments.find_or_create("Alpha One", actor="test", parent=alpha)
    departments.find_or_create("Bravo", actor="test")
    o.manager = make_user("manager", email="mona.manager@example.com", name="Mona Manager",
                          department="Alpha")
    for who, name, dept in (("a", "Alice Inscope", "Alpha"), ("a1", "Aaron Subdept", "Alpha One"),
                            ("b", "Bob Outsider", "Bravo")):
        o.people[who] = make_user("learner", email=f"{name.lower().replace(' ', '.')}@example.com", name=name,
                                  department=dept)
    departments.set_managers(alpha, [o.manager], actor="test")
    course = catalog.create_course({"code": "SC-100", "title": "Scope course"}, actor="test")
    db.session.flush()
    certification = catalog.create_certification(
        {"name": "Scope certification", "status": "active", "course_ids": [course.id]}, actor="test")
    db.session.flush()
    o.course_id, o.certification_id = course.id, certification.id
    for who, person in o.people.items():
        o.enrollments[who] = enrollment.enroll(person, course, actor="test")
        o.certificates[who] = issuing.issue(person, certification, actor="test", note="by hand")
    db.session.commit()
    return o


def _kind(rule, arg: str) -> str | None:
    segments = rule.rule.split("/")
    for i, segment in enumerate(segments):
        if segment.startswith("<") and segment[1:].split(">")[0].split(":")[-1] == arg:
            return KINDS.get(segments[i - 1])
    return None


def _urls(app, org: Org, who: str):
    """(endpoint, url, personal) for every GET route a manager may open, ids filled with `who`'s records."""
    values = org.values(who)
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if "GET" not in rule.methods or level_for(rule.endpoint, "GET") not in READABLE:
            continue
        if rule.endpoint == "messaging.live_stream":
            continue  # never ends; checked with the stream itself below
        names = list(figures.FIGURES) if "name" in rule.arguments else [None]
        for name in names:
            args, personal = {}, False
            for arg, converter in rule._converters.items():
                kind = _kind(rule, arg)
                if arg == "name":
                    args[arg] = name
                elif kind in values:
                    args[arg] = values[kind]
                    personal = personal or kind in PERSONAL
                else:
                    args[arg] = DUMMY_VALUES[type(converter).__name__]
            with app.test_request_context():
                yield rule.endpoint, url_for(rule.endpoint, **args), personal


def _get(client, url: str):
    response = client.get(url)
    body = response.get_data(as_text=True) if response.mimetype != "application/pdf" else ""
    response.close()
    return response.status_code, body


def _leaks(body: str, org: Org) -> list[str]:
    return [m for m in (*org.markers("b"), "Bravo") if m in body]


def test_no_route_shows_anything_of_another_department(app, org, login_as):
    client = login_as(org.manager)
    problems, checked = [], 0
    for who in ("b", "a1"):
        for endpoint, url, personal in _urls(app, org, who):
            status, body = _get(client, url)
            checked += 1
            if status >= 500 or status in (401, 403):
                problems.append(f"{url} [{endpoint}] as the manager: {status}")
            elif who == "b" and personal and status != 404:
                problems.append(f"{url} [{endpoint}]: Bravo's record answered {status}, not 404")
            elif who == "a1" and personal and status == 404 and endpoint not in NOT_FOUND_FOR_A1:
                problems.append(f"{url} [{endpoint}]: Alpha One's record is not found")
            elif leaks := _leaks(body, org):
                problems.append(f"{url} [{endpoint}] shows {leaks}")
    assert checked > 60
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("url", ["/learners", "/certificates", "/enrollments", "/certificates/export.csv",
                                 "/learners?department=Alpha"])
def test_lists_show_alpha_and_its_sub_department(org, login_as, url):
    status, body = _get(login_as(org.manager), url)
    assert status == 200
    for who in ("a", "a1"):
        assert org.people[who].name in body, f"{url} misses {org.people[who].name}"
    assert not _leaks(body, org)


def test_filtering_by_another_department_finds_nothing(org, login_as):
    client = login_as(org.manager)
    for url in ("/learners?department=Bravo", "/certificates?department=Bravo",
                "/api/v1/users?department=Bravo", "/analytics/?department=Bravo",
                "/api/v1/analytics/top-performers?department=Bravo"):
        status, body = _get(client, url)
        assert status in (200, 422) and not [m for m in org.markers("b") if m in body], url
    assert json.loads(_get(client, "/api/v1/users?department=Bravo")[1])["items"] == []


def test_api_lists_hold_only_alpha_people(org, login_as):
    client = login_as(org.manager)
    alpha = {org.people["a"].id, org.people["a1"].id}
    users = json.loads(_get(client, "/api/v1/users?role=learner")[1])["items"]
    assert {u["id"] for u in users} == alpha
    for path in ("/api/v1/certificates", "/api/v1/enrollments"):
        items = json.loads(_get(client, path)[1])["items"]
        assert {item["user_id"] for item in items} == alpha, path
    asked = json.loads(_get(client, f"/api/v1/certificates?user_id={org.people['b'].id}")[1])["items"]
    assert asked == []


def test_dashboard_tiles_count_only_alpha(org, login_as):
    tiles = stats.dashboard_tiles(viewer=org.manager)
    assert tiles["learners"] == 2 and tiles["certificates_valid"] == 2
    assert stats.dashboard_tiles()["learners"] == 3
    stats_api = json.loads(_get(login_as(org.manager), "/api/v1/stats")[1])
    assert stats_api["learners"] == 2
    activity = stats.recent_activity(viewer=org.manager)
    assert activity and all(org.people["b"].email not in e.summary for e in activity)


def test_figures_count_only_alpha(org, login_as, admin):
    chart = json.loads(_get(login_as(org.manager), "/api/v1/analytics/by-department")[1])
    assert sorted(chart["labels"]) == ["Alpha", "Alpha One"]
    everyone = json.loads(_get(login_as(admin), "/api/v1/analytics/by-department")[1])
    assert sorted(everyone["labels"]) == ["Alpha", "Alpha One", "Bravo"]


def test_manager_manages_people_in_scope_only(org, login_as):
    client = login_as(org.manager)
    csrf = {"csrf_token": client.csrf_token}
    theirs, others = org.certificates["a1"], org.certificates["b"]
    assert client.post(f"/certificates/{others.id}/revoke", data={**csrf, "reason": "x"}).status_code == 404
    revoked = client.post(f"/certificates/{theirs.id}/revoke", data={**csrf, "reason": "Expired licence"},
                          headers={"HX-Request": "true", "X-CSRFToken": client.csrf_token})
    assert revoked.status_code == 200
    db.session.expire_all()
    assert db.session.get(Certificate, theirs.id).revoked_at is not None
    assert db.session.get(Certificate, others.id).revoked_at is None
    enr = org.enrollments["b"]
    assert client.post(f"/enrollments/{enr.id}/withdraw", data=csrf).status_code == 404
    assert client.post(f"/learners/{org.people['b'].id}/issue", data=csrf).status_code == 404
    # The API: the same rules (404 for Bravo's records, a refused unknown user when enrolling).
    api = {"X-CSRFToken": client.csrf_token}
    assert client.post(f"/api/v1/certificates/{others.id}/revoke", json={"reason": "x"},
                       headers=api).status_code == 404
    patched = client.patch(f"/api/v1/enrollments/{enr.id}", json={"progress": 50}, headers=api)
    assert patched.status_code == 404
    course = org.course_id
    refused = client.post("/api/v1/enrollments", json={"user_id": org.people["b"].id, "course_id": course},
                          headers=api)
    assert refused.status_code == 422 and "user_id" in refused.get_json()["errors"]


def test_staff_without_the_grant_read_only_their_departments(org, make_user, login_as):
    reader = make_user("staff", reads_everything=False)
    departments.set_managers(departments.by_name("Bravo"), [reader], actor="test")
    db.session.commit()
    client = login_as(reader)
    status, body = _get(client, "/learners")
    assert status == 200 and "Bob Outsider" in body and "Alice Inscope" not in body
    assert _get(client, f"/learners/{org.people['a'].id}")[0] == 404
    # Read-only: no revoking, even in their own department.
    cert = org.certificates["b"]
    assert client.post(f"/certificates/{cert.id}/revoke",
                       data={"csrf_token": client.csrf_token, "reason": "x"}).status_code == 403
    granted = make_user("staff")  # the migration's grant: reads everyone, as staff always did
    assert scope.department_ids(granted) is None
    assert "Alice Inscope" in _get(login_as(granted), "/learners")[1]


def test_live_updates_reach_managers_of_the_department_only(org, make_user):
    bravo_manager = make_user("manager", department="Bravo")
    departments.set_managers(departments.by_name("Bravo"), [bravo_manager], actor="test")
    db.session.commit()
    alpha_one = org.people["a1"].department_id
    audience = live.Audience(staff=True, departments=frozenset({alpha_one}))
    assert audience.includes(org.manager.id, True, scope.department_ids(org.manager))
    assert not audience.includes(bravo_manager.id, True, scope.department_ids(bravo_manager))
    assert audience.includes(99, True, None)  # admins and staff with the grant
    assert not live.Audience(staff=True).includes(org.manager.id, True, scope.department_ids(org.manager))
