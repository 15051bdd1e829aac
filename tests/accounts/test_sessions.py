"""Sessions that end (issue 13, item 5): server-side sessions behind the session and remember cookies,
the Sessions list on the profile page, every way a session ends, and the idle/absolute lifetimes.

Cookies are saved before a session ends and replayed after it, one at a time: neither may log anyone in.
Lifetimes are checked by moving the clock the sessions service reads, never by waiting."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.database import utcnow
from app.extensions import db
from app.models import AuditEvent, User, UserSession
from app.services.accounts import sessions, tokens
from tests.conftest import PASSWORD, csrf_token_from, login

CHROME_WINDOWS = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                  "Chrome/131.0.0.0 Safari/537.36")
SAFARI_IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
                 "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1")
COOKIES = ("session", "remember_token")
NEW_PASSWORD = "another-long-secret-42"


class Device:
    """A browser signed in as someone: its client, CSRF token, saved cookies and session row."""

    def __init__(self, app, user, *, agent: str = CHROME_WINDOWS, remember: bool = True):
        self.client = app.test_client()
        self.client.environ_base["HTTP_USER_AGENT"] = agent
        assert login(self.client, user.email, PASSWORD, remember=remember).status_code == 302
        self.csrf = csrf_token_from(self.client.get("/profile").get_data(as_text=True))
        self.cookies = {name: self.client.get_cookie(name).value for name in COOKIES
                        if self.client.get_cookie(name) is not None}
        self.agent = agent
        self.row_id = db.session.scalar(select(UserSession.id).where(UserSession.user_id == user.id)
                                        .order_by(UserSession.id.desc()).limit(1))

    def post(self, url: str, **data):
        return self.client.post(url, data={"csrf_token": self.csrf, **data})

    def signed_in(self) -> bool:
        return _signed_in(self.client)


def _signed_in(client) -> bool:
    response = client.get("/profile")
    assert response.status_code in (200, 302)
    return response.status_code == 200


def _replays(app, device: Device):
    """Fresh browsers holding copies of the device's cookies: both, the session alone, remember alone."""
    jars = [device.cookies, {"session": device.cookies["session"]}]
    if "remember_token" in device.cookies:
        jars.append({"remember_token": device.cookies["remember_token"]})
    for jar in jars:
        client = app.test_client()
        client.environ_base["HTTP_USER_AGENT"] = device.agent
        for name, value in jar.items():
            client.set_cookie(name, value)
        yield client


def _assert_dead(app, device: Device) -> None:
    assert not device.signed_in()
    for client in _replays(app, device):
        assert not _signed_in(client)
        assert client.get("/api/v1/me", headers={"Accept": "application/json"}).status_code == 401


def _row(row_id: int) -> UserSession:
    db.session.expire_all()
    return db.session.get(UserSession, row_id)


@pytest.fixture
def clock(monkeypatch):
    """clock.move(minutes=...) shifts the time the sessions service sees (the database rows keep theirs)."""

    class Clock:
        offset = timedelta()

        def move(self, **delta):
            self.offset += timedelta(**delta)

    moved = Clock()
    monkeypatch.setattr(sessions, "utcnow", lambda: utcnow() + moved.offset)
    return moved


# --- the list ---------------------------------------------------------------------------------------------

def test_the_profile_lists_each_device_with_this_one_marked(app, learner):
    laptop = Device(app, learner)
    phone = Device(app, learner, agent=SAFARI_IPHONE, remember=False)
    page = laptop.client.get("/profile").get_data(as_text=True)
    section = page[page.index('id="sessions"'):]
    assert "Chrome on Windows" in section and "Safari on iPhone" in section
    assert section.count("this device") == 1
    assert re.search(rf'data-session="{laptop.row_id}".*?this device', section, re.S)
    # one "Sign out" per other device, and "everywhere else" once there is another device
    assert f"/profile/sessions/{phone.row_id}/end" in section
    assert f"/profile/sessions/{laptop.row_id}/end" not in section
    assert "Sign out everywhere else" in section
    assert "127.0.0.1" in section and "kept signed in" in section
    assert re.search(r"last seen <time datetime=\"[^\"]+\">\d{1,2} [A-Z][a-z]{2} \d{4}, \d\d:\d\d UTC</time>",
                     section)


