"""Browser helpers shared by the Playwright tests in tests/e2e."""

from __future__ import annotations

from tests.conftest import PASSWORD

#: The two sizes every page is looked at in: a laptop and a phone.
WIDE = {"viewport": {"width": 1366, "height": 900}}
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True,
         "device_scale_factor": 2}


def log_in(page, live_server: str, email: str, password: str = PASSWORD) -> None:
    """Sign in through the login form and wait for the dashboard."""
    page.goto(f"{live_server}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server}/")


def no_horizontal_scroll(page) -> None:
    """The page fits its viewport: nothing makes a phone scroll sideways."""
    width = page.evaluate("document.documentElement.scrollWidth")
    viewport = page.viewport_size["width"]
    assert width <= viewport, f"page is {width}px wide in a {viewport}px viewport"
