"""Admin > Emails in a real browser: edit a lifecycle email's text with a live preview, save, reset; the
mail log shows a mail's HTML part in a sandboxed iframe where scripts cannot run. Desktop and phone."""

from __future__ import annotations

import pytest

from app import demo
from app.extensions import db
from app.services.messaging import outbox
from tests.e2e.conftest import ARTIFACTS, assert_clean
from tests.support.browser import PHONE, WIDE, log_in, no_horizontal_scroll

pytestmark = pytest.mark.browser
SCREENS = "screens/e"
# Chromium's console notes on what the mail's document was refused: its scripts, a remote image.
EXPECTED = ("because the document's frame is sandboxed", "tracker.example.com/p.gif' violates")


@pytest.fixture
def demo_data():
    demo.seed()
    db.session.commit()
    (ARTIFACTS / SCREENS).mkdir(parents=True, exist_ok=True)


@pytest.mark.parametrize(("size", "options"), [("1366", WIDE), ("390", PHONE)])
def test_admin_edits_an_email_text_with_a_live_preview(new_page, live_server, demo_data, screenshot,
                                                       size, options):
    from playwright.sync_api import expect

    page = new_page(**options)
    log_in(page, live_server, "admin@example.com", demo.DEMO_PASSWORD)
    page.goto(f"{live_server}/admin/emails")
    screenshot(page, f"{SCREENS}/emails-list-{size}")
    page.get_by_role("link", name="Edit text of Certificate revoked").click()
    expect(page.get_by_role("heading", name="Certificate revoked email")).to_be_visible()

    body = page.get_by_label("Text of the email")
    body.fill("Dear {{ name }},\n\nYour certificate was withdrawn. <script>alert(1)</script>\n\n"
              "[Check it]({{ verify_url }})")
    body.press("End")
    page.get_by_role("button", name="{{ reason }}").click()  # inserts at the cursor
    expect(body).to_have_value("Dear {{ name }},\n\nYour certificate was withdrawn. <script>alert(1)</script>"
                               "\n\n[Check it]({{ verify_url }}){{ reason }}")
    body.fill("Dear {{ name }},\n\nYour certificate was withdrawn. <script>alert(1)</script>\n\n"
              "Reason: {{ reason }}\n\n[Check it]({{ verify_url }})")
    frame = page.frame_locator("iframe[name=email-html-preview]")
    expect(frame.get_by_text("Dear Lena Learner,")).to_be_visible()
    expect(frame.get_by_role("link", name="Check it", exact=True)).to_be_visible()
    expect(frame.get_by_text("<script>alert(1)</script>", exact=False)).to_be_visible()  # shown as text
    expect(page.get_by_test_id("preview-subject")).to_have_text(
        "Your certificate LAU-2026-000123 has been revoked")
    page.get_by_role("tab", name="Plain text").click()
    expect(page.get_by_test_id("text-part")).to_contain_text("Check it: http://")
    page.get_by_role("tab", name="HTML").click()
    no_horizontal_scroll(page)
    assert_clean(page)
    screenshot(page, f"{SCREENS}/email-editor-{size}")

    # A hostile text: the preview says why, and saving is refused (422) with the reason next to the field.
    body.fill("{{ ''.__class__ }}")
    expect(page.get_by_test_id("preview-errors")).to_contain_text("only allowed around a placeholder name")
    screenshot(page, f"{SCREENS}/email-editor-refused-{size}")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#body-error")).to_contain_text("only allowed around a placeholder name")
    expect(page.get_by_test_id("text-state")).to_have_text("Default template")

    body.fill("Dear {{ name }},\n\nYour certificate was withdrawn.\n\n[Check it]({{ verify_url }})")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_test_id("text-state")).to_have_text("Your text")
    screenshot(page, f"{SCREENS}/email-editor-saved-{size}")
    page.get_by_role("button", name="Reset to default").click()
    expect(page.get_by_test_id("text-state")).to_have_text("Default template")
    assert_clean(page)


@pytest.mark.parametrize(("size", "options"), [("1366", WIDE), ("390", PHONE)])
def test_mail_log_shows_the_html_part_and_scripts_do_not_run(new_page, live_server, demo_data, screenshot,
                                                             size, options):
    from playwright.sync_api import expect

    row = outbox.queue_email("lena@example.com", "certificate_reinstated", subject="Valid again",
                             context={"name": "Lena Learner", "certification": "First Aid Level 2",
                                      "serial": "LAU-2026-000123", "verify_url": "http://localhost/verify/x"})
    # A hostile HTML part (as if a template had let markup through): it must show, and do nothing.
    row.html_body = row.html_body.replace(
        "</body>", "<p id=mark>untouched</p><script>document.getElementById('mark').textContent='ran';"
        "parent.document.title='pwned'</script>"
        "<img src=https://tracker.example.com/p.gif onerror=\"document.title='pwned'\"></body>")
    db.session.commit()
    page = new_page(**options)
    log_in(page, live_server, "admin@example.com", demo.DEMO_PASSWORD)
    page.goto(f"{live_server}/admin/mail/{row.id}")
    frame = page.frame_locator("iframe.mail-frame")
    expect(frame.get_by_text("has been reinstated and is valid again")).to_be_visible()
    expect(frame.locator("#mark")).to_have_text("untouched")
    assert "pwned" not in page.title()
    page.get_by_role("tab", name="Plain text").click()
    expect(page.get_by_test_id("text-part")).to_contain_text("is valid again")
    page.get_by_role("tab", name="HTML").click()
    no_horizontal_scroll(page)
    # The only "errors" are Chromium saying it blocked the email's scripts and remote image.
    page.errors[:] = [e for e in page.errors if not any(note in e for note in EXPECTED)]
    assert_clean(page)
    screenshot(page, f"{SCREENS}/mail-detail-{size}")
