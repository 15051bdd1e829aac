"""The foundation in a real browser: demo admin logs in, invites someone, edits a row inline (htmx),
on a desktop and on a phone, with no console errors and no CSP violations."""

from __future__ import annotations

import re

import pytest

from app import demo
from app.extensions import db
from app.models import User
from tests.e2e.conftest import assert_clean
from tests.support.browser import PHONE, log_in, no_horizontal_scroll

pytestmark = pytest.mark.browser


def _nav(page):
    return page.get_by_role("navigation", name="Main")


def test_admin_invites_and_edits_inline(page, live_server, demo_data, screenshot, jobs, smtp_server):
    from playwright.sync_api import expect

    log_in(page, live_server, "admin@example.com", demo.DEMO_PASSWORD)
    screenshot(page, "foundation-dashboard-desktop")
    _nav(page).get_by_role("button", name="Admin", exact=True).click()  # People sits in the Admin dropdown
    _nav(page).get_by_role("link", name="People").click()
    expect(page.get_by_role("heading", name="People")).to_be_visible()
    screenshot(page, "foundation-people-desktop")

    # Invite through the form.
    page.get_by_role("link", name="Invite someone").click()
    page.get_by_label("Email").fill("nadia.new@example.com")
    page.get_by_label("Name").fill("Nadia New")
    page.get_by_label("Role").select_option("staff")
    page.get_by_label("Department").select_option(label="Operations")  # the department tree's select
    screenshot(page, "foundation-invite-desktop")
    page.get_by_role("button", name="Send invitation").click()
    page.wait_for_url(re.compile(r".*/admin/users$"))
    expect(page.locator("#flashes")).to_contain_text("Invitation sent to nadia.new@example.com")
    invited = db.session.scalar(db.select(User).filter_by(email="nadia.new@example.com"))
    assert invited.role == "staff" and invited.department == "Operations"

    # Search narrows the table in place (htmx), then edit a row inline.
    page.get_by_placeholder("Search name or email").fill("Lena")
    row = page.locator("tr", has_text="Lena Fischer")
    expect(page.locator("#users-table tbody tr")).to_have_count(1)
    row.get_by_role("button", name="Edit Lena Fischer").click()
    page.locator("select[id^=role-]").select_option("staff")
    page.locator("select[id^=department-]").select_option(label="Administration")
    screenshot(page, "foundation-inline-edit-desktop")
    page.get_by_role("button", name="Save").click()
    saved = page.locator("tr.row-saved", has_text="Lena Fischer")
    expect(saved).to_contain_text("Staff")
    expect(saved).to_contain_text("Administration")
    lena = db.session.scalar(db.select(User).filter_by(email="learner@example.com"))
    db.session.refresh(lena)
    assert (lena.role, lena.department) == ("staff", "Administration")

    # A refusal stays in the row (422 swapped in place): the demo has one admin, who cannot be demoted.
    page.get_by_placeholder("Search name or email").fill("Ada")
    expect(page.locator("#users-table tbody tr")).to_have_count(1)
    page.get_by_role("button", name="Edit Ada Okafor").click()
    page.locator("select[id^=role-]").select_option("learner")
    page.get_by_role("button", name="Save").click()
    refusal = page.locator("tr", has_text="Ada Okafor").get_by_role("alert")
    expect(refusal).to_contain_text("last active admin")
    expect(page.locator("#toast-area .toast")).to_have_count(0)
    screenshot(page, "foundation-inline-error-desktop")
    page.get_by_role("button", name="Cancel").click()
    expect(page.get_by_role("button", name="Edit Ada Okafor")).to_be_visible()
    assert_clean(page)

    # The invitee gets the mail through the worker and sets a password in the browser.
    jobs()
    smtp_server.wait_for(1)
    [invite] = [m for m in smtp_server.messages if m["To"] == "nadia.new@example.com"]
    link = re.search(r"http://localhost(/set-password/\S+)", invite.get_body(preferencelist=("plain",))
                     .get_content()).group(1)
    invitee = page.context.browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        other = invitee.new_page()
        other.goto(live_server + link)
        expect(other.get_by_role("heading", name="Welcome, Nadia New")).to_be_visible()
        other.get_by_label("New password", exact=True).fill("nadia-secret-1")
        other.get_by_label("Repeat the new password").fill("nadia-secret-1")
        other.get_by_role("button", name="Set password").click()
        other.wait_for_url(re.compile(r".*/login$"))
        log_in(other, live_server, "nadia.new@example.com", "nadia-secret-1")
        expect(other.get_by_role("button", name=re.compile("Nadia New"))).to_be_visible()
    finally:
        invitee.close()


def test_phone_layout(new_page, live_server, demo_data, screenshot):
    from playwright.sync_api import expect

    page = new_page(**PHONE)
    page.goto(f"{live_server}/login")
    no_horizontal_scroll(page)
    screenshot(page, "foundation-login-phone")
    log_in(page, live_server, "admin@example.com", demo.DEMO_PASSWORD)
    page.goto(f"{live_server}/admin/users")
    no_horizontal_scroll(page)
    screenshot(page, "foundation-people-phone")

    # The menu collapses behind the toggler and opens on tap.
    admin_menu = _nav(page).get_by_role("button", name="Admin", exact=True)
    expect(admin_menu).to_be_hidden()
    page.get_by_role("button", name="Menu").click()
    expect(admin_menu).to_be_visible()
    expect(page.locator("#nav.collapse.show")).to_be_visible()  # the opening transition is over
    screenshot(page, "foundation-menu-phone")
    page.goto(f"{live_server}/admin/users/invite")
    no_horizontal_scroll(page)
    screenshot(page, "foundation-invite-phone")
    page.goto(f"{live_server}/no/such/page")
    screenshot(page, "foundation-404-phone")
    page.goto(f"{live_server}/profile")
    no_horizontal_scroll(page)
    assert_clean(page)


def test_logout_from_the_menu(page, live_server, demo_data):
    from playwright.sync_api import expect

    log_in(page, live_server, "learner@example.com", demo.DEMO_PASSWORD)
    # role-aware navigation
    expect(_nav(page).get_by_role("button", name="Admin", exact=True)).to_have_count(0)
    expect(_nav(page).get_by_role("link", name="People")).to_have_count(0)
    page.get_by_role("button", name=re.compile("Lena Fischer")).click()
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(re.compile(r".*/login$"))
    expect(page.locator("#flashes")).to_contain_text("You are logged out.")
    page.goto(f"{live_server}/profile")
    assert "/login" in page.url
    assert_clean(page)
