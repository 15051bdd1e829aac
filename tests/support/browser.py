"""Browser helpers shared by the Playwright tests in tests/e2e."""

from __future__ import annotations

from tests.conftest import PASSWORD


def log_in(page, live_server: str, email: str, password: str = PASSWORD) -> None:
    """Sign in through the login form and wait for the dashboard."""
    page.goto(f"{live_server}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server}/")
