"""Renewal reminders and expiries: exactly once across repeated sweeps and time travel."""

from __future__ import annotations

import time_machine
from sqlalchemy import select

from app.extensions import db
from app.models import Certificate, Notification, OutboxEmail, ReminderSent
from app.services.lifecycle import reminders, revocation
from app.tasks.daily import run_daily, run_steps
from tests.support.certificates import at, of_type


def _mails(template: str) -> list[OutboxEmail]:
    return list(db.session.scalars(select(OutboxEmail).where(OutboxEmail.template == template)
                                   .order_by(OutboxEmail.id)))


def _sweep(now) -> dict:
    result = run_steps(now)
    db.session.expire_all()
    return result


def test_each_reminder_once_across_repeated_sweeps(learner, issue, captured_events):
    cert = issue(learner, at(2026, 1, 10, 9))  # expires 2028-01-10 09:00
    assert cert.expires_at == at(2028, 1, 10, 9)
    for day in [at(2027, 10, 1), at(2027, 10, 12, 10), at(2027, 10, 12, 18), at(2027, 10, 13),
                at(2027, 11, 20), at(2027, 12, 11, 9, 30), at(2027, 12, 11, 12), at(2027, 12, 20),
                at(2028, 1, 3, 10),
                at(2028, 1, 3, 11), at(2028, 1, 9)]:
        _sweep(day)
        _sweep(day)  # twice the same day: nothing more
    keys = [m.dedupe_key for m in _mails("certificate_reminder")]
    assert keys == [f"reminder:{cert.id}:90", f"reminder:{cert.id}:30", f"reminder:{cert.id}:7"]
    expiring = of_type(captured_events, "certificate.expiring")
    assert [e.data["reminder_days"] for e in expiring] == [90, 30, 7]
    assert [e.data["serial"] for e in expiring] == [cert.serial] * 3
    assert db.session.scalars(select(ReminderSent.days).order_by(ReminderSent.id)).all() == [90, 30, 7]


def test_reminder_mail_reaches_the_holder(learner, issue, jobs, smtp_server):
    cert = issue(learner, at(2026, 1, 10, 9))
    jobs()  # the certificate-issued mail (when the PDF pipeline is installed) goes first
    smtp_server.clear()
    _sweep(at(2027, 12, 15))
    jobs()
    [message] = smtp_server.wait_for(1)
    assert message["To"] == learner.email
    assert "expires in 26 days" in message["Subject"]
    assert message.is_multipart()
    parts = {p.get_content_type(): p.get_content() for p in message.walk() if not p.is_multipart()}
    assert cert.serial in parts["text/plain"] and cert.serial in parts["text/html"]
    assert "http://localhost/me/certificates" in parts["text/plain"]
    assert "Laurel Academy" in parts["text/html"] or "Laurel" in parts["text/html"]


def test_missed_sweeps_send_only_the_most_urgent_reminder(learner, issue):
    cert = issue(learner, at(2026, 1, 10, 9))
    _sweep(at(2027, 12, 20))  # 21 days left: the 90-day moment passed unnoticed
    assert [m.dedupe_key for m in _mails("certificate_reminder")] == [f"reminder:{cert.id}:30"]


def test_time_travel_with_the_real_clock(learner, issue, jobs):
    issue(learner, at(2026, 1, 10, 9))
    with time_machine.travel(at(2027, 10, 14, 6, 15), tick=False):
        assert run_daily()["reminders"] == 1
        assert run_daily()["reminders"] == 0
    with time_machine.travel(at(2027, 12, 12, 6, 15), tick=False):
        assert run_daily()["reminders"] == 1
    assert len(_mails("certificate_reminder")) == 2


def test_no_reminder_after_renewal(learner, issue, captured_events):
    old = issue(learner, at(2026, 1, 10, 9))
    _sweep(at(2027, 10, 13))
    issue(learner, at(2027, 11, 1), renewed_from=old)
    captured_events.clear()
    for day in [at(2027, 12, 12), at(2028, 1, 4), at(2028, 1, 11)]:
        _sweep(day)
    assert [m.dedupe_key for m in _mails("certificate_reminder")] == [f"reminder:{old.id}:90"]
    assert not of_type(captured_events, "certificate.expiring")
    # the old one still expires (an event for integrations) but the holder is not told: they renewed
    assert len(of_type(captured_events, "certificate.expired")) == 1
    assert not _mails("certificate_expired")


