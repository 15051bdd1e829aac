"""Two-factor sign-in with an authenticator app (TOTP): enrolment, the second login step, recovery codes,
reuse and rate limits, the admins' requirement, remembered devices and an admin's reset.

Codes are computed with pyotp from the secret the page shows, as a phone would."""

from __future__ import annotations

import re
import time

import pyotp
import pytest
from sqlalchemy import select, update

from app.extensions import db
from app.models import AuditEvent, RecoveryCode, RememberedDevice, TotpFactor
from app.services.accounts import mfa
from tests.conftest import PASSWORD, csrf_token_from, login

SECRET_RE = re.compile(r'data-testid="totp-secret">([A-Z2-7]+)<')
CODES_RE = re.compile(r"<li><code>([A-Z0-9-]{14})</code></li>")


def _post(client, url: str, **data):
    return client.post(url, data={"csrf_token": client.csrf_token, **data})


def enrol(client) -> tuple[pyotp.TOTP, list[str]]:
    """Turn on an authenticator app through the profile pages; returns the app and the recovery codes."""
    assert _post(client, "/profile/two-factor/app").status_code == 302
    page = client.get("/profile/two-factor").get_data(as_text=True)
    assert 'src="data:image/svg+xml' in page  # the QR code is drawn here, no outside service
    totp = pyotp.TOTP(SECRET_RE.search(page).group(1))
    answer = _post(client, "/profile/two-factor/app/confirm", code=totp.now())
    assert answer.status_code == 200, answer.get_data(as_text=True)[:300]
    codes = CODES_RE.findall(answer.get_data(as_text=True))
    assert len(codes) == 10 and len(set(codes)) == 10
    return totp, codes


def next_code(totp: pyotp.TOTP) -> str:
    """A code for the next 30-second step: accepted (clock drift) and later than any code used so far."""
    return totp.at(time.time() + 30)


def password_step(client, user, **extra):
    response = login(client, user.email, PASSWORD, **extra)
    assert response.status_code == 302
    return response


def second_step(client, code: str, remember: bool = False):
    token = csrf_token_from(client.get("/login/verify").get_data(as_text=True))
    return client.post("/login/verify", data={"csrf_token": token, "code": code,
                                              "remember_device": "y" if remember else ""})


def is_signed_in(client) -> bool:
    return client.get("/profile").status_code == 200


def log_out(client) -> None:
    token = csrf_token_from(client.get("/profile").get_data(as_text=True))
    client.post("/logout", data={"csrf_token": token})


def test_enrolment_keeps_the_secret_encrypted_and_needs_a_right_code(login_as, learner):
    client = login_as(learner)
    _post(client, "/profile/two-factor/app")
    page = client.get("/profile").get_data(as_text=True)  # the profile page shows the same section
    secret = SECRET_RE.search(page).group(1)
    stored = db.session.scalar(select(TotpFactor).where(TotpFactor.user_id == learner.id))
    assert secret not in stored.secret_encrypted and stored.confirmed_at is None
    wrong = _post(client, "/profile/two-factor/app/confirm", code="000000" if pyotp.TOTP(secret).now()
                  != "000000" else "111111")
    assert wrong.status_code == 422 and "That code is not right" in wrong.get_data(as_text=True)
    assert not mfa.has_totp(learner)
    totp, codes = enrol_again(client, secret)
    db.session.expire_all()
    assert mfa.has_totp(learner)
    hashes = db.session.scalars(select(RecoveryCode.code_hash)
                                .where(RecoveryCode.user_id == learner.id)).all()
    assert len(hashes) == 10 and not set(codes) & set(hashes)  # only keyed hashes are kept
    assert "user.mfa_enabled" in _actions(learner)


def enrol_again(client, secret):
    totp = pyotp.TOTP(secret)
    answer = _post(client, "/profile/two-factor/app/confirm", code=totp.now())
    assert answer.status_code == 200
    return totp, CODES_RE.findall(answer.get_data(as_text=True))


def _actions(user) -> list[str]:
    db.session.expire_all()
    return list(db.session.scalars(select(AuditEvent.action).where(AuditEvent.subject_id == str(user.id))
                                   .order_by(AuditEvent.id)))


