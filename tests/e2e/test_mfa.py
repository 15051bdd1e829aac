"""Two-factor sign-in in Chromium: enrol an authenticator app from the profile (the code computed with pyotp
from the secret the page shows), log out, log in with a code; and a passkey on Chromium's virtual
authenticator (DevTools WebAuthn domain), registered on the profile and used to sign in without a password.

Passkeys need a host name for their relying party (not an IP address), so that test opens the live server
as http://localhost:<port> (BASE_URL is http://localhost in tests: the same relying party)."""

from __future__ import annotations

import time

import pyotp
import pytest
from playwright.sync_api import expect

from tests.conftest import PASSWORD
from tests.e2e.conftest import assert_clean
from tests.support.browser import PHONE, WIDE, log_in, no_horizontal_scroll

pytestmark = pytest.mark.browser


def _log_out(page) -> None:
    page.locator("form[action='/logout'] button").first.evaluate("button => button.form.submit()")
    page.wait_for_url("**/login")


def test_enrol_an_authenticator_app_then_log_in_with_a_code(new_page, live_server, make_user, screenshot):
    user = make_user("learner", email="tess@example.com", name="Tess Totp")
    page = new_page(**WIDE)
    log_in(page, live_server, user.email)
    page.goto(f"{live_server}/profile")
    page.get_by_role("button", name="Set up an authenticator app").click()
    page.wait_for_url("**/profile/two-factor*")
    assert page.locator("img.totp-qr").evaluate("img => img.complete && img.naturalWidth > 0")
    totp = pyotp.TOTP(page.get_by_test_id("totp-secret").inner_text().strip())
    page.get_by_label("Code from the app").fill(totp.now())
    page.get_by_role("button", name="Turn on").click()
    codes = page.get_by_test_id("recovery-codes").locator("code")
    expect(codes).to_have_count(10)  # waits for the POST's answer (a bare count raced it under load)
    recovery = codes.first.inner_text()
    assert_clean(page)

    _log_out(page)
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server}/login/verify")
    page.get_by_label("Code").fill(totp.at(time.time() + 30))  # the next step: newer than the one used
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(f"{live_server}/")
    assert_clean(page)

    phone = new_page(**PHONE)
    log_in_pending = phone.goto(f"{live_server}/login")
    assert log_in_pending.ok
    phone.get_by_label("Email").fill(user.email)
    phone.get_by_label("Password").fill(PASSWORD)
    phone.get_by_role("button", name="Log in").click()
    phone.wait_for_url(f"{live_server}/login/verify")
    no_horizontal_scroll(phone)
    phone.get_by_label("Code").fill(recovery)  # the lost-phone way in, once
    phone.get_by_role("button", name="Continue").click()
    phone.wait_for_url(f"{live_server}/")
    phone.goto(f"{live_server}/profile/two-factor")
    assert "9 recovery codes left" in phone.get_by_test_id("two-factor").inner_text()
    no_horizontal_scroll(phone)
    screenshot(phone, "mfa-two-factor-phone")
    assert_clean(phone)


def test_register_a_passkey_and_sign_in_without_a_password(new_page, live_server, make_user):
    base = live_server.replace("127.0.0.1", "localhost")
    user = make_user("learner", email="pia@example.com", name="Pia Passkey")
    page = new_page(**WIDE)
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {
        "protocol": "ctap2", "transport": "internal", "hasResidentKey": True,
        "hasUserVerification": True, "isUserVerified": True, "automaticPresenceSimulation": True}})
    log_in(page, base, user.email)
    page.goto(f"{base}/profile/two-factor")
    page.get_by_label("Passkey name").fill("Chromium virtual key")
    page.get_by_role("button", name="Add a passkey").click()
    page.get_by_test_id("passkeys").get_by_text("Chromium virtual key").wait_for()
    assert_clean(page)

    _log_out(page)
    page.get_by_role("button", name="Sign in with a passkey").click()
    page.wait_for_url(f"{base}/")
    page.goto(f"{base}/profile/two-factor")
    row = page.get_by_test_id("passkeys").locator("tbody tr").first
    assert "never" not in row.inner_text().lower()  # last used: now
    assert_clean(page)
