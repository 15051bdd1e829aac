"""A paid certification in Chromium: the learner completes the course, sees "Pay €49.00" on the
dashboard, goes to (a fake) Stripe Checkout, a locally signed checkout.session.completed event is posted
to /hooks/stripe, and the certificate appears. Screenshots: test-artifacts/screens/m/pay-*.png."""

from __future__ import annotations

import pytest
import requests

from tests.e2e.conftest import CHROMIUM, assert_clean
from tests.payments.conftest import (  # noqa: F401 (fixtures)
    complete,
    completed_session,
    event,
    fake_stripe,
    paid_cert,
    sign,
    stripe_on,
)
from tests.support.browser import PHONE, WIDE, log_in, no_horizontal_scroll

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not CHROMIUM.exists(), reason=f"needs Chromium at {CHROMIUM}")]


def test_learner_pays_on_stripe_and_the_certificate_appears(new_page, live_server, paid_cert,  # noqa: F811
                                                            learner, stripe_on, fake_stripe,  # noqa: F811
                                                            screenshot):
    from playwright.sync_api import expect

    from app.extensions import db
    from app.models import Payment

    fake_stripe.pages = True
    cert, course = paid_cert
    complete(learner, course)
    page = new_page(**WIDE)
    log_in(page, live_server, learner.email)
    fee = page.get_by_test_id(f"fee-{cert.id}")
    expect(page.locator(".reasons")).to_contain_text("waiting for payment")
    pay = fee.get_by_role("button", name="Pay €49.00")
    expect(pay).to_be_visible()
    assert_clean(page)
    screenshot(page, "screens/m/pay-dashboard-1366")
    pay.click()
    page.wait_for_url(f"{fake_stripe.url_for('/c/pay/')}*")
    expect(page.locator("h1")).to_have_text("Fake Stripe Checkout")

    db.session.commit()
    payment = db.session.scalar(db.select(Payment))
    payload = event("checkout.session.completed", completed_session(payment))
    answer = requests.post(f"{live_server}/hooks/stripe", data=payload, timeout=10,
                           headers={"Stripe-Signature": sign(payload), "Content-Type": "application/json"})
    assert answer.status_code == 200 and answer.json()["status"] == "paid"

    page.goto(f"{live_server}/payments/mine?checkout=done")
    expect(page.get_by_test_id("my-payments")).to_contain_text("paid")
    assert_clean(page)
    screenshot(page, "screens/m/pay-mine-1366")
    page.goto(f"{live_server}/")
    expect(page.locator(".my-cert").first).to_contain_text("First Aid")
    expect(page.get_by_test_id(f"fee-{cert.id}")).to_have_count(0)
    assert_clean(page)

    phone = new_page(**PHONE)
    log_in(phone, live_server, learner.email)
    phone.goto(f"{live_server}/payments/mine")
    no_horizontal_scroll(phone)
    screenshot(phone, "screens/m/pay-mine-390")


@pytest.mark.parametrize("size", ["1366", "390"])
def test_admin_payment_pages_fit_and_are_clean(new_page, live_server, screenshot, size):
    from playwright.sync_api import expect

    from app import demo
    from app.extensions import db
    from app.models import Payment

    demo.seed()
    db.session.commit()
    payment = db.session.scalar(db.select(Payment))
    page = new_page(**(WIDE if size == "1366" else PHONE))
    log_in(page, live_server, "admin@example.com", demo.DEMO_PASSWORD)
    pages = (("/payments/", "index"), ("/payments/fees", "fees"), ("/payments/settings", "settings"),
             (f"/payments/{payment.id}", "detail"))
    for path, name in pages:
        page.goto(f"{live_server}{path}")
        expect(page.locator("h1")).to_be_visible()
        no_horizontal_scroll(page)
        assert_clean(page)
        screenshot(page, f"screens/m/admin-{name}-{size}")
