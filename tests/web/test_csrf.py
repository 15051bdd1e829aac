"""CSRF: state-changing browser requests need the token (form field or htmx header); bearer tokens don't."""

from __future__ import annotations

from app.extensions import db
from app.models import User
from tests.support.web import htmx_headers


def test_form_post_without_token_is_refused(login_as, learner):
    client = login_as(learner)
    response = client.post("/profile", data={"name": "Hijacked"})
    assert response.status_code == 400
    assert b"The form expired or came from another site" in response.data
    assert db.session.get(User, learner.id).name == "Lena Learner"


def test_form_post_with_a_forged_token_is_refused(login_as, learner):
    client = login_as(learner)
    forged = "forged." + client.csrf_token[7:]
    response = client.post("/profile", data={"name": "Hijacked", "csrf_token": forged})
    assert response.status_code == 400


def test_token_from_another_session_is_refused(login_as, learner, staff):
    victim, attacker = login_as(learner), login_as(staff)
    response = victim.post("/profile", data={"name": "Hijacked", "csrf_token": attacker.csrf_token})
    assert response.status_code == 400
    assert db.session.get(User, learner.id).name == "Lena Learner"


def test_form_post_with_token_is_accepted(login_as, learner):
    client = login_as(learner)
    response = client.post("/profile", data={"name": "Lena L.", "reminder_emails": "y",
                                             "csrf_token": client.csrf_token})
    assert response.status_code == 302
    assert db.session.get(User, learner.id).name == "Lena L."


def test_htmx_post_needs_the_header(login_as, admin, learner):
    client = login_as(admin)
    data = {"role": "staff", "department": "Nursing", "active": "y"}
    refused = client.post(f"/admin/users/{learner.id}", data=data, headers={"HX-Request": "true"})
    assert refused.status_code == 400
    assert db.session.get(User, learner.id).role == "learner"

    accepted = client.post(f"/admin/users/{learner.id}", data=data, headers=htmx_headers(client))
    assert accepted.status_code == 200
    assert accepted.data.lstrip().startswith(b"<tr")
    assert db.session.get(User, learner.id).role == "staff"


def test_csrf_refusal_is_problem_json_for_json_clients(login_as, learner):
    client = login_as(learner)
    response = client.post("/profile", data={"name": "x"}, headers={"Accept": "application/json"})
    assert response.status_code == 400 and response.mimetype == "application/problem+json"


def test_bearer_post_needs_no_csrf_token(app, learner):
    from app.services.accounts import tokens

    _, secret = tokens.create_token(learner, "script")
    db.session.commit()
    response = app.test_client().post("/profile", data={"name": "Via Token"},
                                      headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 302
    assert db.session.get(User, learner.id).name == "Via Token"


def test_a_bad_bearer_token_is_not_rescued_by_the_session(login_as, learner):
    """A request that presents a bearer token is judged by it alone, never by cookies."""
    client = login_as(learner)
    response = client.post("/profile", data={"name": "x", "csrf_token": client.csrf_token},
                           headers={"Authorization": "Bearer lau_wrong"})
    assert response.status_code == 401
