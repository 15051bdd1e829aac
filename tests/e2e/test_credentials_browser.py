"""Credentials in a real browser: the admin rotates the signing key from Admin › Credentials; the learner
downloads their certificate as an Open Badges 3 credential, which an independent verifier accepts with the
key from the served did.json. Desktop and phone, with screenshots."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest

from app import demo
from app.extensions import db
from tests.e2e.conftest import ARTIFACTS, assert_clean
from tests.support.browser import PHONE, WIDE, log_in, no_horizontal_scroll
from tests.support.independent_verifier import verify_jwt, verify_ldp

pytestmark = pytest.mark.browser
SCREENS = "screens/credentials"


@pytest.fixture
def demo_data():
    demo.seed()
    db.session.commit()
    (ARTIFACTS / SCREENS).mkdir(parents=True, exist_ok=True)


@pytest.mark.parametrize(("size", "options"), [("1366", WIDE), ("390", PHONE)])
def test_admin_rotates_the_signing_key(new_page, live_server, demo_data, screenshot, size, options):
    from playwright.sync_api import expect

    page = new_page(**options)
    log_in(page, live_server, "admin@example.com", demo.DEMO_PASSWORD)
    page.goto(f"{live_server}/admin/settings")
    page.get_by_role("link", name="Credentials").last.click()
    expect(page.get_by_role("heading", name="Credentials", exact=True)).to_be_visible()
    expect(page.get_by_test_id("signing-key")).to_have_count(1)
    no_horizontal_scroll(page)
    screenshot(page, f"{SCREENS}/admin-{size}")
    page.get_by_text("Rotate signing key…").click()
    page.get_by_role("button", name="Rotate signing key now").click()
    expect(page.get_by_text("Signing key rotated")).to_be_visible()
    expect(page.get_by_test_id("signing-key")).to_have_count(2)
    expect(page.get_by_text("Retired, still published")).to_be_visible()
    no_horizontal_scroll(page)
    screenshot(page, f"{SCREENS}/admin-rotated-{size}")
    assert_clean(page)


@pytest.mark.parametrize(("size", "options"), [("1366", WIDE), ("390", PHONE)])
def test_learner_downloads_a_credential_that_verifies(new_page, live_server, demo_data, screenshot, size,
                                                      options):
    page = new_page(accept_downloads=True, **options)
    log_in(page, live_server, "learner@example.com", demo.DEMO_PASSWORD)
    page.goto(f"{live_server}/me/certificates")
    button = page.get_by_role("link", name="Download credential (JSON-LD)").first
    button.scroll_into_view_if_needed()
    no_horizontal_scroll(page)
    screenshot(page, f"{SCREENS}/learner-{size}")
    with page.expect_download() as download:
        button.click()
    assert download.value.suggested_filename.endswith(".credential.json")
    credential = json.loads(Path(download.value.path()).read_text(encoding="utf-8"))
    with page.expect_download() as jwt_download:
        page.get_by_role("link", name="Download credential (JWT)").first.click()
    token = Path(jwt_download.value.path()).read_text(encoding="utf-8")
    with urllib.request.urlopen(f"{live_server}/.well-known/did.json") as answer:  # noqa: S310 (loopback)
        did = json.loads(answer.read())
    verify_ldp(credential, did)
    verify_jwt(token, did)
    assert "learner@example.com" not in json.dumps(credential)
    assert_clean(page)
