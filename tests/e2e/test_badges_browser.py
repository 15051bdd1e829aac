"""Badges in a real browser: the admin uploads an SVG badge on the certification page (htmx multipart,
swapped in place), a hostile one is refused in place; the learner sees the badge on My certificates and
downloads the baked PNG, whose iTXt chunk Pillow reads back; the verify page shows the badge small.
Desktop and phone, with screenshots."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from app import demo
from app.extensions import db
from app.models import Certificate, User
from tests.e2e.conftest import ARTIFACTS, assert_clean
from tests.support.browser import PHONE, WIDE, log_in, no_horizontal_scroll

pytestmark = pytest.mark.browser
SCREENS = "screens/badges"
BADGE_SVG = (b'<svg xmlns="http://www.w3.org/2000/svg" width="200" height="200" viewBox="0 0 200 200">'
             b'<circle cx="100" cy="100" r="94" fill="#8a1f3c"/><circle cx="100" cy="100" r="78" fill="none" '
             b'stroke="#f4c542" stroke-width="8"/><path d="M60 102 L90 132 L144 70" stroke="#fff" '
             b'stroke-width="16" fill="none" stroke-linecap="round"/></svg>')


@pytest.fixture
def demo_data():
    demo.seed()
    db.session.commit()
    (ARTIFACTS / SCREENS).mkdir(parents=True, exist_ok=True)


def _learners_certificate() -> Certificate:
    learner = db.session.scalar(db.select(User).where(User.email == "learner@example.com"))
    return db.session.scalars(db.select(Certificate).where(Certificate.user_id == learner.id,
                                                           Certificate.revoked_at.is_(None))).first()


@pytest.mark.parametrize(("size", "options"), [("1366", WIDE), ("390", PHONE)])
def test_admin_uploads_a_badge_on_the_certification_page(new_page, live_server, demo_data, screenshot,
                                                         tmp_path, size, options):
    from playwright.sync_api import expect

    cert = _learners_certificate()
    page = new_page(**options)
    log_in(page, live_server, "admin@example.com", demo.DEMO_PASSWORD)
    page.goto(f"{live_server}/certifications/{cert.certification_id}")
    card = page.get_by_test_id("badge-card")
    expect(card.get_by_test_id("badge-source")).to_contain_text("Generated")

    hostile = tmp_path / "evil.svg"
    hostile.write_bytes(b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>')
    card.get_by_label("Badge image").set_input_files(str(hostile))
    card.get_by_role("button", name="Upload badge").click()
    expect(page.get_by_test_id("badge-card").get_by_text("event handler")).to_be_visible()

    good = tmp_path / "badge.svg"
    good.write_bytes(BADGE_SVG)
    page.get_by_test_id("badge-card").get_by_label("Badge image").set_input_files(str(good))
    page.get_by_test_id("badge-card").get_by_role("button", name="Upload badge").click()
    expect(page.get_by_text("The badge image is saved.")).to_be_visible()
    expect(page.get_by_test_id("badge-source")).to_contain_text("Uploaded SVG")
    image = page.get_by_test_id("badge-image")
    expect(image).to_be_visible()
    assert image.evaluate("img => img.complete && img.naturalWidth") == 600
    page.get_by_test_id("badge-card").scroll_into_view_if_needed()
    no_horizontal_scroll(page)
    screenshot(page, f"{SCREENS}/certification-{size}")
    assert_clean(page)


@pytest.mark.parametrize(("size", "options"), [("1366", WIDE), ("390", PHONE)])
def test_learner_sees_and_downloads_the_baked_badge(new_page, live_server, demo_data, screenshot, size,
                                                    options):
    from playwright.sync_api import expect

    cert = _learners_certificate()
    page = new_page(accept_downloads=True, **options)
    log_in(page, live_server, "learner@example.com", demo.DEMO_PASSWORD)
    page.goto(f"{live_server}/me/certificates")
    card = page.locator(f"#cert-{cert.id}")
    expect(card.get_by_test_id("badge-image")).to_be_visible()
    link = card.get_by_test_id("badge-download")
    link.scroll_into_view_if_needed()
    no_horizontal_scroll(page)
    screenshot(page, f"{SCREENS}/learner-{size}")
    with page.expect_download() as download:
        link.click()
    baked = Path(download.value.path()).read_bytes()
    image = Image.open(io.BytesIO(baked))
    image.load()
    assert image.text["openbadges"].endswith(f"/ob2/assertions/{cert.code}")

    page.goto(f"{live_server}/verify/{cert.code}")
    expect(page.get_by_test_id("badge-image")).to_be_visible()
    no_horizontal_scroll(page)
    screenshot(page, f"{SCREENS}/verify-{size}")
    assert_clean(page)
