"""Dashboards: staff tiles (fragment for htmx, page otherwise), activity and expiring lists; the learner's
certificates, courses with progress and learning path."""

from __future__ import annotations

from app.extensions import db
from app.services.lifecycle import enrollment
from tests.lifecycle.test_verify_views import AGES
from tests.support.lifecycle_views import HX


def test_admin_dashboard_tiles_activity_and_expiring(login_as, admin, learner, earn):
    cert = earn(learner, AGES["expiring"])
    response = login_as(admin).get("/")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'id="tiles"' in html and 'hx-trigger="every 30s' in html and "data-updated-at=" in html
    assert "Valid certificates" in html and "Completion rate" in html and "Expiring in 30 days" in html
    assert 'data-tile="learners">1<' in html and 'data-tile="active_certifications">1<' in html
    assert "Recent activity" in html and cert.serial in html  # the issue event's summary
    assert "Expiring soon" in html and learner.name in html and "Refresh" in html


def test_tiles_fragment_for_htmx_and_page_otherwise(login_as, staff, learner, earn):
    earn(learner)
    client = login_as(staff)
    fragment = client.get("/dashboard/tiles", headers=HX)
    text = fragment.get_data(as_text=True)
    assert fragment.status_code == 200 and text.lstrip().startswith('<div id="tiles"')
    assert "<html" not in text and "Recent activity" not in text
    assert 'data-tile="certificates_valid">1<' in text and 'data-tile="completion_rate">100%<' in text
    assert "HX-Request" in fragment.headers["Vary"]
    page = client.get("/dashboard/tiles")
    assert page.status_code == 200 and "<html" in page.get_data(as_text=True)
    assert "Recent activity" in page.get_data(as_text=True) and "HX-Request" in page.headers["Vary"]
    assert login_as(learner).get("/dashboard/tiles", headers=HX).status_code == 403


def test_learner_dashboard(login_as, learner, make_user, earn, first_aid, make_course, make_certification):
    mine = earn(learner)
    other = earn(make_user("learner", name="Omar Other"))
    advanced_course = make_course("FA-201", "Advanced first aid")
    cert, _, _ = first_aid
    make_certification("First Aid Level 3", [advanced_course], prerequisite_ids=[cert.id])
    e = enrollment.enroll(learner, advanced_course, actor="test")
    enrollment.update_enrollment(e, {"status": "in_progress", "progress": 37}, actor="test")
    db.session.commit()
    html = login_as(learner).get("/").get_data(as_text=True)
    assert "My certificates" in html and mine.serial in html and other.serial not in html
    assert f"/verify/{mine.code}" in html and "Expires in 7" in html  # 730 days, minus today
    assert "FA-201" in html and "pw-35" in html and 'aria-valuenow="37"' in html
    assert "Certifications you can earn" in html and "First Aid Level 3" in html and "missing FA-201" in html
    assert 'style="' not in html


def test_learner_dashboard_empty(login_as, learner):
    html = login_as(learner).get("/").get_data(as_text=True)
    assert "You have no certificates yet" in html and "not enrolled in any course" in html
