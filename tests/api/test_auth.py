"""Who may call the API: bearer tokens, sessions, CSRF, 401/403, and /me."""

from __future__ import annotations

from app.extensions import db
from app.models import ApiToken
from app.services.accounts import tokens, users


def _is_problem(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["status"] == status and body["title"]
    return body


def test_no_token_is_401_problem_with_challenge(anon):
    for url in ("/courses", "/me", "/certificates", "/users/1", "/stats"):
        response = anon.get(url)
        _is_problem(response, 401)
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_unknown_and_malformed_tokens_are_401(api_as):
    for secret in ("lau_not-a-real-token", "garbage", ""):
        _is_problem(api_as(token=secret or "lau_").get("/me"), 401)


def test_revoked_token_is_401(api_as, admin, token_for):
    secret = token_for(admin)
    client = api_as(token=secret)
    assert client.get("/me").status_code == 200
    token = db.session.query(ApiToken).filter_by(user_id=admin.id).one()
    tokens.revoke_token(token, actor=admin)
    db.session.commit()
    _is_problem(client.get("/me"), 401)


def test_deactivated_users_token_is_401(api_as, learner, admin, token_for):
    client = api_as(token=token_for(learner))
    assert client.get("/me").get_json()["email"] == "learner@example.com"
    users.update_user(learner, actor=admin, active=False)
    db.session.commit()
    _is_problem(client.get("/me"), 401)


def test_me_is_the_tokens_user(as_learner, as_admin):
    assert as_learner.get("/me").get_json() == {
        "id": as_learner.get("/me").get_json()["id"], "email": "learner@example.com", "name": "Lena Learner",
        "role": "learner", "department": "Nursing", "active": True, "reads_everything": False,
        "job_title": None}
    assert as_admin.get("/me").get_json()["role"] == "admin"


def test_learner_and_staff_may_not_write(as_learner, as_staff, world):
    for client in (as_learner, as_staff):
        _is_problem(client.post("/courses", json={"code": "X-1", "title": "X"}), 403)
        _is_problem(client.patch(f"/courses/{world.fa101.id}", json={"title": "Y"}), 403)
        _is_problem(client.delete(f"/courses/{world.cpr.id}"), 403)
        _is_problem(client.post("/certifications", json={"name": "Z"}), 403)
        _is_problem(client.post("/users", json={"email": "z@example.com", "name": "Z"}), 403)
        _is_problem(client.patch(f"/users/{world.other.id}", json={"name": "Z"}), 403)
        _is_problem(client.post("/enrollments", json={"user_id": world.other.id,
                                                      "course_id": world.cpr.id}), 403)
        _is_problem(client.post(f"/certificates/{world.other_cert.id}/revoke", json={"reason": "x"}), 403)
        _is_problem(client.post(f"/certificates/{world.other_cert.id}/reinstate"), 403)


def test_learner_may_not_list_users_or_read_stats(as_learner):
    _is_problem(as_learner.get("/users"), 403)
    _is_problem(as_learner.get("/stats"), 403)


def test_session_cookie_reads_and_needs_csrf_to_write(login_as, admin, documented):
    from tests.api.conftest import Api

    client = login_as(admin)
    session = Api(client, documented)
    assert session.get("/me").get_json()["email"] == "admin@example.com"
    refused = session.post("/courses", json={"code": "S-1", "title": "Session"})
    body = _is_problem(refused, 400)
    assert "form expired" in body["detail"]
    accepted = session.post("/courses", json={"code": "S-1", "title": "Session"},
                            headers={"X-CSRFToken": client.csrf_token})
    assert accepted.status_code == 201


def test_tokens_need_no_csrf(as_admin):
    assert as_admin.post("/courses", json={"code": "T-1", "title": "Token"}).status_code == 201


def test_openapi_document_is_public(anon):
    response = anon.get("/openapi.json")
    assert response.status_code == 200
    assert response.get_json()["openapi"] == "3.1.0"