def test_the_row_keeps_only_a_hash_of_the_key(app, learner):
    device = Device(app, learner)
    row = _row(device.row_id)
    assert row.method == "password" and row.remember and row.device == "Chrome on Windows"
    assert row.ip == "127.0.0.1" and row.ended_at is None and len(row.secret_hash) == 64
    with app.test_request_context():
        from flask_login.utils import decode_cookie

        key = decode_cookie(device.cookies["remember_token"])
    row_id, _, secret = key.partition(".")
    assert int(row_id) == row.id and secret not in row.secret_hash
    assert hashlib.sha256(secret.encode()).hexdigest() == row.secret_hash


def test_login_is_audited_with_its_method_and_session(app, learner):
    device = Device(app, learner)
    entry = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "user.logged_in"))
    assert entry is not None and entry.data["method"] == "password"
    assert entry.data["session"] == device.row_id
    assert db.session.get(User, learner.id).last_login_at is not None


# --- ending sessions from the list ---------------------------------------------------------------------

def test_sign_out_one_other_device(app, learner):
    laptop, phone = Device(app, learner), Device(app, learner, agent=SAFARI_IPHONE)
    response = laptop.post(f"/profile/sessions/{phone.row_id}/end")
    assert response.status_code == 302 and response.headers["Location"].endswith("/profile#sessions")
    assert "Signed out Safari on iPhone" in laptop.client.get("/profile").get_data(as_text=True)
    _assert_dead(app, phone)
    assert laptop.signed_in()
    assert _row(phone.row_id).ended_reason == "ended_by_user"
    # ended is ended: a second try is a 404, not a resurrection
    assert laptop.post(f"/profile/sessions/{phone.row_id}/end").status_code == 404


def test_signing_out_this_device_from_its_own_row_is_a_logout(app, learner):
    device = Device(app, learner)
    response = device.post(f"/profile/sessions/{device.row_id}/end")
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")
    _assert_dead(app, device)
    assert _row(device.row_id).ended_reason == "logout"


def test_sign_out_everywhere_else(app, learner):
    laptop, phone, tablet = Device(app, learner), Device(app, learner), Device(app, learner)
    assert laptop.post("/profile/sessions/end-others").status_code == 302
    page = laptop.client.get("/profile").get_data(as_text=True)
    assert "Signed out 2 other sessions." in page and "Sign out everywhere else" not in page
    for other in (phone, tablet):
        _assert_dead(app, other)
        assert _row(other.row_id).ended_reason == "signed_out_elsewhere"
    assert laptop.signed_in() and _row(laptop.row_id).ended_at is None


def test_another_users_session_is_a_404_and_stays(app, learner, make_user):
    other = make_user("learner")
    theirs = Device(app, other)
    mine = Device(app, learner)
    for session_id in (theirs.row_id, 2147483647):
        assert mine.post(f"/profile/sessions/{session_id}/end").status_code == 404
    for hostile in ("99999999999999999999", "-1", "0", "1e3", "%EF%BC%91"):
        assert mine.post(f"/profile/sessions/{hostile}/end").status_code == 404
    assert mine.post("/profile/sessions/%00/end").status_code in (400, 404)  # refused before any lookup
    assert theirs.signed_in() and _row(theirs.row_id).ended_at is None


def test_the_sign_out_forms_need_the_csrf_token(app, learner):
    laptop, phone = Device(app, learner), Device(app, learner)
    for url in (f"/profile/sessions/{phone.row_id}/end", "/profile/sessions/end-others"):
        assert laptop.client.post(url).status_code == 400
        assert laptop.client.post(url, data={"csrf_token": "forged"}).status_code == 400
    assert phone.signed_in() and laptop.signed_in()
    assert laptop.client.get(f"/profile/sessions/{phone.row_id}/end").status_code == 405


def test_a_bearer_token_neither_opens_nor_touches_nor_ends_sessions(app, learner):
    device = Device(app, learner)
    _, secret = tokens.create_token(learner, "script")
    db.session.commit()
    before = db.session.scalar(select(db.func.count()).select_from(UserSession))
    api = app.test_client()
    headers = {"Authorization": f"Bearer {secret}"}
    assert api.get("/api/v1/me", headers=headers).status_code == 200
    assert api.post("/profile/sessions/end-others", headers=headers).status_code == 409
    assert api.post("/logout", headers=headers).status_code == 302
    assert db.session.scalar(select(db.func.count()).select_from(UserSession)) == before
    assert device.signed_in()


