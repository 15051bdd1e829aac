"""Accounts end to end: password reset and invitations through the worker to a real SMTP server,
login rate limit, deactivation, tokens, sessions and cookie flags."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import time_machine

from app.extensions import db
from app.models import User
from app.services.accounts import departments
from tests.conftest import PASSWORD, csrf_token_from, login
from tests.support.web import link_in

NEW_PASSWORD = "a-brand-new-secret-9"


def _post_form(client, url: str, **data):
    token = csrf_token_from(client.get(url).get_data(as_text=True))
    return client.post(url, data={"csrf_token": token, **data})


def _request_reset(client, email: str):
    return _post_form(client, "/forgot-password", email=email)


def _set_password_via(client, path: str, password: str = NEW_PASSWORD):
    return _post_form(client, path, password=password, confirm=password)


def test_password_reset_end_to_end(client, learner, jobs, smtp_server):
    response = _request_reset(client, "Learner@Example.com")
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")
    assert smtp_server.messages == []  # nothing goes out before the worker runs
    jobs()
    [message] = smtp_server.wait_for(1)
    assert message["To"] == "learner@example.com"
    assert message.get_body(preferencelist=("html",)) is not None  # multipart text + HTML
    path = link_in(message)
    assert path.startswith("/reset-password/")

    page = client.get(path)
    assert page.status_code == 200 and b"Choose a new password" in page.data
    response = _set_password_via(client, path)
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")

    assert b"did not match" in login(client, "learner@example.com", PASSWORD).data  # the old one is gone
    assert login(client, "learner@example.com", NEW_PASSWORD).status_code == 302
    assert client.get("/profile").status_code == 200

    # Single use: the link died with the password it set.
    other = client.application.test_client()
    assert other.get(path).status_code == 400
    assert b"no longer works" in other.get(path).data


def test_reset_link_expires(client, learner, jobs, smtp_server):
    _request_reset(client, learner.email)
    jobs()
    path = link_in(smtp_server.wait_for(1)[0])
    with time_machine.travel(datetime.now(UTC) + timedelta(seconds=3600 + 120)):
        assert client.get(path).status_code == 400
        token = csrf_token_from(client.get("/login").get_data(as_text=True))
        response = client.post(path, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD,
                                           "csrf_token": token})
        assert response.status_code == 400
    assert client.get(path).status_code == 200  # still fine within the hour


def test_reset_link_mismatched_or_forged(client, learner):
    from app.services.accounts import users

    token = users.make_token(learner, "reset")
    assert client.get(f"/set-password/{token}").status_code == 400  # a reset link is no invite link
    assert client.get(f"/reset-password/{token}x").status_code == 400
    assert client.get(f"/reset-password/{token}").status_code == 200


def test_forgot_password_answers_the_same_for_unknown_addresses(app, learner, jobs, smtp_server):
    answers = []
    for email in ("learner@example.com", "nobody@example.com", "not-an-email"):
        client = app.test_client()
        response = _request_reset(client, email)
        page = client.get(response.headers["Location"])
        answers.append((response.status_code, response.headers["Location"],
                        "If that address belongs to an account" in page.get_data(as_text=True)))
    assert answers[0] == answers[1] == answers[2] == (302, "/login", True)
    jobs()
    assert [m["To"] for m in smtp_server.messages] == ["learner@example.com"]


def test_reset_is_silent_for_deactivated_users(client, make_user, jobs, smtp_server):
    make_user("learner", email="gone@example.com", active=False)
    assert _request_reset(client, "gone@example.com").status_code == 302
    jobs()
    assert smtp_server.messages == []


def test_login_failure_does_not_say_which_part_was_wrong(app, learner):
    unknown = login(app.test_client(), "nobody@example.com", "whatever-123")
    wrong = login(app.test_client(), learner.email, "whatever-123")
    assert unknown.status_code == wrong.status_code == 200
    message = b"Those details did not match an active account."
    assert message in unknown.data and message in wrong.data


def test_invite_end_to_end(app, login_as, admin, jobs, smtp_server):
    admin_client = login_as(admin)
    nursing = departments.find_or_create("Nursing", actor=admin)
    db.session.commit()
    response = _post_form(admin_client, "/admin/users/invite", email="New.Person@Example.com",
                          name="New Person", role="staff", department_id=str(nursing.id))
    assert response.status_code == 302 and response.headers["Location"].endswith("/admin/users")
    invited = db.session.scalar(db.select(User).filter_by(email="new.person@example.com"))
    assert invited.role == "staff" and invited.department == "Nursing" and not invited.has_password
    assert not invited.reads_everything  # new staff read only their departments unless granted
    assert b"invited" in admin_client.get("/admin/users").data

    jobs()
    [message] = smtp_server.wait_for(1)
    assert message["To"] == "new.person@example.com" and "invited" in message["Subject"]
    path = link_in(message)
    assert path.startswith("/set-password/")

    client = app.test_client()
    page = client.get(path)
    assert page.status_code == 200 and b"Welcome, New Person" in page.data
    mismatch = _post_form(client, path, password=NEW_PASSWORD, confirm="something-else-1")
    assert mismatch.status_code == 200 and b"The passwords differ." in mismatch.data
    short = _post_form(client, path, password="short", confirm="short")
    assert b"at least 8" in short.data.lower() or b"Field must be at least 8" in short.data
    assert _set_password_via(client, path).status_code == 302
    assert client.get(path).status_code == 400  # used
    assert login(client, "new.person@example.com", NEW_PASSWORD).status_code == 302
    assert client.get("/").status_code == 200


def test_invite_link_expires_after_a_week(app, login_as, admin, jobs, smtp_server):
    _post_form(login_as(admin), "/admin/users/invite", email="late@example.com", name="Late", role="learner")
    jobs()
    path = link_in(smtp_server.wait_for(1)[0])
    client = app.test_client()
    with time_machine.travel(datetime.now(UTC) + timedelta(days=6)):
        assert client.get(path).status_code == 200
    with time_machine.travel(datetime.now(UTC) + timedelta(days=7, minutes=5)):
        assert client.get(path).status_code == 400


def test_login_rate_limit_per_address_and_ip(app, learner):
    client = app.test_client()
    statuses = [login(client, learner.email, f"wrong-{i}").status_code for i in range(5)]
    assert statuses == [200] * 5  # the form again, with the message
    response = login(client, learner.email, PASSWORD)  # the 6th attempt, even with the right password
    assert response.status_code == 429
    assert response.mimetype == "text/html"
    assert b"Too many" in response.data
    assert int(response.headers["Retry-After"]) > 0
    # Another address from the same IP is not locked out by someone hammering this one.
    assert login(app.test_client(), "other@example.com", "x-whatever").status_code == 200


def test_login_rate_limit_resets_after_a_minute(app, learner):
    client = app.test_client()
    for i in range(5):
        login(client, learner.email, f"wrong-{i}")
    assert login(client, learner.email, PASSWORD).status_code == 429
    # The limiter's moving window lives in Redis with real expiry; simulate the minute passing.
    from app.queue import get_redis

    redis = get_redis()
    keys = [k for k in redis.scan_iter("*laurel-rl*")]
    assert keys, "the limiter keeps its counters in Laurel's Redis"
    redis.delete(*keys)
    assert login(client, learner.email, PASSWORD).status_code == 302


def test_deactivated_user_is_locked_out_everywhere(app, login_as, admin, learner):
    from app.services.accounts import tokens, users

    session_client = login_as(learner)
    _, secret = tokens.create_token(learner, "integration")
    db.session.commit()
    bearer = {"Authorization": f"Bearer {secret}"}
    assert app.test_client().get("/profile", headers=bearer).status_code == 200

    users.update_user(learner, actor=admin, active=False)
    db.session.commit()

    response = session_client.get("/profile")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert app.test_client().get("/profile", headers=bearer).status_code == 401
    refused = login(app.test_client(), learner.email, PASSWORD)
    assert refused.status_code == 200 and b"did not match an active account" in refused.data

    users.update_user(learner, actor=admin, active=True)  # reactivated: can log in again
    db.session.commit()
    assert login(app.test_client(), learner.email, PASSWORD).status_code == 302


def test_deactivation_through_the_admin_row_ends_sessions(login_as, admin, learner):
    learner_client = login_as(learner)
    admin_client = login_as(admin)
    response = admin_client.post(f"/admin/users/{learner.id}", data={"role": "learner", "department": "",
                                                                     "csrf_token": admin_client.csrf_token})
    assert response.status_code == 200 and b"deactivated" in response.data
    assert learner_client.get("/").status_code == 302


def test_tokens_created_on_the_profile_work_until_revoked(app, login_as, learner):
    client = login_as(learner)
    page = client.post("/profile/tokens", data={"name": "CI", "csrf_token": client.csrf_token})
    assert page.status_code == 200
    secret = page.get_data(as_text=True).split('id="new-token" value="')[1].split('"')[0]
    assert secret.startswith("lau_")
    api = app.test_client()
    bearer = {"Authorization": f"Bearer {secret}"}
    assert api.get("/profile", headers=bearer).status_code == 200
    # A bearer POST needs no CSRF token; it acts as the token's user, with that user's role.
    assert api.post("/profile", headers=bearer, data={"name": "Renamed by API"}).status_code == 302
    assert db.session.get(User, learner.id).name == "Renamed by API"
    assert api.get("/admin/users", headers=bearer).status_code == 403

    token_id = learner.tokens[0].id
    assert learner.tokens[0].last_used_at is not None
    assert secret not in client.get("/profile").get_data(as_text=True)  # shown once only
    response = client.post(f"/profile/tokens/{token_id}/revoke", data={"csrf_token": client.csrf_token})
    assert response.status_code == 302
    refused = api.get("/profile", headers=bearer)
    assert refused.status_code == 401
    assert api.get("/profile", headers={"Authorization": "Bearer lau_not-a-real-token"}).status_code == 401
    assert api.get("/profile", headers={"Authorization": "Bearer nonsense"}).status_code == 401


def test_cannot_revoke_someone_elses_token(login_as, learner, staff):
    from app.services.accounts import tokens

    token, _ = tokens.create_token(staff, "theirs")
    db.session.commit()
    client = login_as(learner)
    response = client.post(f"/profile/tokens/{token.id}/revoke", data={"csrf_token": client.csrf_token})
    assert response.status_code == 404
    assert db.session.get(type(token), token.id).revoked_at is None


def test_password_change_ends_other_sessions(login_as, learner):
    this_device = login_as(learner)
    other_device = login_as(learner)
    wrong = this_device.post("/profile/password", data={
        "current_password": "not-it-at-all", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD,
        "csrf_token": this_device.csrf_token})
    assert wrong.status_code == 422 and b"not your current password" in wrong.data
    assert other_device.get("/profile").status_code == 200

    response = this_device.post("/profile/password", data={
        "current_password": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD,
        "csrf_token": this_device.csrf_token})
    assert response.status_code == 302
    assert this_device.get("/profile").status_code == 200
    assert other_device.get("/profile").status_code == 302


def _cookie_header(response, name: str) -> str:
    [header] = [h for h in response.headers.getlist("Set-Cookie") if h.startswith(name + "=")]
    return header


def test_remember_cookie_flags_on_http(app, learner):
    response = login(app.test_client(), learner.email, PASSWORD, remember=True)
    assert response.status_code == 302
    remember = _cookie_header(response, "remember_token")
    assert "HttpOnly" in remember and "SameSite=Lax" in remember and "Secure" not in remember
    session = _cookie_header(response, "session")
    assert "HttpOnly" in session and "SameSite=Lax" in session


def test_cookies_are_secure_when_base_url_is_https(app, learner, monkeypatch):
    from flask_login import FlaskLoginClient

    from app import create_app

    monkeypatch.setenv("BASE_URL", "https://laurel.example.org")
    secure_app = create_app({key: app.config[key] for key in (
        "TESTING", "SQLALCHEMY_DATABASE_URI", "REDIS_URL", "MAIL_BACKEND", "MAIL_SERVER", "MAIL_PORT")})
    secure_app.test_client_class = FlaskLoginClient
    try:
        client = secure_app.test_client()
        page = client.get("/login", base_url="https://laurel.example.org")
        assert page.headers["Strict-Transport-Security"].startswith("max-age=")
        response = client.post("/login", base_url="https://laurel.example.org",
                               headers={"Referer": "https://laurel.example.org/login"},
                               data={"email": learner.email, "password": PASSWORD, "remember": "y",
                                     "csrf_token": csrf_token_from(page.get_data(as_text=True))})
        assert response.status_code == 302, response.get_data(as_text=True)[:300]
        for name in ("remember_token", "session"):
            header = _cookie_header(response, name)
            assert "Secure" in header and "HttpOnly" in header and "SameSite=Lax" in header
    finally:
        with secure_app.app_context():
            from app.extensions import db as secure_db

            secure_db.session.remove()
            secure_db.engine.dispose()
