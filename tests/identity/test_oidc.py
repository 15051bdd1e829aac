"""OpenID Connect sign-in end to end at the HTTP level, against a real OpenID provider process
(tests/support/oidc_provider.py: authlib's provider components) on loopback.

The Flask test client plays Laurel's side; the browser's hop to the provider is a real HTTP request
(requests), and Laurel's code exchange and key fetch go over real HTTP to the provider process.
"""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from sqlalchemy import select

from app.connectors import oidc as protocol
from app.extensions import db
from app.models import AuditEvent, User
from app.models.identity import OidcProvider, UserIdentity
from app.services.identity import oidc, policy
from tests.conftest import PASSWORD, csrf_token_from, login
from tests.support.oidc_provider import RunningProvider

PERSON = {"sub": "op-user-1", "email": "sso.person@example.com", "email_verified": True, "name": "Sso Person",
          "groups": ["teachers"], "department": "Nursing"}


@pytest.fixture(scope="module")
def op():
    provider = RunningProvider().start()
    yield provider
    provider.stop()


@pytest.fixture
def provider(app, op):
    app.config["OUTGOING_ALLOW_PRIVATE"] = True  # the provider listens on loopback
    protocol.clear_caches()
    op.configure(user=dict(PERSON), fault=None)
    row = oidc.create_provider({
        "label": "Test IdP", "issuer": op.issuer, "client_id": op.client_id,
        "client_secret": op.client_secret,
        "scopes": "openid email profile groups", "create_accounts": True, "group_claim": "groups",
        "role_map": "teachers = staff\nit = admin", "default_role": "learner",
        "department_claim": "department",
        "trust_email": False}, actor="test")
    db.session.commit()
    yield row
    app.config["OUTGOING_ALLOW_PRIVATE"] = False


def _start(client, provider: OidcProvider, next_url: str | None = None) -> str:
    """Leave Laurel for the provider; the provider's answer: the callback path with code and state."""
    query = f"?next={next_url}" if next_url else ""
    response = client.get(f"/sso/oidc/{provider.public_id}/start{query}")
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    at_provider = response.headers["Location"]
    params = parse_qs(urlsplit(at_provider).query)
    assert params["code_challenge_method"] == ["S256"] and params["nonce"] and params["state"]
    answer = requests.get(at_provider, allow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text[:300]
    back = urlsplit(answer.headers["Location"])
    assert back.path == f"/sso/oidc/{provider.public_id}/callback"
    return f"{back.path}?{back.query}"


def _sign_in(client, provider: OidcProvider, next_url: str | None = None):
    return client.get(_start(client, provider, next_url))


def _log_out(client) -> None:
    token = csrf_token_from(client.get("/profile").get_data(as_text=True))
    client.post("/logout", data={"csrf_token": token})


def _refusals() -> list[str]:
    return list(db.session.scalars(select(AuditEvent.summary).where(AuditEvent.action == "user.sso_refused")))


def test_login_creates_the_account_with_mapped_role_and_department(client, provider):
    response = _sign_in(client, provider, next_url="/profile")
    assert response.status_code == 302 and response.headers["Location"] == "/profile"
    user = db.session.scalar(select(User).where(User.email == "sso.person@example.com"))
    assert (user.name, user.role, user.department_ref.name) == ("Sso Person", "staff", "Nursing")
    assert client.get("/profile").status_code == 200
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "user.logged_in"))
    assert event.data["method"] == "oidc" and event.data["provider"] == provider.key


def test_existing_account_linked_by_verified_email(client, provider, learner, op):
    op.configure(user={**PERSON, "email": "learner@example.com", "groups": ["it"]})
    assert _sign_in(client, provider).status_code == 302
    link = db.session.scalar(select(UserIdentity))
    assert link.user_id == learner.id and link.subject == "op-user-1"
    assert db.session.get(User, learner.id).role == "learner"  # the mapping applies to new accounts only


def test_unverified_email_is_refused_for_an_existing_account(client, provider, learner, op):
    op.configure(user={**PERSON, "email": "learner@example.com", "email_verified": False})
    response = _sign_in(client, provider)
    assert response.status_code == 403 and "did not confirm" in response.get_data(as_text=True)
    assert db.session.scalar(select(UserIdentity)) is None
    assert client.get("/profile").status_code == 302  # not signed in


