"""Data rights in Chromium, at a laptop's and a phone's width: the learner asks for their data and
downloads the ZIP; an admin erases a person from People › Privacy. No console or CSP error.
Screenshots: test-artifacts/privacy-*.png.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest

from app import demo
from app.extensions import db
from tests.e2e.conftest import CHROMIUM, assert_clean
from tests.support.browser import PHONE, WIDE, log_in, no_horizontal_scroll

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not CHROMIUM.exists(), reason=f"needs Chromium at {CHROMIUM}")]


@pytest.fixture
def demo_data(app, jobs):
    demo.seed()
    db.session.commit()
    jobs()  # the demo learner's first export, the PDFs


@pytest.mark.parametrize("size", ["wide", "phone"])
def test_learner_downloads_their_data(new_page, live_server, demo_data, jobs, screenshot, size):
    page = new_page(accept_downloads=True, **(WIDE if size == "wide" else PHONE))
    log_in(page, live_server, "learner@example.com", demo.DEMO_PASSWORD)
    page.goto(f"{live_server}/profile")
    page.get_by_test_id("my-data-link").click()
    page.wait_for_url(f"{live_server}/profile/data")
    page.get_by_test_id("request-export").click()
    page.wait_for_url(f"{live_server}/profile/data")
    page.get_by_text("We are preparing your data").wait_for()
    jobs()
    page.reload()
    no_horizontal_scroll(page)
    assert_clean(page)
    screenshot(page, f"privacy-my-data-{size}")
    with page.expect_download() as info:
        page.get_by_test_id("download-export").first.click()
    download = info.value
    archive = zipfile.ZipFile(io.BytesIO(Path(download.path()).read_bytes()))
    assert json.loads(archive.read("data.json"))["profile"]["email"] == "learner@example.com"


@pytest.mark.parametrize("size", ["wide", "phone"])
def test_admin_erases_a_person(new_page, live_server, demo_data, screenshot, size):
    page = new_page(**(WIDE if size == "wide" else PHONE))
    log_in(page, live_server, "admin@example.com", demo.DEMO_PASSWORD)
    page.goto(f"{live_server}/admin/privacy")
    assert page.get_by_test_id("retention-report").count() == 1
    no_horizontal_scroll(page)
    assert_clean(page)
    screenshot(page, f"privacy-admin-{size}")
    page.goto(f"{live_server}/admin/users")
    page.get_by_role("link", name="Privacy of Yuki Tanaka").click()
    page.wait_for_url(f"{live_server}/admin/privacy/people/*")
    no_horizontal_scroll(page)
    assert_clean(page)
    screenshot(page, f"privacy-person-{size}")
    page.get_by_label("Type the person's email address to confirm").fill("someone.else@example.com")
    page.get_by_test_id("erase-person").click()
    page.get_by_text("Type the person's email address exactly").wait_for()  # the 422 page, in place
    page.get_by_label("Type the person's email address to confirm").fill("yuki.tanaka@example.com")
    page.get_by_test_id("erase-person").click()
    page.get_by_test_id("erased").wait_for()
    assert page.get_by_text("Yuki Tanaka").count() == 0
    no_horizontal_scroll(page)
    assert_clean(page)
    screenshot(page, f"privacy-erased-{size}")
