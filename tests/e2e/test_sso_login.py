"""Chromium signs in through a real OpenID provider (tests/support/oidc_provider.py, its own process):
"Sign in with ..." on Laurel's login page, the provider, back to the dashboard; then a refused sign-in
(disabled user) shows its reason; then logout goes through the provider's end-session endpoint."""

from __future__ import annotations

import pytest

from app.connectors import oidc as protocol
from app.extensions import db
from app.services.identity import oidc
from tests.e2e.conftest import assert_clean
from tests.support.browser import WIDE
from tests.support.oidc_provider import RunningProvider

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def op():
    provider = RunningProvider().start()
    yield provider
    provider.stop()


@pytest.fixture
def sso(app, op, live_server):
    saved = app.config["BASE_URL"]
    app.config.update(OUTGOING_ALLOW_PRIVATE=True, BASE_URL=live_server)  # the callback is the live server
    protocol.clear_caches()
    op.configure(user={"sub": "browser-1", "email": "walker@example.com", "email_verified": True,
                       "name": "Wendy Walker", "groups": ["teachers"]}, fault=None)
    provider = oidc.create_provider({
        "label": "School Login", "issuer": op.issuer, "client_id": op.client_id,
        "client_secret": op.client_secret, "scopes": "openid email profile", "create_accounts": True,
        "group_claim": "groups", "role_map": "teachers = staff", "default_role": "learner",
        "department_claim": "", "trust_email": False}, actor="test")
    db.session.commit()
    yield provider
    app.config.update(OUTGOING_ALLOW_PRIVATE=False, BASE_URL=saved)


def test_sign_in_with_the_provider_lands_on_the_dashboard(new_page, live_server, sso, op, make_user):
    page = new_page(**WIDE)
    page.goto(f"{live_server}/login")
    page.get_by_role("link", name="Sign in with School Login").click()
    page.wait_for_url(f"{live_server}/")
    assert page.get_by_text("Wendy Walker").count() >= 1
    assert_clean(page)

    page.locator("form[action='/logout'] button").dispatch_event("click")  # the user menu's Log out
    page.wait_for_url(f"{live_server}/login")  # on through the provider's end_session, and back
    assert op.logouts() and op.logouts()[-1]["post_logout_redirect_uri"] == f"{live_server}/login"

    make_user("learner", email="blocked@example.com", active=False)
    op.configure(user={"sub": "browser-2", "email": "blocked@example.com", "email_verified": True})
    page.goto(f"{live_server}/login")
    page.get_by_role("link", name="Sign in with School Login").click()
    assert "deactivated" in page.get_by_test_id("sso-error").inner_text()
    assert page.url.startswith(f"{live_server}/sso/oidc/")


def test_login_and_sign_in_admin_pages_fit_a_phone(new_page, live_server, sso, make_user):
    from tests.support.browser import PHONE, log_in, no_horizontal_scroll

    page = new_page(**PHONE)
    page.goto(f"{live_server}/login")
    assert page.get_by_role("link", name="Sign in with School Login").is_visible()
    no_horizontal_scroll(page)
    make_user("admin", email="phone.admin@example.com")
    log_in(page, live_server, "phone.admin@example.com")
    page.goto(f"{live_server}/admin/sign-in")
    assert page.get_by_text("School Login").first.is_visible()
    no_horizontal_scroll(page)
    page.goto(f"{live_server}/admin/sign-in/providers/{sso.id}")
    no_horizontal_scroll(page)
    assert_clean(page)


def test_a_bad_id_token_is_refused_in_the_browser(new_page, live_server, sso, op):
    """A wrong nonce, an expired token, a token for another audience: Chromium goes through the real
    provider each time and lands on Laurel's refusal page, signed in nowhere."""
    page = new_page(**WIDE)
    for fault in ("nonce", "expired", "audience"):
        op.configure(user={"sub": f"browser-{fault}", "email": f"{fault}@example.com", "email_verified": True,
                           "name": "Faulty Token"}, fault=fault)
        page.goto(f"{live_server}/login")
        page.get_by_role("link", name="Sign in with School Login").click()
        page.get_by_test_id("sso-error").wait_for()
        assert "did not pass" in page.get_by_test_id("sso-error").inner_text(), fault
        page.goto(f"{live_server}/profile")
        assert page.url.startswith(f"{live_server}/login"), fault  # no session was started
    assert_clean(page)
