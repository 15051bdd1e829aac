"""The Sessions list on the profile page in Chromium, on a laptop (WIDE) and a phone (PHONE): both devices
are listed, "this device" is marked, the laptop signs the phone out, and the phone's next page is the
login page. Screenshots: test-artifacts/screens/e/sessions-{wide,phone}.png."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import ARTIFACTS, assert_clean
from tests.support.browser import PHONE, WIDE, log_in, no_horizontal_scroll

pytestmark = pytest.mark.browser

SCREENS = ARTIFACTS / "screens" / "e"


def _sessions(page, live_server: str):
    page.goto(f"{live_server}/profile")
    section = page.locator("#sessions")
    section.wait_for()
    return section


def test_sign_out_the_phone_from_the_laptop(new_page, live_server, make_user):
    learner = make_user("learner", email="jo@example.com", name="Jo Learner")
    laptop, phone = new_page(**WIDE), new_page(**PHONE)
    log_in(laptop, live_server, learner.email)
    log_in(phone, live_server, learner.email)
    SCREENS.mkdir(parents=True, exist_ok=True)

    on_phone = _sessions(phone, live_server)
    assert on_phone.locator(".session-row").count() == 2
    assert on_phone.get_by_text("this device").count() == 1
    no_horizontal_scroll(phone)
    phone.screenshot(path=str(SCREENS / "sessions-phone.png"), full_page=True, caret="initial")
    assert_clean(phone)

    on_laptop = _sessions(laptop, live_server)
    rows = on_laptop.locator(".session-row")
    assert rows.count() == 2
    here = rows.filter(has_text="this device")
    assert here.get_by_role("button", name="Sign out").count() == 0  # this device logs out from the menu
    laptop.screenshot(path=str(SCREENS / "sessions-wide.png"), full_page=True, caret="initial")
    rows.filter(has_not_text="this device").get_by_role("button", name="Sign out").click()
    laptop.get_by_text("Signed out").first.wait_for()
    assert _sessions(laptop, live_server).locator(".session-row").count() == 1
    assert_clean(laptop)

    phone.goto(f"{live_server}/profile")
    assert "/login" in phone.url  # the phone's cookies no longer open anything
    assert_clean(phone)