@pytest.mark.parametrize("fault", ["nonce", "expired", "audience", "signature"])
def test_a_bad_id_token_is_refused(client, provider, op, fault):
    op.configure(user=dict(PERSON), fault=fault)
    response = _sign_in(client, provider)
    assert response.status_code == 400, fault
    assert "did not pass" in response.get_data(as_text=True)
    assert db.session.scalar(select(User).where(User.email == "sso.person@example.com")) is None
    assert any("ID token refused" in summary for summary in _refusals()), _refusals()


def test_bad_state_and_replayed_callback_are_refused(client, app, provider):
    callback = _start(client, provider)
    stranger = app.test_client()  # a forged login: the callback lands in another browser
    assert stranger.get(callback).status_code == 400
    assert client.get(callback.replace("state=", "state=x")).status_code == 400
    # The browser that started the login may finish it, once ...
    assert client.get(callback).status_code == 302
    _log_out(client)
    # ... and never twice (the state is gone, and the provider refuses a used code anyway).
    assert client.get(callback).status_code == 400


def test_hostile_callbacks_and_starts_answer_4xx(client, provider):
    callback = f"/sso/oidc/{provider.public_id}/callback"
    for query in ("", "?state=%00&code=%00", "?state=" + "s" * 100_00 + "&code=c", "?error=access_denied",
                  "?state=a&state=b&code=x", "?code=" + "%E2%80%A8" * 500):
        assert client.get(callback + query).status_code == 400, query
    for public_id in ("0" * 32, "x" * 5000, "%00", "1"):
        assert client.get(f"/sso/oidc/{public_id}/start").status_code in (400, 404)  # NUL: 400 anywhere
        assert client.get(f"/sso/oidc/{public_id}/callback?state=a&code=b").status_code in (400, 404)
    start = client.get(f"/sso/oidc/{provider.public_id}/start?next=//evil.example/" + "a" * 5000)
    assert start.status_code == 302
    assert client.get(_start(client, provider, next_url="https://evil.example/")).headers["Location"] == "/"


def test_replayed_code_is_refused_by_the_provider(client, provider):
    callback = _start(client, provider)
    code = parse_qs(urlsplit(callback).query)["code"][0]
    first_try = _start(client, provider)  # a fresh login whose state we pair with the used code
    state = parse_qs(urlsplit(first_try).query)["state"][0]
    assert client.get(callback).status_code == 302  # the code is used now
    _log_out(client)
    replay = client.get(f"/sso/oidc/{provider.public_id}/callback?code={code}&state={state}")
    assert replay.status_code == 400
    assert any("Token endpoint" in summary for summary in _refusals())


def test_deactivated_user_and_jit_off_are_refused(client, provider, make_user, op):
    make_user("learner", email="gone@example.com", active=False)
    op.configure(user={**PERSON, "email": "gone@example.com"})
    response = _sign_in(client, provider)
    assert response.status_code == 403 and "deactivated" in response.get_data(as_text=True)
    provider.create_accounts = False
    db.session.commit()
    op.configure(user={**PERSON, "sub": "someone-new", "email": "new@example.com"})
    response = _sign_in(client, provider)
    assert response.status_code == 403 and "Ask an administrator" in response.get_data(as_text=True)
    assert db.session.scalar(select(User).where(User.email == "new@example.com")) is None


def test_login_page_shows_the_button_and_disabled_providers_vanish(client, provider):
    page = client.get("/login").get_data(as_text=True)
    assert "Sign in with Test IdP" in page and f"/sso/oidc/{provider.public_id}/start" in page
    provider.enabled = False
    db.session.commit()
    assert "Sign in with Test IdP" not in client.get("/login").get_data(as_text=True)
    assert client.get(f"/sso/oidc/{provider.public_id}/start").status_code == 404


def test_sso_only_refuses_passwords_for_non_admins_but_not_break_glass(client, app, provider, learner, admin):
    policy.set_sso_only(True, actor="test")
    db.session.commit()
    page = client.get("/login").get_data(as_text=True)
    assert 'name="password"' not in page and "Sign in with Test IdP" in page
    token = csrf_token_from(client.get("/login?local=1").get_data(as_text=True))
    refused = client.post("/login?local=1", data={"email": learner.email, "password": PASSWORD,
                                                  "csrf_token": token})
    assert refused.status_code == 403 and client.get("/profile").status_code == 302
    admin_client = app.test_client()
    token = csrf_token_from(admin_client.get("/login?local=1").get_data(as_text=True))
    assert admin_client.post("/login?local=1", data={"email": admin.email, "password": PASSWORD,
                                                     "csrf_token": token}).status_code == 302
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "user.break_glass_login"))
    # Password resets: the job sends none for a learner.
    from app.tasks.accounts import send_password_reset

    send_password_reset(learner.email)
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "user.password_reset_refused"))