# --- every other way a session ends -----------------------------------------------------------------------

def test_password_change_keeps_this_device_and_ends_the_others(app, learner):
    laptop, phone = Device(app, learner), Device(app, learner)
    response = laptop.post("/profile/password", current_password=PASSWORD, password=NEW_PASSWORD,
                           confirm=NEW_PASSWORD)
    assert response.status_code == 302
    assert laptop.signed_in()
    _assert_dead(app, phone)
    assert _row(phone.row_id).ended_reason == "password_changed"


def test_deactivation_role_change_and_admin_end_everything(app, login_as, admin, learner, make_user):
    admin_client = login_as(admin)
    deactivated, promoted, ended = learner, make_user("learner"), make_user("learner")
    devices = {user.id: Device(app, user) for user in (deactivated, promoted, ended)}
    admin_client.post(f"/admin/users/{deactivated.id}", data={
        "role": "learner", "department": "", "csrf_token": admin_client.csrf_token})
    admin_client.post(f"/admin/users/{promoted.id}", data={
        "role": "staff", "department": "", "active": "y", "csrf_token": admin_client.csrf_token})
    response = admin_client.post(f"/admin/users/{ended.id}/sessions/end",
                                 data={"csrf_token": admin_client.csrf_token})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/learners/{ended.id}")
    for user, reason in ((deactivated, "deactivated"), (promoted, "role_changed"), (ended, "ended_by_admin")):
        _assert_dead(app, devices[user.id])
        assert _row(devices[user.id].row_id).ended_reason == reason
    assert _signed_in(admin_client)  # the admin's own session is untouched
    entry = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "user.sessions_ended",
                                                       AuditEvent.subject_id == str(ended.id)))
    assert entry is not None and entry.data == {"reason": "ended_by_admin", "count": 1}


def test_the_admin_button_is_on_the_persons_page_for_admins_only(app, login_as, admin, staff, learner):
    url = f"/learners/{learner.id}"
    assert f"/admin/users/{learner.id}/sessions/end" in login_as(admin).get(url).get_data(as_text=True)
    assert "/sessions/end" not in login_as(staff).get(url).get_data(as_text=True)


def test_the_persons_page_lists_their_devices_for_admins_only(app, login_as, admin, staff, learner):
    """Next to "End all sessions": where the person is signed in (device, address, last seen)."""
    url = f"/learners/{learner.id}"
    assert "Not signed in anywhere" in login_as(admin).get(url).get_data(as_text=True)
    Device(app, learner)
    Device(app, learner, agent=SAFARI_IPHONE)
    page = login_as(admin).get(url).get_data(as_text=True)
    assert "Signed in on 2 devices" in page and "Chrome on Windows" in page and "Safari on iPhone" in page
    assert "Signed in on" not in login_as(staff).get(url).get_data(as_text=True)


def test_end_all_for_an_mfa_reset(app, learner):
    first, second = Device(app, learner), Device(app, learner)
    assert sessions.end_all(db.session.get(User, learner.id), reason="mfa_reset") == 2
    db.session.commit()
    for device in (first, second):
        _assert_dead(app, device)
        assert _row(device.row_id).ended_reason == "mfa_reset"
    with pytest.raises(ValueError):
        sessions.end_all(learner, reason="no such reason")


def test_the_older_users_end_sessions_still_ends_them_all(app, learner):
    from app.services.accounts import users

    device = Device(app, learner)
    users.end_sessions(db.session.get(User, learner.id), reason="email_changed")
    db.session.commit()
    _assert_dead(app, device)
    assert _row(device.row_id).ended_reason == "email_changed"


def test_logout_audits_and_ends_only_this_session(app, learner):
    laptop, phone = Device(app, learner), Device(app, learner)
    assert laptop.post("/logout").status_code == 302
    _assert_dead(app, laptop)
    assert phone.signed_in()
    assert _row(laptop.row_id).ended_reason == "logout"
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "user.logged_out")) is not None


# --- lifetimes --------------------------------------------------------------------------------------------

def test_an_idle_session_ends_and_activity_keeps_it(app, learner, clock):
    idle = app.config["SESSION_IDLE_MINUTES"]
    device = Device(app, learner, remember=False)
    clock.move(minutes=idle - 1)
    assert device.signed_in()  # a request just inside the limit counts as activity
    clock.move(minutes=idle - 1)
    assert device.signed_in()
    clock.move(minutes=idle + 1)
    _assert_dead(app, device)


