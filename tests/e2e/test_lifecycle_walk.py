"""The certification lifecycle in a real browser: an admin creates a certification inline, enrolls a
learner, marks the completion inline, sees the certificate appear, revokes it, and the public verify page
says "Revoked" (desktop and phone). Screenshots go to test-artifacts/lifecycle-*.png."""

from __future__ import annotations

import re

import pytest

from app.extensions import db
from app.services.lifecycle import catalog, enrollment
from tests.e2e.conftest import CHROMIUM, assert_clean
from tests.support.browser import PHONE, log_in, no_horizontal_scroll

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not CHROMIUM.exists(), reason=f"needs Chromium at {CHROMIUM}")]


@pytest.fixture
def catalog_data(make_user):
    admin = make_user("admin", email="admin@example.com", name="Ada Admin")
    learner = make_user("learner", email="lena@example.com", name="Lena Fischer", department="Nursing")
    make_user("learner", email="jonas@example.com", name="Jonas Berg", department="Nursing")
    fa101 = catalog.create_course({"code": "FA-101", "title": "First aid basics", "category": "Safety"},
                                  actor="test")
    fa102 = catalog.create_course({"code": "FA-102", "title": "CPR and AED", "category": "Safety",
                                   "capacity": 20}, actor="test")
    enrollment.record_completion(learner, fa101, score=86, actor="test")  # one course done already
    db.session.commit()
    return admin, learner, fa101, fa102


