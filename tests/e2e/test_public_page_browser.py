"""The school's branding and the one public certificate page in Chromium: valid, revoked, expired and not
found at 1366 and 390 px, the login page, the settings page. Screenshots: test-artifacts/screens/c/."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from PIL import Image, ImageDraw

from app.database import utcnow
from app.extensions import db
from app.models import Certificate
from app.services import organisation
from app.services.lifecycle import catalog, issuing, revocation
from app.services.sharing import shares
from tests.e2e.conftest import ARTIFACTS, assert_clean
from tests.support.browser import log_in

pytestmark = pytest.mark.browser

SIZES = {"1366": {"width": 1366, "height": 900}, "390": {"width": 390, "height": 844}}
SCREENS = ARTIFACTS / "screens" / "c"


def _logo() -> bytes:
    image = Image.new("RGBA", (360, 120), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.ellipse((4, 4, 116, 116), fill=(122, 31, 61, 255))
    draw.rectangle((140, 40, 350, 80), fill=(40, 40, 40, 255))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


@pytest.fixture
def school(make_user, jobs):
    organisation.update_branding({"name": "St. Brigid's College of Nursing",
                                  "about": "Training nurses since 1921", "colour": "#7a1f3d"},
                                 logo=_logo(), actor="test")
    course = catalog.create_course({"code": "NUR-210", "title": "Medication safety"}, actor="test")
    other = catalog.create_course({"code": "NUR-220", "title": "Infection control"}, actor="test")
    certification = catalog.create_certification(
        {"name": "Safe Medication Practice", "status": "active", "course_ids": [course.id, other.id],
         "validity_months": 24, "min_score": 75, "issuer_name": "St. Brigid's College of Nursing",
         "signatory_name": "Dr. Aoife Byrne", "signatory_title": "Dean of Nursing"}, actor="test")
    db.session.commit()
    certs = {}
    for kind in ("valid", "revoked", "expired"):
        holder = make_user("learner", name=f"Maria José {kind.title()} Fernández")
        certs[kind] = issuing.issue(holder, certification, actor="test", note="browser test")
        db.session.commit()
    jobs()
    db.session.expire_all()
    certs = {k: db.session.get(Certificate, c.id) for k, c in certs.items()}
    for cert in certs.values():
        cert.public = True  # before revoking: a revoked certificate cannot be made public
    revocation.revoke(certs["revoked"], "Issued before the final assessment was marked.", actor="test")
    certs["expired"].expires_at = utcnow() - timedelta(days=10)
    db.session.commit()
    return certs


def test_public_pages_and_login_in_the_schools_colours(new_page, live_server, school):
    SCREENS.mkdir(parents=True, exist_ok=True)
    pages = {f"verify-{kind}": f"/verify/{cert.code}" for kind, cert in school.items()}
    pages["verify-not-found"] = "/verify/NoSuchCode000000000000"
    pages["login"] = "/login"
    for size, viewport in SIZES.items():
        page = new_page(viewport=viewport)
        for name, path in pages.items():
            page.goto(live_server + path)
            page.wait_for_load_state("networkidle")
            assert "St. Brigid" in page.title()
            header = page.locator(".navbar").evaluate("e => getComputedStyle(e).backgroundColor")
            assert header == "rgb(122, 31, 61)", header  # from /branding.css
            if name in ("verify-valid", "verify-expired"):
                picture = page.get_by_test_id("cert-picture")
                assert picture.evaluate("img => img.complete && img.naturalWidth > 0")
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= viewport["width"], f"{name} is {width}px wide at {size}"
            assert_clean(page)
            page.screenshot(path=str(SCREENS / f"{name}-{size}.png"), full_page=True, caret="initial")


def test_learner_sees_one_privacy_sentence(new_page, live_server, school):
    from playwright.sync_api import expect

    holder = school["valid"].user
    for size, viewport in SIZES.items():
        page = new_page(viewport=viewport)
        log_in(page, live_server, holder.email)
        page.goto(f"{live_server}/me/certificates")
        card = page.locator(f"#cert-{school['valid'].id}")
        expect(card.get_by_test_id("privacy")).to_have_text(shares.PRIVACY_MODEL)
        assert "always public" not in page.content()
        card.get_by_text("Share by email").click()
        assert_clean(page)
        page.screenshot(path=str(SCREENS / f"my-certificates-{size}.png"), full_page=True, caret="initial")


def test_settings_page(new_page, live_server, make_user, school):
    admin = make_user("admin", email="head@example.com", name="Head Admin")
    for size, viewport in SIZES.items():
        page = new_page(viewport=viewport)
        log_in(page, live_server, admin.email)
        page.goto(f"{live_server}/admin/settings")
        page.get_by_label("Organisation name").fill("St. Brigid's College")
        page.get_by_role("button", name="Save settings").click()
        page.wait_for_url(f"{live_server}/admin/settings")
        assert "Settings saved." in page.content()
        assert_clean(page)
        page.screenshot(path=str(SCREENS / f"settings-{size}.png"), full_page=True, caret="initial")