def test_no_reminder_after_revocation(learner, issue, captured_events):
    cert = issue(learner, at(2026, 1, 10, 9))
    revocation.revoke(cert, "Issued by mistake", actor="test")
    db.session.commit()
    for day in [at(2027, 10, 13), at(2027, 12, 12), at(2028, 1, 4), at(2028, 2, 1)]:
        _sweep(day)
    assert not _mails("certificate_reminder") and not _mails("certificate_expired")
    assert not of_type(captured_events, "certificate.expiring")
    assert not of_type(captured_events, "certificate.expired")


def test_opt_out_stops_mail_but_not_the_event_or_the_bell(make_user, issue, captured_events):
    quiet = make_user("staff", email="quiet@example.com", reminder_emails=False)
    cert = issue(quiet, at(2026, 1, 10, 9))
    _sweep(at(2027, 10, 13))
    _sweep(at(2027, 10, 14))
    assert not _mails("certificate_reminder")
    assert len(of_type(captured_events, "certificate.expiring")) == 1
    sent = db.session.scalars(select(ReminderSent)).all()
    assert [(r.certificate_id, r.days, r.emailed) for r in sent] == [(cert.id, 90, False)]
    kinds = db.session.scalars(select(Notification.kind).where(Notification.user_id == quiet.id)).all()
    assert kinds.count("expiring") == 1
    _sweep(at(2028, 1, 11))
    assert not _mails("certificate_expired")  # expiry notices follow the same preference


def test_revocation_notice_ignores_the_opt_out(make_user, issue, jobs, smtp_server):
    quiet = make_user("learner", email="quiet@example.com", reminder_emails=False)
    cert = issue(quiet, at(2026, 1, 10, 9))
    revocation.revoke(cert, "Fraud", actor="test")
    db.session.commit()
    jobs()
    assert [m["To"] for m in smtp_server.wait_for(1)] == [quiet.email]


def test_expiry_emits_certificate_expired_once(learner, issue, captured_events, jobs, smtp_server):
    cert = issue(learner, at(2026, 1, 10, 9))
    _sweep(at(2028, 1, 10, 8))  # an hour before: still valid
    assert not of_type(captured_events, "certificate.expired")
    for day in [at(2028, 1, 10, 10), at(2028, 1, 10, 11), at(2028, 1, 12)]:
        _sweep(day)
    expired = of_type(captured_events, "certificate.expired")
    assert len(expired) == 1 and expired[0].data["status"] == "expired"
    assert db.session.get(Certificate, cert.id).expired_notified_at == at(2028, 1, 10, 10)
    assert [m.dedupe_key for m in _mails("certificate_expired")] == [f"expired:{cert.id}"]
    jobs()
    subjects = [m["Subject"] for m in smtp_server.wait_for(2)]
    assert "Your First Aid Level 2 certificate has expired" in subjects


def test_certificates_without_expiry_are_left_alone(learner, certification, issue):
    certification.validity_months = None
    db.session.commit()
    issue(learner, at(2026, 1, 10, 9))
    assert _sweep(at(2040, 1, 1))["reminders"] == 0
    assert not _mails("certificate_reminder") and not _mails("certificate_expired")


def test_due_day_picks_the_most_urgent():
    class Fake:
        expires_at = at(2028, 1, 10)

    assert reminders.due_day(Fake, [90, 30, 7], at(2027, 9, 1)) is None
    assert reminders.due_day(Fake, [90, 30, 7], at(2027, 10, 12)) == 90
    assert reminders.due_day(Fake, [90, 30, 7], at(2028, 1, 5)) == 7
    assert reminders.due_day(Fake, [90, 30, 7], at(2028, 1, 10)) is None
