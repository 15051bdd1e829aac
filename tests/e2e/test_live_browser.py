"""Live updates in real Chromium: a change made in one browser appears in others within 2 s (app/live.py).

Three contexts (three people): an admin watching the dashboard tiles, the learner watching their own
dashboard and bell, and a second admin who issues the learner a certificate by hand. Nobody reloads;
the polling fallback is 30-60 s, so only the Server-Sent Events stream can make it in time.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.support.browser import log_in
from tests.support.certificates import certification  # noqa: F401

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def _long_streams(app):
    """Streams as long as in production: a reconnect (every 5 s in tests) must not fall in the window."""
    app.config["LIVE_STREAM_SECONDS"] = 300
    yield
    app.config["LIVE_STREAM_SECONDS"] = 5


def _stream_open(page) -> None:
    """Wait until the page's EventSource is connected (static/js/app.js marks <body data-live>)."""
    page.wait_for_selector("body[data-live=open]", state="attached")


def test_a_certificate_issued_in_one_browser_shows_in_the_others_within_2_seconds(
        live_server, new_page, make_user, certification):  # noqa: F811
    watcher_admin = make_user("admin", email="watcher@example.com")
    acting_admin = make_user("admin", email="actor@example.com")
    learner = make_user("learner", email="lena@example.com", name="Lena Live")
    del watcher_admin, acting_admin

    tiles = new_page()
    log_in(tiles, live_server, "watcher@example.com")
    valid = tiles.locator("[data-tile=certificates_valid]")
    expect(valid).to_have_text("0")

    mine = new_page()
    log_in(mine, live_server, "lena@example.com")
    expect(mine.get_by_test_id("bell")).to_have_attribute("aria-label", "Notifications: 0 unread")
    held = mine.locator("section[aria-labelledby=my-certs]").get_by_role("heading", name="First Aid Level 2")
    expect(held).to_have_count(0)

    actor = new_page()
    log_in(actor, live_server, "actor@example.com")
    for page in (tiles, mine):
        _stream_open(page)
    actor.goto(f"{live_server}/learners/{learner.id}")
    actor.get_by_text("Issue by hand").click()
    actor.get_by_label("Note (why it is issued by hand)").fill("Live update check")
    actor.get_by_role("button", name="Issue certificate").click()
    expect(actor.get_by_text("Certificate issued")).to_be_visible()

    expect(valid).to_have_text("1", timeout=2_000)
    expect(held).to_be_visible(timeout=2_000)
    expect(mine.get_by_test_id("bell")).to_have_attribute("aria-label", "Notifications: 1 unread",
                                                          timeout=2_000)
    for page in (tiles, mine, actor):
        assert not page.errors, page.errors