def test_login_asks_for_the_code_and_refuses_a_wrong_one(app, login_as, learner):
    totp, _ = enrol(login_as(learner))
    client = app.test_client()
    response = password_step(client, learner)
    assert response.headers["Location"].endswith("/login/verify")
    assert not is_signed_in(client)  # half logged in is not logged in
    wrong = second_step(client, "123456" if totp.now() != "123456" else "654321")
    assert wrong.status_code == 422 and "not right" in wrong.get_data(as_text=True)
    assert not is_signed_in(client)
    right = second_step(client, next_code(totp))
    assert right.status_code == 302 and is_signed_in(client)
    actions = _actions(learner)
    assert "user.mfa_failed" in actions and "user.mfa_verified" in actions
    assert actions[-1] == "user.logged_in"


def test_a_code_is_refused_again_in_its_step(app, login_as, learner):
    totp, _ = enrol(login_as(learner))
    code = next_code(totp)
    first = app.test_client()
    password_step(first, learner)
    assert second_step(first, code).status_code == 302
    second = app.test_client()
    password_step(second, learner)
    again = second_step(second, code)
    assert again.status_code == 422 and "used already" in again.get_data(as_text=True)
    assert not is_signed_in(second)


def test_recovery_codes_work_once_and_can_be_regenerated(app, login_as, learner):
    client = login_as(learner)
    _, codes = enrol(client)
    first = app.test_client()
    password_step(first, learner)
    assert second_step(first, codes[0].lower().replace("-", " ")).status_code == 302  # case, spaces: fine
    second = app.test_client()
    password_step(second, learner)
    assert second_step(second, codes[0]).status_code == 422
    assert mfa.recovery_codes_left(learner) == 9
    fresh = _post(client, "/profile/two-factor/recovery-codes")
    new_codes = CODES_RE.findall(fresh.get_data(as_text=True))
    assert len(new_codes) == 10
    assert second_step(second, codes[1]).status_code == 422  # the old ones are gone
    assert second_step(second, new_codes[0]).status_code == 302


def test_pending_step_expires(app, login_as, learner):
    enrol(login_as(learner))
    client = app.test_client()
    password_step(client, learner)
    with client.session_transaction() as session:
        session["mfa_pending"] = {**session["mfa_pending"], "exp": int(time.time()) - 1}
    response = client.get("/login/verify")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_second_step_is_rate_limited(app, login_as, learner):
    enrol(login_as(learner))
    client = app.test_client()
    password_step(client, learner)
    limit = int(app.config["LOGIN_RATE_LIMIT"].split()[0])
    statuses = [second_step(client, "999999").status_code for _ in range(limit + 1)]
    assert statuses[:limit] == [422] * limit and statuses[limit] == 429


def test_hostile_codes_are_a_clear_refusal(app, login_as, learner):
    enrol(login_as(learner))
    client = app.test_client()
    password_step(client, learner)
    for code in ("1" * 64, "12345\x00", "²³⁴⁵⁶⁷", "' OR 1=1 --"):
        assert second_step(client, code).status_code in (400, 422)  # NUL: the app-wide 400
    assert second_step(client, "x" * 500).status_code == 422  # too long for the form


def test_disable_needs_a_code_or_the_password(login_as, learner):
    client = login_as(learner)
    totp, _ = enrol(client)
    assert _post(client, "/profile/two-factor/app/disable", proof="wrong").status_code == 422
    assert mfa.has_totp(learner)
    assert _post(client, "/profile/two-factor/app/disable", proof=PASSWORD).status_code == 302
    db.session.expire_all()
    assert not mfa.has_totp(learner) and mfa.recovery_codes_left(learner) == 0


def test_admins_must_enrol_before_anything_else(app, login_as, make_user):
    admin = make_user("admin")
    mfa.update_policy(True, 0, actor=None)
    db.session.commit()
    client = app.test_client()
    response = password_step(client, admin)
    assert response.headers["Location"].endswith("/profile/two-factor")
    client.csrf_token = csrf_token_from(client.get("/profile/two-factor").get_data(as_text=True))
    from tests.web.access_rules import DUMMY_VALUES

    allowed = {"static", "accounts.login", "accounts.logout", "accounts.two_factor", "dashboard.healthz",
               "admin.branding_css", "admin.branding_logo"}
    checked = 0
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint in allowed or rule.rule.startswith("/api/"):
            continue
        with app.test_request_context():
            from flask import url_for

            url = url_for(rule.endpoint, **{name: DUMMY_VALUES.get(type(conv).__name__, "dummy")
                                            for name, conv in rule._converters.items()})
        answer = client.get(url)
        checked += 1
        assert answer.status_code == 302 and answer.headers["Location"].endswith("/profile/two-factor"), url
    assert checked > 50
    # Writes are refused too (an API token made now would outlive the rule).
    assert _post(client, "/profile/tokens", name="escape").status_code == 403
    totp, _ = enrol(client)
    assert client.get("/admin/users").status_code == 200
    # Single sign-on sessions get their second factor from the identity provider, not from this rule.
    sso_admin = make_user("admin")
    sso = app.test_client()
    password_step(sso, sso_admin)
    assert sso.get("/admin/users").status_code == 302
    from app.models import UserSession

    db.session.execute(update(UserSession).where(UserSession.user_id == sso_admin.id)
                       .values(method="oidc", provider="oidc:1"))  # as sign_in(..., method="oidc") made it
    db.session.commit()
    assert sso.get("/admin/users").status_code == 200
    # Learners are not concerned by the admins' rule.
    learner = make_user("learner")
    assert password_step(app.test_client(), learner).headers["Location"].endswith("/")
    assert totp


