"""Every page, in real Chromium, without a console error or a CSP violation, as an admin and as a learner.

The pages are the ones the link crawl reaches (tests/support/crawl.py, the same walk as
tests/web/test_no_dead_ends.py) on the demo organisation. Each is opened in Chromium and left to
settle (htmx loads its fragments), then checked: console errors, uncaught exceptions, 5xx answers and
`securitypolicyviolation` events (the listener is added by tests/e2e/conftest.py through the DevTools
protocol, outside the page's CSP). The issue's case, "CSP inline style errors after adding a course",
is walked too: add a course inline, open and cancel a row editor.

With LAUREL_SCREENSHOTS=1, every page is also saved at 1366 px and 390 px wide to
test-artifacts/screens/crawl/<role>/ (slow: off by default).
"""

from __future__ import annotations

import os
import re

import pytest

from app import demo
from app.extensions import db
from app.models import User
from tests.e2e.conftest import ARTIFACTS, CHROMIUM, csp_violations
from tests.support.browser import log_in
from tests.support.crawl import build_world, crawl

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not CHROMIUM.exists(), reason=f"needs Chromium at {CHROMIUM}")]
SCREENS = ARTIFACTS / "screens" / "crawl"
SHOOT = os.environ.get("LAUREL_SCREENSHOTS") == "1"
WIDE = {"width": 1366, "height": 900}
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True,
         "device_scale_factor": 1}
# Pages Chromium downloads or shows as a file rather than a document: nothing to check or shoot.
FILES = re.compile(r"\.(csv|pdf|json|zip)(\?|$)|/download(\?|$)|/pdf(\?|$)")


@pytest.fixture
def world(app):
    build_world(app)
    db.session.commit()


def _pages(app, login_as, email: str) -> list[str]:
    user = db.session.scalar(db.select(User).where(User.email == email))
    result = crawl(app, login_as(user, demo.DEMO_PASSWORD))
    assert not result.broken, result.broken
    return [url for url in result.pages if not FILES.search(url)]


def _name(url: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", url).strip("-") or "dashboard"


def _settle(page) -> None:
    """Let htmx load what the page loads by itself (fragments, charts) before checking."""
    page.wait_for_load_state("networkidle")


def _problems(page, url: str) -> list[str]:
    found = [f"{url}: {e}" for e in page.errors] + [f"{url}: CSP {v}" for v in csp_violations(page)]
    page.errors.clear()
    return found


def _walk(new_page, live_server, email: str, urls: list[str], role: str) -> list[str]:
    page = new_page(viewport=WIDE)
    log_in(page, live_server, email, demo.DEMO_PASSWORD)
    phone = None
    if SHOOT:
        phone = new_page(**PHONE)
        log_in(phone, live_server, email, demo.DEMO_PASSWORD)
        (SCREENS / role).mkdir(parents=True, exist_ok=True)
    problems = []
    for url in urls:
        for browser_page, suffix in ((page, "1366"), (phone, "390")):
            if browser_page is None:
                continue
            browser_page.goto(live_server + url)
            _settle(browser_page)
            problems += _problems(browser_page, f"{url} @{suffix}")
            if SHOOT:
                browser_page.screenshot(path=str(SCREENS / role / f"{_name(url)}-{suffix}.png"),
                                        full_page=True, caret="initial")
    return problems


def test_admin_pages_have_no_console_errors_or_csp_violations(app, login_as, world, new_page, live_server):
    urls = _pages(app, login_as, "admin@example.com")
    assert len(urls) > 30, urls
    problems = _walk(new_page, live_server, "admin@example.com", urls, "admin")
    assert not problems, "\n".join(problems)


def test_learner_pages_have_no_console_errors_or_csp_violations(app, login_as, world, new_page, live_server):
    urls = _pages(app, login_as, "learner@example.com")
    assert len(urls) >= 4, urls
    problems = _walk(new_page, live_server, "learner@example.com", urls, "learner")
    assert not problems, "\n".join(problems)


def test_adding_a_course_and_editing_rows_stays_csp_clean(world, new_page, live_server):
    """The issue's report: 'inline style' CSP errors in the console after adding a course."""
    from playwright.sync_api import expect

    page = new_page(viewport=WIDE)
    log_in(page, live_server, "admin@example.com", demo.DEMO_PASSWORD)
    page.goto(f"{live_server}/courses")
    _settle(page)
    page.get_by_label("Code").fill("CSP-101")
    page.get_by_label("Title").fill("Content security basics")
    page.get_by_role("button", name="Add course").click()
    expect(page.locator("#course-create")).to_contain_text("Course CSP-101 created.")
    row = page.locator("tr", has_text="CSP-101")
    row.get_by_role("button", name=re.compile("^Edit")).click()
    page.get_by_role("button", name="Cancel").first.click()
    edit_again = page.locator("tr", has_text="CSP-101").get_by_role("button", name=re.compile("^Edit"))
    expect(edit_again).to_be_visible()
    _settle(page)
    problems = _problems(page, "/courses (after adding a course)")
    assert not problems, "\n".join(problems)
