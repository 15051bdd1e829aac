"""The training pages and API: registering, manager scope (404 outside their departments), the check-in
page, the CSV export, and the REST endpoints."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest

from app.extensions import db
from app.services.accounts import departments
from app.services.training import attendance, registrations


@pytest.fixture
def manager(make_user, admin):
    manager = make_user("manager", department="Ward A")
    departments.set_managers(departments.by_name("Ward A"), [manager], actor=admin)
    db.session.commit()
    return manager


def _post(client, url: str, **data):
    return client.post(url, data={"csrf_token": client.csrf_token, **data})


def test_learner_registers_from_the_page_and_sees_it_under_my_sessions(make_session, learner, login_as):
    session = make_session(capacity=1)
    client = login_as(learner)
    page = client.get(f"/training/sessions/{session.id}").get_data(as_text=True)
    assert "Register" in page and "Europe/Berlin" in page
    response = _post(client, f"/training/sessions/{session.id}/register")
    assert response.status_code == 302
    mine = client.get("/training/my-sessions").get_data(as_text=True)
    assert session.label in mine and "registered" in mine
    assert _post(client, f"/training/sessions/{session.id}/register").status_code == 409  # twice
    for view in ("upcoming", "month", "week", "nonsense"):
        assert client.get(f"/training/sessions?view={view}&on=2099-99-99").status_code == 200
    assert session.label in client.get("/training/sessions").get_data(as_text=True)


def test_manager_registers_only_their_people(make_session, manager, make_user, login_as):
    session = make_session(capacity=5)
    inside, outside = make_user(department="Ward A"), make_user(department="Ward B")
    client = login_as(manager)
    url = f"/training/sessions/{session.id}/registrations"
    assert _post(client, url, user_id=outside.id).status_code == 404
    assert _post(client, url, user_id=inside.id).status_code == 302
    registrations.register(outside, session, actor=outside)
    db.session.commit()
    foreign = registrations.find(session, outside)
    assert _post(client, f"/training/registrations/{foreign.id}/cancel").status_code == 404
    page = client.get(f"/training/sessions/{session.id}").get_data(as_text=True)
    assert inside.email in page and outside.email not in page
    exported = client.get(f"/training/sessions/{session.id}/attendance.csv").get_data(as_text=True)
    emails = [row["email"] for row in csv.DictReader(io.StringIO(exported))]
    assert emails == [inside.email]
    assert client.get(f"/training/sessions/{session.id}/check-in-code").status_code == 403  # not the trainer


def test_trainer_shows_the_code_and_the_learner_checks_in_through_the_page(
        make_session, staff, learner, login_as):
    session = make_session(capacity=5, starts_in=timedelta(minutes=10), trainer_id=staff.id)
    registrations.register(learner, session, actor=learner)
    db.session.commit()
    code_page = login_as(staff).get(f"/training/sessions/{session.id}/check-in-code").get_data(as_text=True)
    url = re.search(r'data-checkin-url="([^"]+)"', code_page).group(1).replace("&amp;", "&")
    assert "<svg" in code_page
    client = login_as(learner)
    assert client.get(f"/training/sessions/{session.id}/check-in-code").status_code == 403
    path = url.removeprefix("http://localhost")
    token = re.search(r"t=([^&]+)", path).group(1)
    confirm = client.get(path).get_data(as_text=True)
    assert "Check in as" in confirm
    done = _post(client, f"/training/sessions/{session.id}/check-in", t=token)
    assert done.status_code == 200 and "You are checked in" in done.get_data(as_text=True)
    stale = attendance.checkin_token(session, session.starts_at - timedelta(hours=2))
    refused = _post(client, f"/training/sessions/{session.id}/check-in", t=stale)
    assert refused.status_code == 409
    rows = list(csv.DictReader(io.StringIO(login_as(staff).get(
        f"/training/sessions/{session.id}/attendance.csv").get_data(as_text=True))))
    assert rows[0]["attendance"] == "present" and rows[0]["checked_in_via"] == "qr"


def test_hostile_form_input_answers_422_and_nothing_is_saved(course, admin, login_as):
    client = login_as(admin)
    response = _post(client, "/training/sessions/new", course_id=course.id, timezone="../../etc",
                     starts_at="2030-01-01T10:00", ends_at="2030-01-01T09:00", location="x" * 10_000,
                     online_url="javascript:alert(1)", capacity="0", trainer_id="0")
    assert response.status_code == 422
    ok = _post(client, "/training/sessions/new", course_id=course.id, timezone="Europe/Berlin",
               starts_at="2030-01-01T10:00", ends_at="2030-01-01T12:00", location="Room 4", capacity="8",
               trainer_id="0")
    assert ok.status_code == 302


def test_api_sessions_registrations_and_attendance(course, admin, learner, make_user, login_as):
    client = login_as(admin)
    headers = {"X-CSRFToken": client.csrf_token}
    created = client.post("/api/v1/sessions", headers=headers, json={
        "course_id": course.id, "starts_at": "2030-03-01T09:00:00+01:00",
        "ends_at": "2030-03-01T11:00:00+01:00",
        "timezone": "Europe/Paris", "online_url": "https://meet.example.com/abc", "capacity": 1})
    assert created.status_code == 201, created.get_json()
    session = created.get_json()
    assert session["starts_at"] == "2030-03-01T08:00:00+00:00" and session["registered"] == 0
    bad = client.post("/api/v1/sessions", headers=headers, json={**session | {"capacity": 0}})
    assert bad.status_code == 422
    other = make_user()
    learner_client = login_as(learner)
    own = learner_client.post(f"/api/v1/sessions/{session['id']}/registrations",
                              headers={"X-CSRFToken": learner_client.csrf_token}, json={})
    assert own.status_code == 201 and own.get_json()["status"] == "registered"
    assert learner_client.post(f"/api/v1/sessions/{session['id']}/registrations",
                               headers={"X-CSRFToken": learner_client.csrf_token},
                               json={"user_id": other.id}).status_code == 404
    waiting = client.post(f"/api/v1/sessions/{session['id']}/registrations", headers=headers,
                          json={"user_id": other.id})
    assert waiting.get_json()["status"] == "waitlisted"
    listed = client.get(f"/api/v1/sessions/{session['id']}/registrations").get_json()
    assert [r["status"] for r in listed["items"]] == ["registered", "waitlisted"]
    cancelled = learner_client.post(f"/api/v1/registrations/{own.get_json()['id']}/cancel",
                                    headers={"X-CSRFToken": learner_client.csrf_token}, json={})
    assert cancelled.get_json()["status"] == "cancelled"
    assert client.get(f"/api/v1/sessions/{session['id']}/registrations").get_json()["items"][0]["user_id"] \
        == other.id
    assert learner_client.get(f"/api/v1/sessions/{session['id']}/registrations").status_code == 403
    early = client.post(f"/api/v1/sessions/{session['id']}/attendance", headers=headers, json={
        "marks": [{"registration_id": waiting.get_json()["id"], "attendance": "present"}]})
    assert early.status_code == 409  # years before the session
    moved = client.patch(f"/api/v1/sessions/{session['id']}", headers=headers,
                         json={"location": "Room 9", "capacity": 3})
    assert moved.status_code == 200 and moved.get_json()["sequence"] == 1
    gone = client.post(f"/api/v1/sessions/{session['id']}/cancel", headers=headers, json={})
    assert gone.get_json()["status"] == "cancelled"
    assert client.patch(f"/api/v1/sessions/{session['id']}", headers=headers,
                        json={"capacity": 5}).status_code == 409


def test_check_in_is_rate_limited(make_session, learner, login_as):
    session = make_session(capacity=5, starts_in=timedelta(minutes=10))
    client = login_as(learner)
    statuses = [_post(client, f"/training/sessions/{session.id}/check-in", t=f"guess-{i}").status_code
                for i in range(21)]
    assert statuses[:20] == [409] * 20 and statuses[20] == 429