def test_remembered_device_skips_the_step_until_the_password_changes(app, login_as, learner):
    totp, _ = enrol(login_as(learner))
    mfa.update_policy(False, 7, actor=None)
    db.session.commit()
    client = app.test_client()
    password_step(client, learner)
    assert second_step(client, next_code(totp), remember=True).status_code == 302
    cookie = client.get_cookie("laurel_mfa_device", path="/login")
    assert cookie is not None and cookie.max_age == 7 * 86400
    log_out(client)
    assert password_step(client, learner).headers["Location"].endswith("/")  # no second step
    assert is_signed_in(client)
    # A forged cookie is not a remembered device.
    other = app.test_client()
    other.set_cookie("laurel_mfa_device", cookie.value[:-2] + "xx", path="/login")
    assert password_step(other, learner).headers["Location"].endswith("/login/verify")
    # A password change forgets every device.
    client.csrf_token = csrf_token_from(client.get("/profile").get_data(as_text=True))
    changed = _post(client, "/profile/password", current_password=PASSWORD, password="a-new-password",
                    confirm="a-new-password")
    assert changed.status_code == 302
    assert db.session.scalar(select(RememberedDevice).where(RememberedDevice.user_id == learner.id)) is None
    log_out(client)
    assert login(client, learner.email, "a-new-password").headers["Location"].endswith("/login/verify")


def test_remember_days_are_bounded(login_as, admin):
    client = login_as(admin)
    page = client.get("/admin/settings/two-factor").get_data(as_text=True)
    client.csrf_token = csrf_token_from(page)
    for bad in ("31", "-1", "1e3", "9" * 40, "７", "3\x00"):
        assert _post(client, "/admin/settings/two-factor", remember_days=bad).status_code in (400, 422), bad
    assert mfa.policy().remember_days == 0
    assert _post(client, "/admin/settings/two-factor", remember_days="30", required_for_admins="y"
                 ).status_code == 302
    assert mfa.policy() == mfa.MfaPolicy(True, 30)


@pytest.mark.parametrize("by", ["admin"])
def test_admin_reset_removes_factors_and_ends_sessions(app, login_as, admin, learner, by):
    learner_client = login_as(learner)
    enrol(learner_client)
    assert is_signed_in(learner_client)
    admin_client = login_as(admin)
    response = _post(admin_client, f"/admin/users/{learner.id}/reset-two-factor")
    assert response.status_code == 302
    db.session.expire_all()
    assert not mfa.has_mfa(learner) and mfa.recovery_codes_left(learner) == 0
    assert not is_signed_in(learner_client)  # signed out everywhere
    assert "user.mfa_reset" in _actions(learner)
    # Back to a password-only login.
    assert password_step(app.test_client(), learner).headers["Location"].endswith("/")
    assert _post(admin_client, "/admin/users/987654/reset-two-factor").status_code == 404
    assert _post(login_as(learner), f"/admin/users/{admin.id}/reset-two-factor").status_code == 403


def test_the_second_step_is_limited_per_account_from_any_address(app, login_as, learner):
    enrol(login_as(learner))
    per_address = int(app.config["LOGIN_RATE_LIMIT"].split()[0])
    statuses = []
    for n in range(20 // per_address + 1):
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = f"198.51.100.{n + 1}"
        password_step(client, learner)
        statuses += [second_step(client, "999999").status_code for _ in range(per_address)]
    assert statuses[:20] == [422] * 20 and set(statuses[20:]) == {429}