def test_lifecycle_walk(page, new_page, live_server, catalog_data, screenshot):
    from playwright.sync_api import expect

    _, learner, _, fa102 = catalog_data
    log_in(page, live_server, "admin@example.com")
    screenshot(page, "lifecycle-dashboard-desktop")

    # 1. Create the certification inline; a first try without courses shows the error in place.
    nav = page.get_by_role("navigation", name="Main")
    nav.get_by_role("button", name="Catalog", exact=True).click()  # the catalog pages sit in a dropdown
    nav.get_by_role("link", name="Certifications").click()
    page.get_by_text("New certification").click()
    form = page.locator("#certification-create")
    form.get_by_label("Name").fill("First Aid Level 2")
    form.get_by_label("Status").select_option("active")
    form.get_by_label("Minimum score").fill("70")
    form.get_by_label("Validity (months)").fill("24")
    form.get_by_label("Issuer").fill("Laurel Academy")
    form.get_by_label("Signatory", exact=True).fill("Dr. Jane Roe")
    form.get_by_role("button", name="Create certification").click()
    expect(page.locator("#certification-create")).to_contain_text("needs at least one required course")
    screenshot(page, "lifecycle-certification-error-desktop")
    form = page.locator("#certification-create")
    courses = form.get_by_label("Required courses")  # the chips search box (static/js/chips.js)
    for code in ("FA-101", "FA-102"):
        courses.fill(code)
        courses.press("Enter")
    form.get_by_role("button", name="Create certification").click()
    expect(page.locator("#certification-create")).to_contain_text("Certification First Aid Level 2 created")
    expect(page.locator("#certifications-table")).to_contain_text("First Aid Level 2")
    screenshot(page, "lifecycle-certifications-desktop")

    # 2. Enroll the learner in FA-102 through the searchable picker.
    nav.get_by_role("button", name="Catalog", exact=True).click()
    nav.get_by_role("link", name="Courses").click()
    page.locator(f"#course-{fa102.id}").get_by_role("link", name="Enrollments").click()
    # Wait for the search's own answer: ticking a box in the list it is about to replace would be lost.
    with page.expect_response(lambda r: "/candidates" in r.url and "lena" in r.url):
        page.get_by_label("Find learners by name or email").fill("lena")
    page.get_by_label(re.compile("Lena Fischer")).check()
    page.get_by_role("button", name="Enroll selected").click()
    expect(page.locator("#enroll-result")).to_contain_text("Enrolled 1 learner: Lena Fischer")
    row = page.locator("#enrollments-table tbody tr").first
    expect(row).to_contain_text("Lena Fischer")

    # 3. Mark the completion inline: the certificate appears in the row.
    row.get_by_role("button", name="Edit enrollment of Lena Fischer").click()
    row = page.locator("#enrollments-table tbody tr.table-active")
    row.get_by_label("Status").select_option("completed")
    row.get_by_label("Score").fill("91")
    row.get_by_role("button", name="Save").click()
    issued = page.locator(".issued-note[role=status]")
    expect(issued).to_contain_text(re.compile(r"Certificate issued: LAU-\d{4}-\d{6}"))
    screenshot(page, "lifecycle-enrollment-completed-desktop")
    serial = re.search(r"LAU-\d{4}-\d{6}", issued.inner_text()).group(0)

    # 4. Revoke it from its detail page (the reason is required).
    issued.get_by_role("link", name=serial).click()
    expect(page.get_by_role("heading", name=serial)).to_be_visible()
    # Two steps: "Revoke…" opens the confirmation; its button names the certificate.
    expect(page.get_by_role("button", name=f"Revoke {serial}")).to_be_hidden()
    page.locator("summary", has_text="Revoke…").click()
    page.get_by_role("button", name=f"Revoke {serial}").click()
    expect(page.locator("#certificate-status")).to_contain_text("Give the reason for revoking")
    page.get_by_label(re.compile("Reason for revoking")).fill("Issued by mistake: wrong learner record")
    page.get_by_role("button", name=f"Revoke {serial}").click()
    expect(page.locator("#certificate-status")).to_contain_text("Certificate revoked.")
    expect(page.get_by_role("button", name="Reinstate")).to_be_visible()
    expect(page.get_by_test_id("revoked-notice")).to_contain_text("Issued by mistake: wrong learner record")
    expect(page.locator("#certificate-history")).to_contain_text("certificate.revoked")
    screenshot(page, "lifecycle-certificate-revoked-desktop")
    verify_url = page.get_by_role("link", name="Public verification page").get_attribute("href")
    assert_clean(page)

    # 5. Anyone opening the verify link sees "Revoked" with the reason (desktop and phone).
    path = verify_url.split("://", 1)[1].split("/", 1)[1]
    anonymous = new_page()
    anonymous.goto(f"{live_server}/{path}")
    expect(anonymous.locator(".verify-state")).to_have_text("Revoked")
    expect(anonymous.locator(".verify-banner")).to_contain_text("Issued by mistake: wrong learner record")
    expect(anonymous.get_by_text(serial)).to_be_visible()
    assert anonymous.locator(".navbar-nav").count() == 0
    screenshot(anonymous, "lifecycle-verify-revoked-desktop")
    assert_clean(anonymous)
    phone = new_page(**PHONE)
    phone.goto(f"{live_server}/{path}")
    expect(phone.locator(".verify-state")).to_have_text("Revoked")
    no_horizontal_scroll(phone)
    screenshot(phone, "lifecycle-verify-revoked-phone")
    assert_clean(phone)

    # 6. The dashboards: live tiles refresh on demand; the learner's phone view.
    page.goto(f"{live_server}/")
    page.get_by_role("button", name="Refresh").click()
    expect(page.locator("#tiles [data-updated-at]")).to_have_text(re.compile(r"^\d{2}:\d{2} UTC$"))
    screenshot(page, "lifecycle-dashboard-after-desktop")
    assert_clean(page)
    admin_phone = new_page(**PHONE)
    log_in(admin_phone, live_server, "admin@example.com")
    no_horizontal_scroll(admin_phone)
    screenshot(admin_phone, "lifecycle-dashboard-phone")
    admin_phone.goto(f"{live_server}/courses/{fa102.id}/enrollments")
    no_horizontal_scroll(admin_phone)
    screenshot(admin_phone, "lifecycle-enrollments-phone")
    assert_clean(admin_phone)
    learner_phone = new_page(**PHONE)
    log_in(learner_phone, live_server, learner.email)
    expect(learner_phone.get_by_role("heading", name="My certificates")).to_be_visible()
    no_horizontal_scroll(learner_phone)
    screenshot(learner_phone, "lifecycle-learner-dashboard-phone")
    assert_clean(learner_phone)