def test_rp_initiated_logout(client, provider, op):
    assert _sign_in(client, provider).status_code == 302
    token = csrf_token_from(client.get("/profile").get_data(as_text=True))
    response = client.post("/logout", data={"csrf_token": token})
    # A page that moves on to the provider (a form's redirect to another site would break CSP form-action).
    assert response.status_code == 200
    found = re.search(r'href="([^"]+)" data-testid="sso-logout"',
                      response.get_data(as_text=True))
    target = urlsplit(html.unescape(found.group(1)))
    assert f"{target.scheme}://{target.netloc}{target.path}" == f"{op.issuer}/logout"
    params = parse_qs(target.query)
    assert params["post_logout_redirect_uri"] == ["http://localhost/login"]
    assert params["id_token_hint"][0].count(".") == 2 and params["client_id"] == [op.client_id]
    assert client.get("/profile").status_code == 302  # Laurel's session ended first
    # A password session logs out locally only.
    login(client, "sso.person@example.com")  # no password: refused, still anonymous
    assert client.get("/profile").status_code == 302


def test_admin_pages_add_test_and_disable(login_as, admin, provider, op):
    client = login_as(admin)
    assert "Test IdP" in client.get("/admin/sign-in").get_data(as_text=True)
    page = client.get(f"/admin/sign-in/providers/{provider.id}").get_data(as_text=True)
    assert f"/sso/oidc/{provider.public_id}/callback" in page and op.client_secret not in page
    tested = client.post(f"/admin/sign-in/providers/{provider.id}/test",
                         data={"csrf_token": client.csrf_token}, follow_redirects=True)
    assert "Discovery works" in tested.get_data(as_text=True)
    bad = client.post("/admin/sign-in/providers/new", data={
        "csrf_token": client.csrf_token, "label": "X", "issuer": "ftp://x", "client_id": "c",
        "scopes": "openid", "role_map": "teachers = wizard", "default_role": "learner"})
    assert bad.status_code == 422
    text = bad.get_data(as_text=True)
    assert "https:// URL" in text and "the role must be one of" in text
    assert db.session.scalar(select(OidcProvider).where(OidcProvider.label == "X")) is None
    client.post(f"/admin/sign-in/providers/{provider.id}/enabled", data={"csrf_token": client.csrf_token})
    db.session.refresh(provider)
    assert provider.enabled is False
    stored = provider.client_secret_encrypted
    assert stored and op.client_secret not in stored


def test_the_first_provider_from_the_environment(app, client, op):
    app.config.update(OIDC_ISSUER=op.issuer, OIDC_CLIENT_ID=op.client_id, OIDC_CLIENT_SECRET=op.client_secret,
                      OIDC_LABEL="Env School")
    app.config["OUTGOING_ALLOW_PRIVATE"] = True
    try:
        protocol.clear_caches()
        op.configure(user=dict(PERSON), fault=None)
        assert "Sign in with Env School" in client.get("/login").get_data(as_text=True)
        client.get("/login")  # a second look changes nothing
        [row] = oidc.providers()
        assert row.from_environment and row.create_accounts
        assert oidc.ensure_environment_provider().id == row.id
        assert _sign_in(client, row).status_code == 302
    finally:
        app.config.update(OIDC_ISSUER=None, OIDC_CLIENT_ID=None, OIDC_CLIENT_SECRET=None,
                          OUTGOING_ALLOW_PRIVATE=False)


def test_a_rotated_signing_key_is_fetched_again(client, app, provider, op):
    assert _sign_in(client, provider).status_code == 302  # the old key set is cached now
    _log_out(client)
    op.configure(user=dict(PERSON), rotate=True)
    assert _sign_in(client, provider).status_code == 302


def test_an_unreachable_or_private_provider_is_a_clear_answer(client, app, provider):
    app.config["OUTGOING_ALLOW_PRIVATE"] = False  # the provider is on loopback: refused by the policy
    protocol.clear_caches()
    response = client.get(f"/sso/oidc/{provider.public_id}/start")
    assert response.status_code == 502 and "cannot be reached" in response.get_data(as_text=True)
    assert any("OUTGOING_ALLOW_PRIVATE" in summary or "address" in summary for summary in _refusals())
