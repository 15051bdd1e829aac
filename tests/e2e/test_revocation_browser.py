"""Revocation as people see it, in Chromium: the admin's two-step "Revoke…" on a phone, the revoked
certificate page, and the holder's bell (whole reason, wrapped) and dashboard (revoked last).
Screenshots: test-artifacts/screens/b/revoke-*.png."""

from __future__ import annotations

import re

import pytest

from app import demo
from app.extensions import db
from app.models import Certificate, User
from tests.e2e.conftest import CHROMIUM, assert_clean
from tests.support.browser import log_in

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not CHROMIUM.exists(), reason=f"needs Chromium at {CHROMIUM}")]
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
REASON = ("The practical assessment was completed by another person on the learner's behalf; "
          "the learner must sit the assessment again in person before a new certificate is issued.")


def test_revoke_on_a_phone_then_the_holder_sees_it(new_page, live_server, demo_data, screenshot):
    from playwright.sync_api import expect

    holder = db.session.scalar(db.select(User).where(User.email == "olga.ivanova@example.com"))
    cert = db.session.scalar(db.select(Certificate).where(Certificate.user_id == holder.id)
                             .order_by(Certificate.issued_at))  # her oldest: others stay valid
    admin = new_page(**PHONE)
    log_in(admin, live_server, "admin@example.com", demo.DEMO_PASSWORD)
    admin.goto(f"{live_server}/certificates/{cert.id}")
    confirm = admin.get_by_role("button", name=f"Revoke {cert.serial}")
    expect(confirm).to_be_hidden()
    admin.locator("summary", has_text="Revoke…").click()
    expect(confirm).to_be_visible()
    admin.get_by_label(re.compile("Reason for revoking")).fill(REASON)
    screenshot(admin, "screens/b/revoke-confirm-390")
    confirm.click()
    expect(admin.get_by_test_id("revoked-notice")).to_contain_text(REASON)
    screenshot(admin, "screens/b/revoke-done-390")
    assert_clean(admin)

    learner = new_page(viewport={"width": 1366, "height": 900})
    log_in(learner, live_server, holder.email, demo.DEMO_PASSWORD)
    cards = learner.locator(".my-cert")
    expect(cards.last).to_contain_text("Revoked: not valid.")
    expect(cards.first).not_to_contain_text("Revoked")
    learner.get_by_test_id("bell").click()
    body = learner.locator(".bell-body", has_text="has been revoked").first
    expect(body).to_contain_text(REASON)
    # Wrapped, not cut: the text fits its box.
    assert body.evaluate("e => e.scrollWidth <= e.clientWidth && e.scrollHeight <= e.clientHeight + 1")
    screenshot(learner, "screens/b/revoke-bell-1366")
    assert_clean(learner)
