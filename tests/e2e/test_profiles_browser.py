"""Public profile, embeddable badge and Add to wallet in Chromium: the learner switches the profile on from
the profile page, a signed-out visitor opens it; the Embed and wallet pages. Screenshots at 1366 and
390 px: test-artifacts/screens/f/."""

from __future__ import annotations

import pytest

from app.extensions import db
from app.models import Certificate
from app.services.lifecycle import catalog, issuing
from app.services.sharing import shares
from tests.e2e.conftest import ARTIFACTS, assert_clean
from tests.support.browser import log_in

pytestmark = pytest.mark.browser

SIZES = {"1366": {"width": 1366, "height": 900}, "390": {"width": 390, "height": 844}}
SCREENS = ARTIFACTS / "screens" / "f"


@pytest.fixture
def holder(make_user, jobs):
    learner = make_user("learner", email="maria@example.com", name="Maria José Fernández")
    course = catalog.create_course({"code": "NUR-210", "title": "Medication safety"}, actor="test")
    certs = []
    for name in ("Safe Medication Practice", "Infection Control <Advanced>", "Private Skill"):
        certification = catalog.create_certification(
            {"name": name, "status": "active", "course_ids": [course.id], "validity_months": 24,
             "issuer_name": "St. Brigid's College"}, actor="test")
        certs.append(issuing.issue(learner, certification, actor="test", note="browser test"))
        db.session.commit()
    jobs()  # the PDFs and their pictures
    db.session.expire_all()
    for cert in certs[:2]:
        shares.set_public(db.session.get(Certificate, cert.id), True, actor=learner)
    db.session.commit()
    return learner, certs


def _shoot(page, name: str, size: str) -> None:
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENS / f"{name}-{size}.png"), full_page=True, caret="initial")


def test_learner_enables_profile_and_a_visitor_opens_it(new_page, live_server, holder):
    learner, certs = holder
    page = new_page(viewport=SIZES["1366"])
    log_in(page, live_server, learner.email)
    page.goto(f"{live_server}/profile")
    card = page.locator("#public-profile")
    card.get_by_label("Handle").wait_for()  # loaded in place by htmx
    card.get_by_label("Handle").fill("admin")
    card.get_by_role("button", name="Save public profile").click()
    page.get_by_text("This handle is reserved").wait_for()
    assert page.locator("#handle").get_attribute("aria-invalid") == "true"
    page.locator("#handle").fill("Maria-F")
    page.locator("#headline").fill("Registered nurse")
    page.get_by_role("button", name="Save public profile").click()
    page.get_by_test_id("profile-link").wait_for()
    assert "/p/maria-f" in page.get_by_test_id("profile-link").inner_text()
    assert_clean(page)
    _shoot(page, "profile-settings", "1366")

    # The Embed and Add to wallet pages of the first certificate.
    page.goto(f"{live_server}/me/certificates")
    page.locator(f"#cert-{certs[0].id}").get_by_test_id("embed").click()
    page.get_by_test_id("embed-badge-preview").wait_for()
    page.wait_for_load_state("networkidle")
    assert page.get_by_test_id("embed-badge-preview").evaluate("img => img.complete && img.naturalWidth > 0")
    frame = page.frame_locator("iframe.embed-preview")
    assert frame.get_by_test_id("embed-status").inner_text().strip().upper().endswith("VALID")
    assert_clean(page)
    _shoot(page, "embed-controls", "1366")
    page.goto(f"{live_server}/me/certificates/{certs[0].id}/wallet")
    page.get_by_test_id("wallet-open").click()
    page.get_by_test_id("wallet-qr").wait_for()
    assert page.get_by_test_id("wallet-qr").evaluate("img => img.complete && img.naturalWidth > 100")
    assert "/exchanges/" in page.get_by_test_id("exchange-url").input_value()
    assert_clean(page)
    _shoot(page, "wallet", "1366")

    # A signed-out visitor, on a laptop and on a phone.
    for size, viewport in SIZES.items():
        visitor = new_page(viewport=viewport)
        response = visitor.goto(f"{live_server}/p/maria-f")
        assert response.status == 200 and "set-cookie" not in response.headers
        visitor.wait_for_load_state("networkidle")
        assert visitor.get_by_test_id("profile-cert").count() == 2
        assert "Private Skill" not in visitor.content()
        assert "Infection Control <Advanced>" in visitor.get_by_test_id("profile-cert").first.inner_text()
        for img in visitor.locator(".profile-cert img").all():
            assert img.evaluate("i => i.complete && i.naturalWidth > 0")
        assert visitor.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        assert_clean(visitor)
        _shoot(visitor, "profile-public", size)
        visitor.goto(f"{live_server}/embed/{certs[0].code}")
        assert_clean(visitor)
        _shoot(visitor, "embed-card", size)
        if size == "390":
            owner = new_page(viewport=viewport)
            log_in(owner, live_server, learner.email)
            for name, path in (("embed-controls", f"/me/certificates/{certs[0].id}/embed"),
                               ("wallet", f"/me/certificates/{certs[0].id}/wallet"),
                               ("profile-settings", "/me/public-profile")):
                owner.goto(live_server + path)
                owner.wait_for_load_state("networkidle")
                assert owner.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), name
                assert_clean(owner)
                _shoot(owner, name, size)
