"""Compliance in Chromium: an admin creates a requirement through the form (the fields of the chosen kind
only) and sees the matrix, at a laptop's and a phone's width, with no console or CSP error; the manager
sees their departments only. Screenshots: test-artifacts/compliance-*.png."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from app import demo
from tests.e2e.conftest import CHROMIUM, assert_clean
from tests.support.browser import PHONE, WIDE, log_in, no_horizontal_scroll

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not CHROMIUM.exists(), reason=f"needs Chromium at {CHROMIUM}")]


@pytest.mark.parametrize("size", ["wide", "phone"])
def test_admin_creates_a_requirement_and_sees_the_matrix(new_page, live_server, demo_data, screenshot, size):
    page = new_page(**(WIDE if size == "wide" else PHONE))
    log_in(page, live_server, "admin@example.com", demo.DEMO_PASSWORD)
    page.goto(f"{live_server}/compliance")
    assert page.locator('[data-testid="compliance-cells"]').count() == 1
    no_horizontal_scroll(page)
    assert_clean(page)
    screenshot(page, f"compliance-matrix-{size}")
    page.screenshot(path=f"/tmp/h-g-matrix-{size}.png", full_page=True)

    page.get_by_role("link", name="Requirements").first.click()
    page.get_by_role("link", name="New requirement").first.click()
    form = page.locator('[data-testid="requirement-form"]')
    page.select_option("#certification_id", label="Infection Control Practitioner")
    page.select_option("#scope", "job_title")
    expect(form.locator("#department_id")).to_be_hidden()  # only the chosen kind's fields show (show-for.js)
    page.fill("#job_title", "Nurse")
    page.fill("#due_days", "21")
    no_horizontal_scroll(page)
    assert_clean(page)
    page.screenshot(path=f"/tmp/h-g-requirement-{size}.png", full_page=True)
    page.get_by_role("button", name="Save requirement").click()
    page.wait_for_url(f"{live_server}/compliance/requirements")
    assert page.get_by_text("job title “Nurse”").count() >= 2

    page.goto(f"{live_server}/compliance?state=exempt")
    assert page.get_by_text("Jonas Berg").count() >= 1
    page.goto(f"{live_server}/compliance")
    assert page.get_by_text("Infection Control Practitioner").count() >= 1
    no_horizontal_scroll(page)
    assert_clean(page)


def test_manager_sees_their_departments(new_page, live_server, demo_data):
    page = new_page(**PHONE)
    log_in(page, live_server, "manager@example.com", demo.DEMO_PASSWORD)
    page.goto(f"{live_server}/compliance")
    cells = page.locator('[data-testid="compliance-cells"]')
    assert cells.get_by_text("Lena Fischer").count() >= 1  # Nursing, under Health
    assert cells.get_by_text("Chen Wei").count() == 0  # a named person outside Health
    no_horizontal_scroll(page)
    assert_clean(page)
