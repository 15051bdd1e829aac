"""The public verify page in a real browser, as an anonymous visitor: no cookie is set, no console
errors or CSP violations, on a desktop and a phone (screenshots under test-artifacts/screens/g/)."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.extensions import db
from app.services.lifecycle import catalog, issuing

pytestmark = pytest.mark.browser
SCREENS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screens" / "g"
SIZES = {"desktop": {"viewport": {"width": 1366, "height": 900}},
         "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}}


@pytest.fixture
def certificate(make_user):
    learner = make_user("learner", email="vera@example.com", name="Vera Visitor")
    course = catalog.create_course({"code": "FA-101", "title": "First aid basics"}, actor="test")
    db.session.flush()
    certification = catalog.create_certification(
        {"name": "First Aid Level 2", "status": "active", "course_ids": [course.id], "validity_months": 24,
         "issuer_name": "Laurel Academy"}, actor="test")
    cert = issuing.issue(learner, certification, actor="test", note="browser test")
    db.session.commit()
    return cert


@pytest.mark.parametrize("size", SIZES)
def test_anonymous_verify_sets_no_cookie(new_page, live_server, certificate, size):
    from tests.e2e.conftest import assert_clean

    page = new_page(**SIZES[size])
    SCREENS.mkdir(parents=True, exist_ok=True)
    for name, path in (("hit", f"/verify/{certificate.code}"), ("miss", "/verify/no-such-code")):
        response = page.goto(live_server + path)
        assert response.headers["cache-control"] == "public, max-age=60"
        page.screenshot(path=str(SCREENS / f"verify-{name}-{size}.png"), full_page=True, caret="initial")
        assert_clean(page)
    assert page.context.cookies() == []
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"]