def test_a_remembered_session_outlives_the_idle_limit_but_not_the_maximum_age(app, learner, clock):
    device = Device(app, learner, remember=True)
    clock.move(minutes=app.config["SESSION_IDLE_MINUTES"] + 5)
    assert device.signed_in()
    clock.move(hours=app.config["SESSION_MAX_HOURS"])
    _assert_dead(app, device)


def test_last_seen_is_written_at_most_once_a_minute(app, learner, clock):
    device = Device(app, learner)
    seen = _row(device.row_id).last_seen_at
    assert device.signed_in()
    assert _row(device.row_id).last_seen_at == seen  # seconds later: no write
    clock.move(minutes=2)
    assert device.signed_in()
    assert _row(device.row_id).last_seen_at > seen


def test_the_daily_sweep_ends_expired_rows_and_deletes_old_ended_ones(app, learner):
    stale, current = Device(app, learner, remember=False), Device(app, learner)
    gone = Device(app, learner)
    gone.post("/logout")
    now = utcnow()
    db.session.get(UserSession, stale.row_id).last_seen_at = now - timedelta(days=1)
    db.session.get(UserSession, gone.row_id).ended_at = now - timedelta(days=8)
    db.session.commit()
    from app.tasks.daily import run_steps

    counts = run_steps(now)["sessions"]
    assert counts == {"expired": 0, "idle": 1, "deleted": 1}
    assert _row(stale.row_id).ended_reason == "idle"
    assert _row(gone.row_id) is None
    assert _row(current.row_id).ended_at is None and current.signed_in()


# --- the pieces -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("key", [
    "", "1", "1.", ".x", "1:1", "0." + "a" * 43, "99999999999." + "a" * 43, "1." + "a" * 42 + "\x00",
    "1." + "a" * 44, "１." + "a" * 43, "1." + "a" * 43])
def test_keys_that_are_not_live_sessions_find_nothing(app, key):
    assert sessions.find_live(key) is None


@pytest.mark.parametrize("agent, device", [
    (CHROME_WINDOWS, "Chrome on Windows"),
    (SAFARI_IPHONE, "Safari on iPhone"),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 "
     "Safari/605.1.15", "Safari on macOS"),
    ("Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0", "Firefox on Linux"),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 "
     "Safari/537.36 Edg/131.0.0.0", "Edge on Windows"),
    ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 "
     "Mobile Safari/537.36", "Chrome on Android"),
    ("curl/8.5.0", "Unknown device"),
    ("<script>alert(1)</script>\x00" * 500, "Unknown device"),
    ("", "Unknown device"),
])
def test_device_names(agent, device):
    assert sessions.describe_device(agent) == device


def test_a_signed_in_request_costs_one_session_query_and_no_write(app, learner):
    from sqlalchemy import event

    device = Device(app, learner)
    statements: list[str] = []

    def seen(conn, cursor, statement, *args):
        statements.append(" ".join(statement.split()).lower())

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        assert device.client.get("/").status_code == 200  # the dashboard: reads no session list
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    reads = [s for s in statements if "from user_sessions" in s]
    assert len(reads) == 1 and "join users" in reads[0] and "where user_sessions.id =" in reads[0]
    assert not any(s.startswith(("update", "insert", "delete")) for s in statements)


def test_sign_in_refuses_a_deactivated_user_and_starts_nothing(app, make_user):
    from app.services.errors import NotAllowed
    from app.web.auth import sign_in

    user = make_user("learner", active=False)
    with app.test_request_context("/login", method="POST"), pytest.raises(NotAllowed):
        sign_in(user, method="oidc", provider="oidc:1")
    assert db.session.scalar(select(db.func.count()).select_from(UserSession)) == 0


def test_sign_in_keeps_the_method_and_provider_for_sso_logout(app, learner):
    from flask import session

    from app.web.auth import current_session, sign_in, signed_in_with

    with app.test_request_context("/login", method="POST", headers={"User-Agent": SAFARI_IPHONE}):
        sign_in(db.session.get(User, learner.id), method="oidc", provider="oidc:7")
        assert signed_in_with() == ("oidc", "oidc:7")
        row = current_session()
        assert session["_user_id"].startswith(f"{row.id}.") and row.device == "Safari on iPhone"
    assert _row(row.id).provider == "oidc:7" and not _row(row.id).remember
