"""Issue 12 forms in a real browser: the chips multi-select (type, Enter, remove, Backspace, submit) on
the certification form, and the webhook form showing only the chosen authentication type's fields.
Screenshots at 1366 and 390 px go to test-artifacts/screens/d/."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Certification
from app.services.lifecycle import catalog
from tests.e2e.conftest import ARTIFACTS, CHROMIUM, assert_clean
from tests.support.browser import PHONE, WIDE, log_in, no_horizontal_scroll

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not CHROMIUM.exists(), reason=f"needs Chromium at {CHROMIUM}")]


def _shoot(page, name: str) -> None:
    folder = ARTIFACTS / "screens" / "d"
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True, caret="initial")


@pytest.fixture
def courses(make_user):
    make_user("admin", email="admin@example.com", name="Ada Admin")
    made = [catalog.create_course({"code": code, "title": title}, actor="test") for code, title in
            (("FA-101", "First aid basics"), ("FA-102", "CPR and AED"), ("PY-201", "Python for analysts"))]
    db.session.commit()
    return made


def test_chips_type_enter_remove_and_submit(new_page, live_server, courses):
    from playwright.sync_api import expect

    page = new_page(**WIDE)
    log_in(page, live_server, "admin@example.com")
    page.goto(f"{live_server}/certifications")
    page.get_by_text("New certification").click()
    form = page.locator("#certification-create")
    expect(form.get_by_label("Issuer")).to_have_value("Laurel Academy")  # prefilled from the organisation
    expect(form.get_by_label("Signatory", exact=True)).to_have_value("Ada Admin")
    expect(form.locator("select[name=course_ids]")).to_be_hidden()  # enhanced: the select stays, hidden
    search = form.get_by_label("Required courses")
    search.click()
    search.press_sequentially("cpr")
    options = form.get_by_role("listbox", name="Suggestions")
    expect(options.get_by_role("option")).to_have_count(1)
    expect(options.get_by_role("option")).to_have_text("FA-102 · CPR and AED")
    search.press("Enter")
    search.fill("python")
    search.press("Enter")
    search.fill("fa-101")
    search.press("ArrowDown")
    search.press("Enter")
    chips = form.locator(".chip")
    expect(chips).to_have_count(3)
    form.get_by_role("button", name="Remove PY-201 · Python for analysts").click()
    expect(chips).to_have_count(2)
    search.press("Backspace")  # empty box: removes the last chip (chips keep the list's order)
    expect(chips).to_have_text([re.compile("FA-101")])
    search.fill("fa-102")
    search.press("Enter")
    form.get_by_label("Name").fill("First Aid Level 2")
    form.get_by_label("Validity (months)").fill("12")
    form.get_by_label("Renewal window", exact=True).fill("30")
    form.get_by_label("Reminder days").fill("60, 7")
    _shoot(page, "certification-form-1366")
    form.get_by_role("button", name="Create certification").click()
    # The cross-field error sits next to its field; nothing was created.
    expect(form.locator(".invalid-feedback")).to_contain_text("before renewal opens")
    expect(page.locator("#certification-create .chip")).to_have_count(2)  # the chosen ones survive the 422
    _shoot(page, "certification-form-error-1366")
    page.locator("#certification-create").get_by_label("Reminder days").fill("30, 7")
    page.locator("#certification-create").get_by_role("button", name="Create certification").click()
    expect(page.locator("#certification-create")).to_contain_text("created as a draft")
    cert = db.session.scalar(select(Certification).where(Certification.name == "First Aid Level 2"))
    assert sorted(c.code for c in cert.courses) == ["FA-101", "FA-102"] and cert.reminder_days == [30, 7]
    # The inline editor arrives by htmx: its selects become chips too, showing what is stored.
    row = page.locator(f"#certification-{cert.id}")
    row.get_by_role("button", name="Edit").first.click()
    expect(row.locator(".chips-input").first).to_be_visible()
    expect(row.locator(".chip")).to_have_text([re.compile("FA-101"), re.compile("FA-102")])
    expect(row.get_by_label("Minimum score")).to_have_value("")
    assert_clean(page)

    phone = new_page(**PHONE)
    log_in(phone, live_server, "admin@example.com")
    phone.goto(f"{live_server}/certifications")
    phone.get_by_text("New certification").click()
    phone.locator("#certification-create").get_by_label("Required courses").fill("a")
    no_horizontal_scroll(phone)
    _shoot(phone, "certification-form-390")
    phone.get_by_text("New certification").click()  # closed again: the edit row next
    phone.locator(f"#certification-{cert.id}").get_by_role("button", name="Edit").first.click()
    edit = phone.locator(f"#certification-{cert.id} form")
    expect(edit.locator(".chips-input").first).to_be_visible()
    box, screen = edit.bounding_box(), phone.viewport_size["width"]
    assert box["x"] >= 0 and box["x"] + box["width"] <= screen, box  # the whole editor on the screen
    _shoot(phone, "certification-edit-row-390")
    assert_clean(phone)


def test_webhook_form_shows_only_the_chosen_auth_fields(new_page, live_server, make_user):
    from playwright.sync_api import expect

    make_user("admin", email="admin@example.com", name="Ada Admin")
    for options, suffix in ((WIDE, "1366"), (PHONE, "390")):
        page = new_page(**options)
        log_in(page, live_server, "admin@example.com")
        page.goto(f"{live_server}/integrations/new/generic_webhook")
        auth = page.get_by_label("Authentication")
        expect(page.get_by_label("Bearer token")).to_be_hidden()
        expect(page.get_by_label("Password")).to_be_hidden()
        auth.select_option("basic")
        expect(page.get_by_label("User name")).to_be_visible()
        expect(page.get_by_label("Password")).to_be_visible()
        expect(page.get_by_label("OAuth2 token URL")).to_be_hidden()
        auth.select_option("oauth2")
        expect(page.get_by_label("OAuth2 client secret")).to_be_visible()
        expect(page.get_by_label("Password")).to_be_hidden()
        page.get_by_label("certificate.revoked").check()
        expect(page.get_by_role("group", name="Enrollment")).to_be_visible()
        if suffix == "390":
            no_horizontal_scroll(page)
        _shoot(page, f"webhook-form-{suffix}")
        assert_clean(page)


def test_date_inputs_are_not_clipped_on_a_phone(new_page, live_server, courses):
    from playwright.sync_api import expect

    phone = new_page(**PHONE)
    log_in(phone, live_server, "admin@example.com")
    phone.goto(f"{live_server}/courses")
    phone.get_by_text("New course").click()
    starts = phone.locator("#course-create input[type=date]").first
    expect(starts).to_be_visible()
    starts.fill("2026-12-02")
    box = starts.bounding_box()
    assert box["width"] >= 150, box  # room for the date and the picker button (forms.css min-width)
    ends = phone.locator("#course-create input[type=date]").nth(1).bounding_box()
    card = phone.locator("#course-create").bounding_box()
    assert ends["x"] + ends["width"] <= card["x"] + card["width"], (ends, card)  # stays inside the card
    no_horizontal_scroll(phone)
    _shoot(phone, "course-form-390")
    assert_clean(phone)
    wide = new_page(**WIDE)
    log_in(wide, live_server, "admin@example.com")
    wide.goto(f"{live_server}/courses")
    wide.get_by_text("New course").click()
    assert wide.locator("#course-create input[type=date]").first.bounding_box()["width"] >= 150
    _shoot(wide, "course-form-1366")
