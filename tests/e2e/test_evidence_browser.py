"""An evidence requirement issues only after approval, in a real browser: the learner's courses are
complete, the dashboard's path says what is next, the learner uploads evidence, the assessor approves it
from "Evidence to review", and the certificate is issued. Screenshots: test-artifacts/evidence-*.png
(the dashboard path at 1366 and 390 px)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Certificate
from app.services.lifecycle import catalog, enrollment
from tests.e2e.conftest import assert_clean
from tests.support.browser import PHONE, WIDE, log_in, no_horizontal_scroll

pytestmark = pytest.mark.browser

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def setup(make_user):
    learner = make_user("learner", email="lena@example.com", name="Lena Learner")
    assessor = make_user("staff", email="sam@example.com", name="Sam Assessor")
    fs = catalog.create_course({"code": "FS-100", "title": "Fire safety"}, actor="test")
    fa = catalog.create_course({"code": "FA-101", "title": "First aid basics"}, actor="test")
    mh = catalog.create_course({"code": "MH-201", "title": "Manual handling"}, actor="test")
    db.session.flush()
    cert = catalog.create_certification({
        "name": "Workplace Safety Champion", "status": "active", "evidence_required": True,
        "evidence_instructions": "Upload the checklist of a safety walk you led.",
        "assessor_ids": [assessor.id],
        "requirement_groups": [{"mode": "all", "courses": [{"course_id": fs.id}]},
                               {"mode": "any", "count": 1, "min_score": 70,
                                "courses": [{"course_id": fa.id}, {"course_id": mh.id}]}]}, actor="test")
    db.session.commit()
    for course, score in ((fs, None), (fa, 88)):  # the courses come from the LMS
        enrollment.record_completion(learner, course, score=score, actor="test")
        db.session.commit()
    return learner, assessor, cert


def test_an_evidence_requirement_issues_only_after_approval(app, setup, live_server, new_page, screenshot,
                                                            monkeypatch, jobs):
    from playwright.sync_api import expect

    monkeypatch.setitem(app.config, "BASE_URL", live_server)
    learner, assessor, cert = setup

    # The learner's path: both groups done, the evidence next.
    page = new_page(**WIDE)
    log_in(page, live_server, learner.email)
    path = page.get_by_role("list", name="Workplace Safety Champion: steps")
    expect(path).to_contain_text("All of FS-100")
    expect(path).to_contain_text("Any 1 of FA-101, MH-201")
    expect(page.get_by_text("evidence not submitted yet")).to_be_visible()
    screenshot(page, "evidence-dashboard-1366")
    phone = new_page(**PHONE)
    log_in(phone, live_server, learner.email)
    no_horizontal_scroll(phone)
    screenshot(phone, "evidence-dashboard-390")
    assert_clean(phone)

    # Upload the evidence.
    path.get_by_role("link", name="Submit evidence").click()
    expect(page.get_by_role("heading", name="Evidence for Workplace Safety Champion")).to_be_visible()
    expect(page.get_by_text("Upload the checklist of a safety walk you led.")).to_be_visible()
    page.get_by_label("What you did").fill("Led the walk of ward 3; two blocked exits cleared.")
    page.get_by_label("Files").set_input_files([{"name": "walk.pdf", "mimeType": "application/pdf",
                                                  "buffer": PDF}])
    page.get_by_role("button", name="Submit for review").click()
    expect(page.get_by_role("status")).to_contain_text("Sent")
    expect(page.get_by_text("waiting for review").first).to_be_visible()
    screenshot(page, "evidence-learner-sent")
    assert_clean(page)
    assert db.session.scalar(select(Certificate.id).where(Certificate.user_id == learner.id)) is None
    page.goto(f"{live_server}/")
    expect(page.get_by_text("waiting for evidence approval")).to_be_visible()

    # The assessor approves it from the queue.
    review = new_page(**WIDE)
    log_in(review, live_server, assessor.email)
    menu = review.get_by_role("navigation", name="Main")
    menu.get_by_role("button", name="Catalog", exact=True).click()  # the queue is in the Catalog menu
    menu.get_by_role("link", name="Evidence to review").click()
    review.get_by_role("row", name="Lena Learner").get_by_role("link", name="Review").click()
    expect(review.get_by_text("Led the walk of ward 3")).to_be_visible()
    with review.expect_download() as info:
        review.get_by_role("link", name="walk.pdf").click()
    with open(info.value.path(), "rb") as fh:
        assert fh.read() == PDF
    review.get_by_label("Decision").select_option("approve")
    review.get_by_label("Comment for the learner").fill("Good checklist.")
    screenshot(review, "evidence-review")
    review.get_by_role("button", name="Save decision").click()
    expect(review.get_by_text("Approved by Sam Assessor")).to_be_visible()
    assert_clean(review)

    # The certificate is issued; the learner is told.
    db.session.expire_all()
    issued = db.session.scalars(select(Certificate).where(Certificate.user_id == learner.id)).all()
    assert [c.certification_id for c in issued] == [cert.id]
    page.goto(f"{live_server}/")
    expect(page.get_by_role("heading", name="Workplace Safety Champion")).to_be_visible()
    jobs()
