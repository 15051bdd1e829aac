"""The Analytics page in Chromium: charts draw from the JSON islands, htmx filters swap them and push the
URL, back restores the previous filters, and nothing breaks the CSP or logs errors."""

from __future__ import annotations

import re

import pytest

from app import demo

pytestmark = pytest.mark.browser

CHARTS_DRAWN = """() => {
  const canvases = [...document.querySelectorAll('canvas[data-chart]')];
  return !document.querySelector('[data-figure-placeholder]') && canvases.length > 0
    && canvases.every(c => window.Chart && window.Chart.getChart(c));
}"""


def _log_in(page, live_server):
    page.goto(f"{live_server}/login")
    page.get_by_label("Email").fill("admin@example.com")
    page.get_by_label("Password").fill(demo.DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server}/")


def test_charts_render_filter_and_go_back(page, live_server, demo_data, screenshot):
    from playwright.sync_api import expect

    from tests.e2e.conftest import assert_clean

    _log_in(page, live_server)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Analytics").click()
    page.wait_for_url(f"{live_server}/analytics/")
    page.wait_for_function(CHARTS_DRAWN)
    count = page.locator("canvas[data-chart]").count()
    assert count >= 6  # charts with no data show a note instead of an empty canvas
    assert_clean(page)
    screenshot(page, "analytics-page")

    page.get_by_label("Department", exact=True).select_option("Nursing")
    page.wait_for_url(re.compile(r".*/analytics/\?department=Nursing$"))
    expect(page.locator("#analytics-summary")).to_contain_text("Nursing")
    page.wait_for_function(CHARTS_DRAWN)
    assert page.locator("#analytics-filters").count() == 1  # the fragment replaced only the results
    export = page.locator("a[href*='/analytics/export/status.csv']")
    assert "department=Nursing" in export.get_attribute("href")
    screenshot(page, "analytics-page-filtered")

    page.go_back()
    page.wait_for_url(f"{live_server}/analytics/")
    expect(page.get_by_label("Department", exact=True)).to_have_value("")
    page.wait_for_function(CHARTS_DRAWN)
    expect(page.locator("#analytics-summary")).to_contain_text("All certificates")
    page.go_forward()
    page.wait_for_url(re.compile(r".*department=Nursing$"))
    expect(page.get_by_label("Department", exact=True)).to_have_value("Nursing")
    page.wait_for_function(CHARTS_DRAWN)
    assert_clean(page)

    page.get_by_text("Data table: certificates issued per month").click()
    expect(page.get_by_role("table", name="Certificates issued per month")).to_be_visible()


def test_figures_past_the_time_budget_load_on_their_own(page, live_server, demo_data, app, monkeypatch,
                                                        screenshot):
    from playwright.sync_api import expect

    from tests.e2e.conftest import assert_clean

    monkeypatch.setitem(app.config, "ANALYTICS_INLINE_BUDGET_MS", 0)  # the page computes nothing itself
    _log_in(page, live_server)
    page.goto(f"{live_server}/analytics/?department=Nursing")
    page.wait_for_function(CHARTS_DRAWN)
    expect(page.locator("[data-figure-placeholder]")).to_have_count(0)
    assert page.locator("canvas[data-chart]").count() >= 6
    expect(page.get_by_role("table", name="Top performers")).to_be_visible()
    expect(page.get_by_text(re.compile(r"As of \d\d:\d\d UTC")).first).to_be_visible()
    assert_clean(page)
    screenshot(page, "analytics-page-lazy")
