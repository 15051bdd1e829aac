"""Item 4: sessions are revocable server-side. Each is a `user_sessions` row (the session and remember
cookies carry its key): logout ends this session, password change/reset, role change and deactivation end
them all; a copied session cookie or remember cookie from before then counts as anonymous for reads and
writes (HTML: redirect to the login page; JSON/API: 401). More in tests/accounts/test_sessions.py."""

from __future__ import annotations

import pytest

from app.extensions import db
from app.models import User
from app.services.accounts import departments
from tests.conftest import PASSWORD, csrf_token_from, login
from tests.support.web import link_in

NEW_PASSWORD = "a-brand-new-secret-9"
COOKIES = ("session", "remember_token")


def _logged_in(app, user):
    """A client logged in with "remember me", its cookies and a CSRF token valid for that session."""
    client = app.test_client()
    assert login(client, user.email, PASSWORD, remember=True).status_code == 302
    csrf = csrf_token_from(client.get("/profile").get_data(as_text=True))
    cookies = {name: client.get_cookie(name).value for name in COOKIES}
    return client, cookies, csrf


def _replay(app, cookies: dict[str, str]):
    client = app.test_client()
    for name, value in cookies.items():
        client.set_cookie(name, value)
    return client


def _assert_works(app, cookies: dict[str, str]) -> None:
    """Sanity: before revocation the copied cookies alone are a live login."""
    assert _replay(app, cookies).get("/profile").status_code == 200


def _assert_anonymous(app, user: User, cookies: dict[str, str], csrf: str | None) -> None:
    client = _replay(app, cookies)
    page = client.get("/profile")
    assert page.status_code == 302 and "/login" in page.headers["Location"]
    api = client.get("/api/v1/me", headers={"Accept": "application/json"})
    assert api.status_code == 401 and api.is_json
    if csrf is None:  # no session cookie replayed: an anonymous session gets its own token
        login_page = client.get("/login")
        assert login_page.status_code == 200  # not redirected: the remember cookie logged nobody in
        csrf = csrf_token_from(login_page.get_data(as_text=True))
    name_before = db.session.get(User, user.id).name
    write = client.post("/profile", data={"name": "Hijacked", "csrf_token": csrf})
    assert write.status_code == 302 and "/login" in write.headers["Location"]
    api_write = client.patch(f"/api/v1/users/{user.id}", json={"name": "Hijacked"},
                             headers={"X-CSRFToken": csrf, "Accept": "application/json"})
    assert api_write.status_code == 401 and api_write.is_json
    db.session.expire_all()
    assert db.session.get(User, user.id).name == name_before


def _each_cookie_set(cookies: dict[str, str], csrf: str):
    """The full cookie jar, the session cookie alone, and the remember cookie alone."""
    yield cookies, csrf
    yield {"session": cookies["session"]}, csrf
    yield {"remember_token": cookies["remember_token"]}, None


def test_logout_ends_the_copied_session_and_remember_cookie(app, learner):
    client, cookies, csrf = _logged_in(app, learner)
    for jar, _ in _each_cookie_set(cookies, csrf):
        _assert_works(app, jar)
    response = client.post("/logout", data={"csrf_token": csrf})
    assert response.status_code == 302
    for jar, token in _each_cookie_set(cookies, csrf):
        _assert_anonymous(app, learner, jar, token)


def test_logout_ends_this_session_and_sign_out_everywhere_else_the_others(app, learner):
    laptop, laptop_cookies, laptop_csrf = _logged_in(app, learner)
    phone, phone_cookies, phone_csrf = _logged_in(app, learner)
    _, tablet_cookies, tablet_csrf = _logged_in(app, learner)
    laptop.post("/logout", data={"csrf_token": laptop_csrf})
    _assert_anonymous(app, learner, laptop_cookies, laptop_csrf)
    _assert_works(app, phone_cookies)  # logging out on the laptop leaves the phone signed in
    phone.post("/profile/sessions/end-others", data={"csrf_token": phone_csrf})
    _assert_anonymous(app, learner, tablet_cookies, tablet_csrf)
    _assert_works(app, phone_cookies)
    assert login(app.test_client(), learner.email, PASSWORD).status_code == 302  # logging in again works


