"""Issue 17's "done means" for sessions, in Chromium with separate browser contexts:

a learner registers (the invite.ics the real SMTP server received parses, with the session's UID and UTC
times), a full session's waitlist moves up when someone cancels, the trainer shows the QR code, the learner
opens the check-in link it encodes (read from the page's data, not by camera) and checks in; the enrollment
completes and the certificate is issued. The pages are looked at at 1366 px and 390 px
(test-artifacts/training-*.png), with no console errors, CSP violations or sideways scrolling.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.database import utcnow
from app.extensions import db
from app.models import Certificate, Enrollment
from app.services.lifecycle import catalog
from app.services.training import registrations, sessions
from tests.e2e.conftest import CHROMIUM, assert_clean
from tests.support.browser import PHONE, WIDE, log_in, no_horizontal_scroll
from tests.training.conftest import event_of, invites

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not CHROMIUM.exists(), reason=f"needs Chromium at {CHROMIUM}")]


@pytest.fixture
def world(make_user, admin):
    course = catalog.create_course({"code": "MH-900", "title": "Manual handling practical"}, actor="test")
    db.session.flush()
    cert = catalog.create_certification({"name": "Manual Handling", "status": "active",
                                         "course_ids": [course.id]}, actor="test")
    trainer = make_user("staff", email="trainer@example.com", name="Priya Trainer")
    start = (utcnow() + timedelta(minutes=20)).replace(second=0, microsecond=0)
    session = sessions.create_session({
        "course_id": course.id, "title": "Lifting practice", "starts_at": start,
        "ends_at": start + timedelta(hours=2), "timezone": "Europe/Berlin", "location": "Hall B",
        "trainer_id": trainer.id, "capacity": 2}, actor=admin)
    sessions.set_attendance_rule(course.id, "one", actor=admin)
    db.session.commit()
    people = [make_user(email=f"{n}@example.com", name=n.title()) for n in ("lena", "jonas", "maria")]
    return session, cert, trainer, people


def _look(page, screenshot, name: str) -> None:
    no_horizontal_scroll(page)
    assert_clean(page)
    screenshot(page, name)


def test_register_waitlist_check_in_and_certificate(new_page, live_server, world, smtp_server, jobs,
                                                    screenshot):
    session, cert, trainer, (lena, jonas, maria) = world
    smtp_server.clear()
    lena_page = new_page(**WIDE)
    log_in(lena_page, live_server, lena.email)
    lena_page.goto(f"{live_server}/training/sessions")
    lena_page.get_by_role("link", name="Lifting practice").click()
    _look(lena_page, screenshot, "training-session-wide")
    lena_page.get_by_role("button", name="Register").click()
    expect(lena_page.get_by_text("You are registered")).to_be_visible()

    jobs()
    calendars = invites(smtp_server, lena.email)
    assert len(calendars) == 1 and str(calendars[0]["METHOD"]) == "REQUEST"
    event = event_of(calendars[0])
    assert str(event["UID"]).startswith(f"session-{session.uid}@")
    assert event.decoded("DTSTART") == session.starts_at and event.decoded("DTEND") == session.ends_at

    # Jonas takes the last place, Maria waits; Jonas cancels and Maria moves up.
    for person in (jonas, maria):
        other = new_page(**PHONE)
        log_in(other, live_server, person.email)
        other.goto(f"{live_server}/training/sessions/{session.id}")
        button = "Join the waitlist" if person is maria else "Register"
        other.get_by_role("button", name=button).click()
        if person is maria:
            expect(other.get_by_text("You are on the waitlist")).to_be_visible()
            _look(other, screenshot, "training-waitlist-phone")
        else:
            expect(other.get_by_text("You are registered")).to_be_visible()
            jonas_page = other
    jonas_page.get_by_role("button", name="Cancel my registration").click()
    expect(jonas_page.get_by_text("Your registration is cancelled")).to_be_visible()
    db.session.expire_all()
    assert registrations.find(session, maria).status == "registered"
    jobs()
    assert [str(c["METHOD"]) for c in invites(smtp_server, jonas.email)] == ["REQUEST", "CANCEL"]
    assert [str(c["METHOD"]) for c in invites(smtp_server, maria.email)] == ["REQUEST"]

    # The trainer shows the code; Lena opens the link it encodes and checks in.
    trainer_page = new_page(**WIDE)
    log_in(trainer_page, live_server, trainer.email)
    trainer_page.goto(f"{live_server}/training/sessions/{session.id}")
    trainer_page.get_by_role("link", name="Show check-in code").click()
    code = trainer_page.locator("#checkin-code")
    expect(code.locator("svg")).to_be_visible()
    assert code.locator("svg").count() == 1
    checkin_url = code.get_attribute("data-checkin-url")
    _look(trainer_page, screenshot, "training-qr-wide")

    phone = new_page(**PHONE)
    log_in(phone, live_server, lena.email)
    phone.goto(checkin_url)
    expect(phone.get_by_role("button", name="Check in as")).to_be_visible()
    _look(phone, screenshot, "training-check-in-phone")
    phone.get_by_role("button", name="Check in as").click()
    expect(phone.get_by_text("You are checked in")).to_be_visible()
    _look(phone, screenshot, "training-checked-in-phone")

    db.session.expire_all()
    enrollment = db.session.scalar(select(Enrollment).where(Enrollment.user_id == lena.id))
    assert enrollment.status == "completed"
    issued = db.session.scalar(select(Certificate).where(Certificate.user_id == lena.id))
    assert issued is not None and issued.certification_id == cert.id
    phone.goto(f"{live_server}/")
    expect(phone.get_by_role("heading", name="Manual Handling")).to_be_visible()

    trainer_page.goto(f"{live_server}/training/sessions/{session.id}")
    expect(trainer_page.locator("#attendance tbody")).to_contain_text("present (QR")
    _look(trainer_page, screenshot, "training-attendance-wide")


@pytest.mark.parametrize("size", ["wide", "phone"])
def test_calendar_pages_fit(new_page, live_server, world, screenshot, size):
    session, _cert, _trainer, (lena, *_rest) = world
    registrations.register(lena, session, actor=lena)
    db.session.commit()
    page = new_page(**(WIDE if size == "wide" else PHONE))
    log_in(page, live_server, lena.email)
    for view in ("upcoming", "month", "week"):
        page.goto(f"{live_server}/training/sessions?view={view}")
        assert page.get_by_text("Lifting practice").count() >= 1
        _look(page, screenshot, f"training-calendar-{view}-{size}")
    page.goto(f"{live_server}/training/my-sessions")
    _look(page, screenshot, f"training-my-sessions-{size}")


@pytest.mark.parametrize("size", ["wide", "phone"])
def test_admin_schedules_a_session_with_the_form(new_page, live_server, world, admin, screenshot, size):
    page = new_page(**(WIDE if size == "wide" else PHONE))
    log_in(page, live_server, admin.email)
    page.goto(f"{live_server}/training/sessions")
    page.get_by_role("link", name="New session").click()
    page.get_by_label("Time zone").fill("America/New_York")
    page.get_by_label("Starts").fill("2030-04-02T09:00")
    page.get_by_label("Ends").fill("2030-04-02T08:00")  # before the start: refused next to the field
    page.get_by_label("Online link (https)").fill("https://meet.example.com/lift")
    page.get_by_role("button", name="Schedule session").click()
    expect(page.get_by_text("The session must end after it starts.")).to_be_visible()
    _look(page, screenshot, f"training-form-error-{size}")
    page.get_by_label("Ends").fill("2030-04-02T11:30")
    page.get_by_role("button", name="Schedule session").click()
    expect(page.get_by_text("Session scheduled.")).to_be_visible()
    expect(page.get_by_text("2 Apr 2030, 09:00–11:30 America/New_York")).to_be_visible()
    _look(page, screenshot, f"training-admin-session-{size}")
