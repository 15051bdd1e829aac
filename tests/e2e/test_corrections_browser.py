"""Corrections in Chromium: an admin corrects a holder's name on the certificate page and the public verify
page shows the corrected name with "Reissued on ... (name corrected)"; the expiry form on the list; the
holder's request page. At 1366 px and 390 px. Screenshots: test-artifacts/screens/h/*.png."""

from __future__ import annotations

import pytest

from app import demo
from app.extensions import db
from app.models import Certificate, User
from tests.e2e.conftest import CHROMIUM, assert_clean
from tests.support.browser import log_in, no_horizontal_scroll

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not CHROMIUM.exists(), reason=f"needs Chromium at {CHROMIUM}")]
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


def _certificate_of(email: str) -> Certificate:
    holder = db.session.scalar(db.select(User).where(User.email == email))
    return db.session.scalar(db.select(Certificate).where(Certificate.user_id == holder.id,
                                                          Certificate.revoked_at.is_(None))
                             .order_by(Certificate.issued_at))


@pytest.mark.parametrize("size", ["1366", "390"])
def test_admin_corrects_a_name_and_the_verify_page_shows_history(new_page, live_server, demo_data, screenshot,
                                                                 size):
    from playwright.sync_api import expect

    cert = _certificate_of("maria.garcia@example.com")
    options = PHONE if size == "390" else {"viewport": {"width": 1366, "height": 900}}
    admin = new_page(**options)
    log_in(admin, live_server, "admin@example.com", demo.DEMO_PASSWORD)
    admin.goto(f"{live_server}/certificates/{cert.id}")
    admin.locator("summary", has_text="Correct this certificate").click()
    admin.get_by_label("Name as printed").fill("María García López")
    admin.get_by_label("Reason").last.fill("Second surname missing, as on the passport.")
    screenshot(admin, f"screens/h/correct-form-{size}")
    admin.get_by_role("button", name="Reissue").click()
    expect(admin.get_by_test_id("versions")).to_contain_text("Version 2")
    expect(admin.get_by_test_id("versions")).to_contain_text("name corrected")
    screenshot(admin, f"screens/h/correct-done-{size}")
    no_horizontal_scroll(admin)
    assert_clean(admin)

    visitor = new_page(**options)
    visitor.goto(f"{live_server}/verify/{cert.code}")
    expect(visitor.get_by_test_id("holder")).to_have_text("María García López")
    expect(visitor.get_by_test_id("reissues")).to_contain_text("(name corrected)")
    expect(visitor.get_by_test_id("serial")).to_contain_text(cert.serial)
    screenshot(visitor, f"screens/h/verify-reissued-{size}")
    no_horizontal_scroll(visitor)
    assert_clean(visitor)


def test_list_expiry_form_and_requests_page(new_page, live_server, demo_data, screenshot):
    from playwright.sync_api import expect

    cert = _certificate_of("olga.ivanova@example.com")
    admin = new_page(viewport={"width": 1366, "height": 900})
    log_in(admin, live_server, "admin@example.com", demo.DEMO_PASSWORD)
    admin.goto(f"{live_server}/certificates")
    admin.get_by_label(f"Select {cert.serial}").check()
    admin.locator("summary", has_text="Change the expiry").click()
    admin.get_by_label("Change").select_option("extend_days")
    admin.get_by_label("By (days or months)").fill("30")
    admin.locator("#expiry-reason").fill("Audit grace period")
    screenshot(admin, "screens/h/expiry-form-1366")
    admin.get_by_role("button", name="Apply to the ticked certificates").click()
    expect(admin.locator(".alert, .toast").first).to_contain_text("1 certificate")
    assert_clean(admin)
    admin.get_by_test_id("corrections-link").click()
    expect(admin.get_by_test_id("correction-request").first).to_contain_text("Lena M. Fischer")
    screenshot(admin, "screens/h/requests-1366")
    assert_clean(admin)

    admin_phone = new_page(**PHONE)
    log_in(admin_phone, live_server, "admin@example.com", demo.DEMO_PASSWORD)
    admin_phone.goto(f"{live_server}/certificates")
    admin_phone.get_by_label(f"Select {cert.serial}").check()
    screenshot(admin_phone, "screens/h/list-390")
    no_horizontal_scroll(admin_phone)
    assert_clean(admin_phone)

    phone = new_page(**PHONE)
    log_in(phone, live_server, "learner@example.com", demo.DEMO_PASSWORD)
    phone.goto(f"{live_server}/me/certificates")
    phone.get_by_test_id("ask-correction").first.click()
    expect(phone.locator("h1")).to_have_text("Ask for a correction")
    screenshot(phone, "screens/h/request-390")
    no_horizontal_scroll(phone)
    assert_clean(phone)
