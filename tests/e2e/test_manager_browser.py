"""A department manager in Chromium, at a laptop's and a phone's width: the dashboard and the learners list
show their departments' people only (the demo's manager runs Health, with Nursing under it), fit the screen
and raise no console or CSP error. The admin's Departments page too.
Screenshots: test-artifacts/manager-*.png, test-artifacts/admin-departments-*.png.
"""

from __future__ import annotations

import pytest

from app import demo
from tests.e2e.conftest import CHROMIUM, assert_clean
from tests.support.browser import PHONE, WIDE, log_in, no_horizontal_scroll

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not CHROMIUM.exists(), reason=f"needs Chromium at {CHROMIUM}")]


@pytest.mark.parametrize("size", ["wide", "phone"])
def test_manager_dashboard_and_learners(new_page, live_server, demo_data, screenshot, size):
    page = new_page(**(WIDE if size == "wide" else PHONE))
    log_in(page, live_server, "manager@example.com", demo.DEMO_PASSWORD)
    assert page.get_by_role("heading", level=1).count() >= 1
    no_horizontal_scroll(page)
    assert_clean(page)
    screenshot(page, f"manager-dashboard-{size}")

    page.goto(f"{live_server}/learners")
    table = page.locator("#learners-table")
    assert table.get_by_text("Lena Fischer").count() == 1  # Nursing, under Health
    assert table.get_by_text("Chen Wei").count() == 0  # Engineering: not theirs
    no_horizontal_scroll(page)
    assert_clean(page)
    screenshot(page, f"manager-learners-{size}")

    page.goto(f"{live_server}/certificates")
    assert page.get_by_text("Chen Wei").count() == 0
    no_horizontal_scroll(page)
    assert_clean(page)


@pytest.mark.parametrize("size", ["wide", "phone"])
def test_admin_departments_page(new_page, live_server, demo_data, screenshot, size):
    page = new_page(**(WIDE if size == "wide" else PHONE))
    log_in(page, live_server, "admin@example.com", demo.DEMO_PASSWORD)
    page.goto(f"{live_server}/admin/departments")
    assert page.get_by_role("link", name="Edit Nursing").count() == 1
    no_horizontal_scroll(page)
    assert_clean(page)
    screenshot(page, f"admin-departments-{size}")
    page.get_by_role("link", name="Edit Health").click()
    page.wait_for_url(f"{live_server}/admin/departments/*")
    assert "Maya Lindqvist" in page.locator("select#manager_ids").inner_text()
    no_horizontal_scroll(page)
    assert_clean(page)
