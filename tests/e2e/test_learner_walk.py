"""A learner in a real browser: my certificates, download the PDF, make it public, copy the link,
open it logged out. Screenshots in test-artifacts/learner-*.png."""

from __future__ import annotations

import pytest

from app.extensions import db
from app.models import Certificate
from app.services.lifecycle import catalog, issuing
from tests.e2e.conftest import ARTIFACTS, assert_clean
from tests.support.browser import log_in

pytestmark = pytest.mark.browser


@pytest.fixture
def holder(app, make_user, jobs):
    """A learner holding First Aid Level 2, with the PDF rendered when the PDF pipeline is installed."""
    learner = make_user("learner", email="lena@example.com", name="Lena Learner")
    course = catalog.create_course({"code": "FA-101", "title": "First aid basics"}, actor="test")
    db.session.flush()
    certification = catalog.create_certification(
        {"name": "First Aid Level 2", "status": "active", "course_ids": [course.id], "validity_months": 24,
         "issuer_name": "Laurel Academy"}, actor="test")
    cert = issuing.issue(learner, certification, actor="test", note="Walk-through")
    db.session.commit()
    jobs()  # render the PDF and send the issued mail, as the worker would
    return learner, db.session.get(Certificate, cert.id, populate_existing=True)


def shot(page, name: str) -> None:
    """Full-page screenshot. caret="initial": Playwright's caret hiding leaves style="" on inputs, which
    htmx's settle step then copies onto swapped-in elements, a false CSP violation."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True, caret="initial")


def test_learner_walk(app, holder, live_server, new_page, monkeypatch):
    from playwright.sync_api import expect

    monkeypatch.setitem(app.config, "BASE_URL", live_server)  # links in pages point at this server
    learner, cert = holder
    page = new_page(permissions=["clipboard-read", "clipboard-write"])
    log_in(page, live_server, learner.email)

    # The bell says a certificate was issued.
    expect(page.get_by_test_id("bell-count")).to_have_text("1")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="My certificates").click()
    expect(page.get_by_role("heading", name="My certificates", level=1)).to_be_visible()
    card = page.locator(f"#cert-{cert.id}")
    expect(card.get_by_role("heading", name="First Aid Level 2")).to_be_visible()
    expect(card).to_contain_text(cert.serial)
    shot(page, "learner-my-certificates")

    # Download the PDF (or, without the PDF pipeline, see that it is being prepared).
    if cert.pdf_key:
        with page.expect_download() as info:
            card.get_by_role("link", name="Download PDF").first.click()
        path = info.value.path()
        with open(path, "rb") as fh:
            assert fh.read(5) == b"%PDF-"
    else:
        expect(card).to_contain_text("being")

    # Make it public (htmx swaps the card), then copy the link.
    card.get_by_role("button", name="Make public").click()
    expect(card.get_by_role("button", name="Hide picture and PDF")).to_be_visible()
    expect(card.get_by_test_id("visibility")).to_contain_text("Public")
    link_box = card.get_by_label("Link")
    share_url = link_box.input_value()
    assert share_url.endswith(f"/verify/{cert.code}")  # the one public page
    share_url = f"{live_server}/verify/{cert.code}"
    card.get_by_role("button", name="Copy link").click()
    expect(page.get_by_text("Copied to the clipboard.")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == share_url
    shot(page, "learner-made-public")

    # Share by email: the form answers in place.
    card.locator("summary", has_text="Share by email").click()
    card.get_by_label("Email addresses").fill("one@example.com, two@example.com")
    card.get_by_label("Message (optional)").fill("My first aid certificate.")
    card.get_by_role("button", name="Send").click()
    expect(card.get_by_text("Sent to one@example.com, two@example.com.")).to_be_visible()
    shot(page, "learner-shared-by-email")

    # The notifications dropdown.
    page.get_by_test_id("bell").click()
    expect(page.get_by_text("Certificate issued: First Aid Level 2")).to_be_visible()
    shot(page, "learner-bell-open")
    assert_clean(page)

    # Logged out, in another browser context: the share page works.
    visitor = new_page()
    visitor.goto(share_url)
    expect(visitor.get_by_role("heading", name="First Aid Level 2")).to_be_visible()
    expect(visitor.get_by_test_id("verify-status")).to_contain_text("Valid")
    expect(visitor.get_by_text("Lena Learner")).to_be_visible()
    if cert.pdf_key:
        expect(visitor.get_by_test_id("public-pdf")).to_be_visible()
    shot(visitor, "learner-public-page")
    assert_clean(visitor)

    # Not public again: anyone with the link still sees that it is valid, but no picture and no PDF.
    # (A new visitor: the page may be cached for VERIFY_CACHE_SECONDS by a browser or proxy that saw it.)
    card.get_by_role("button", name="Hide picture and PDF").click()
    expect(card.get_by_role("button", name="Make public")).to_be_visible()
    visitor = new_page()
    response = visitor.goto(share_url)
    assert response.status == 200
    expect(visitor.get_by_test_id("verify-status")).to_contain_text("Valid")
    expect(visitor.get_by_test_id("public-pdf")).to_have_count(0)
    expect(visitor.get_by_test_id("cert-picture")).to_have_count(0)
    shot(visitor, "learner-public-page-private")


def test_admin_previews_emails(app, admin, live_server, new_page):
    """The preview page shows the HTML part in a sandboxed iframe with its own CSP: no violations."""
    from playwright.sync_api import expect

    page = new_page()
    log_in(page, live_server, admin.email)
    page.goto(f"{live_server}/admin/emails")
    expect(page.get_by_role("heading", name="Emails", exact=True)).to_be_visible()
    page.get_by_role("link", name="Preview certificate_reminder").click()
    frame = page.frame_locator("iframe.email-preview-frame")
    expect(frame.get_by_text("Serial LAU-2026-000123")).to_be_visible()
    shot(page, "admin-email-preview-html")
    page.get_by_role("tab", name="Plain text").click()
    expect(page.get_by_test_id("text-part")).to_contain_text("Turn them off in your profile")
    assert_clean(page)