def test_logout_ends_an_admins_api_writes_through_the_old_session(app, admin, learner):
    client, cookies, csrf = _logged_in(app, admin)
    client.post("/logout", data={"csrf_token": csrf})
    replayed = _replay(app, cookies)
    response = replayed.patch(f"/api/v1/users/{learner.id}", json={"role": "admin"},
                              headers={"X-CSRFToken": csrf, "Accept": "application/json"})
    assert response.status_code == 401
    db.session.expire_all()
    assert db.session.get(User, learner.id).role == "learner"


def test_password_reset_ends_old_sessions_and_remember_cookies(app, learner, jobs, smtp_server):
    _, cookies, csrf = _logged_in(app, learner)
    anonymous = app.test_client()
    page = anonymous.get("/forgot-password")
    anonymous.post("/forgot-password", data={"email": learner.email,
                                             "csrf_token": csrf_token_from(page.get_data(as_text=True))})
    jobs()
    [message] = smtp_server.messages
    link = link_in(message)
    form = anonymous.get(link)
    done = anonymous.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD,
                                      "csrf_token": csrf_token_from(form.get_data(as_text=True))})
    assert done.status_code == 302
    for jar, token in _each_cookie_set(cookies, csrf):
        _assert_anonymous(app, learner, jar, token)


def test_password_change_ends_other_remember_cookies(app, learner):
    this_device, _, this_csrf = _logged_in(app, learner)
    _, cookies, csrf = _logged_in(app, learner)
    response = this_device.post("/profile/password", data={
        "current_password": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD,
        "csrf_token": this_csrf})
    assert response.status_code == 302
    assert this_device.get("/profile").status_code == 200  # the device that changed it stays in
    for jar, token in _each_cookie_set(cookies, csrf):
        _assert_anonymous(app, learner, jar, token)


@pytest.mark.parametrize("via", ["console", "api"])
def test_deactivation_ends_old_sessions_and_remember_cookies(app, login_as, admin, learner, via):
    _, cookies, csrf = _logged_in(app, learner)
    admin_client = login_as(admin)
    if via == "console":  # the admin row form: an unticked "active" box deactivates
        response = admin_client.post(f"/admin/users/{learner.id}", data={
            "role": "learner", "department": "", "csrf_token": admin_client.csrf_token})
        assert response.status_code == 200
    else:
        response = admin_client.patch(f"/api/v1/users/{learner.id}", json={"active": False},
                                      headers={"X-CSRFToken": admin_client.csrf_token})
        assert response.status_code == 200
    for jar, token in _each_cookie_set(cookies, csrf):
        _assert_anonymous(app, learner, jar, token)


@pytest.mark.parametrize("via", ["console", "api"])
def test_role_change_ends_old_sessions_and_remember_cookies(app, login_as, admin, staff, via):
    _, cookies, csrf = _logged_in(app, staff)
    admin_client = login_as(admin)
    if via == "console":
        response = admin_client.post(f"/admin/users/{staff.id}", data={
            "role": "learner", "department": "", "active": "y", "csrf_token": admin_client.csrf_token})
        assert response.status_code == 200
    else:
        response = admin_client.patch(f"/api/v1/users/{staff.id}", json={"role": "learner"},
                                      headers={"X-CSRFToken": admin_client.csrf_token})
        assert response.status_code == 200
    db.session.expire_all()
    assert db.session.get(User, staff.id).role == "learner"
    for jar, token in _each_cookie_set(cookies, csrf):
        _assert_anonymous(app, staff, jar, token)


def test_an_edit_that_changes_neither_role_nor_status_keeps_sessions(app, login_as, admin, learner):
    _, cookies, _ = _logged_in(app, learner)
    admin_client = login_as(admin)
    surgery = departments.find_or_create("Surgery", actor=admin)
    db.session.commit()
    admin_client.post(f"/admin/users/{learner.id}", data={
        "role": "learner", "department_id": str(surgery.id), "active": "y",
        "csrf_token": admin_client.csrf_token})
    db.session.expire_all()
    assert db.session.get(User, learner.id).department == "Surgery"
    _assert_works(app, cookies)


def test_logout_with_a_bearer_token_leaves_browser_sessions_alone(app, learner):
    from app.services.accounts import tokens

    _, cookies, _ = _logged_in(app, learner)
    _, secret = tokens.create_token(learner, "script")
    db.session.commit()
    response = app.test_client().post("/logout", headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 302
    _assert_works(app, cookies)  # a token has no session to end
