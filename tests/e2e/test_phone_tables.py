"""Admin tables on a 390 px phone: every row's actions (Edit, Withdraw, Resend...) are on screen without
scrolling sideways, and so are an open row editor's Save and Cancel. Screenshots:
test-artifacts/screens/b/phone-*.png."""

from __future__ import annotations

import pytest

from app import demo
from app.extensions import db
from app.models import Certification
from tests.conftest import run_jobs
from tests.e2e.conftest import CHROMIUM, assert_clean

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not CHROMIUM.exists(), reason=f"needs Chromium at {CHROMIUM}")]
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
# page -> (a row's action button, the editor's Save button after clicking it, or None)
TABLES = {
    "/courses": ("Edit", "Save"),
    "/certifications": ("Edit", "Save"),
    "/enrollments": ("Withdraw", None),
    "/admin/users": ("Edit", "Save"),
    "/admin/mail": ("Resend", None),
}


@pytest.fixture
def demo_data(app):
    demo.seed()
    db.session.commit()
    run_jobs(app)  # PDFs and their mails: the mail log has rows to resend


def _on_screen(page, locator) -> None:
    box = locator.bounding_box()
    assert box is not None, "not rendered"
    width = page.viewport_size["width"]
    assert box["x"] >= 0 and box["x"] + box["width"] <= width, f"off-screen: {box}"


def test_row_actions_stay_on_screen(new_page, live_server, demo_data, screenshot):
    page = new_page(**PHONE)
    page.goto(f"{live_server}/login")
    page.get_by_label("Email").fill("admin@example.com")
    page.get_by_label("Password").fill(demo.DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server}/")
    for path, (action, save) in TABLES.items():
        page.goto(f"{live_server}{path}")
        button = page.locator("tbody tr").first.get_by_role("button", name=action)
        _on_screen(page, button)
        name = path.strip("/").replace("/", "-")
        screenshot(page, f"screens/b/phone-{name}")
        if save:
            button.click()
            save_button = page.locator("tbody tr").first.get_by_role("button", name=save)
            _on_screen(page, save_button)
            screenshot(page, f"screens/b/phone-{name}-editing")
        assert_clean(page)

    # The certification page's Edit opens the row editor, Save in view.
    cert = db.session.scalar(db.select(Certification).where(Certification.name == "Team Leader"))
    page.goto(f"{live_server}/certifications/{cert.id}")
    page.get_by_role("link", name="Edit", exact=True).click()
    _on_screen(page, page.locator(f"#certification-{cert.id}").get_by_role("button", name="Save"))
    _on_screen(page, page.locator(f"#certification-{cert.id}").get_by_label("Name"))
    screenshot(page, "screens/b/phone-certification-edit")
    assert_clean(page)
