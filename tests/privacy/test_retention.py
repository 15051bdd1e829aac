"""Retention: the dry run reports exactly what the real run deletes; a second run deletes nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from app.database import utcnow
from app.documents.storage import get_storage
from app.extensions import db
from app.models import AuditEvent, Certificate, OutboxEmail
from app.services import audit
from app.services.messaging import outbox
from app.services.privacy import policy, retention
from app.tasks.daily import run_steps
from tests.support.certificates import at


def _mail(days_ago: int, status: str = "sent") -> int:
    row = outbox.queue_email("someone@example.org", "password_reset", subject="Reset",
                             context={"name": "Someone", "link": "http://localhost/x"})
    db.session.flush()
    db.session.execute(update(OutboxEmail).where(OutboxEmail.id == row.id).values(
        status=status, created_at=utcnow() - timedelta(days=days_ago)))
    return row.id


def _audit(years_ago: float) -> None:
    row = audit.record("test", "thing.done", "thing", 1, "Old thing")
    db.session.flush()
    row.at = utcnow() - timedelta(days=int(365.25 * years_ago))


@pytest.fixture
def aged(make_user, issue):
    """Rows on both sides of every limit (defaults: mail 90 days, audit 6 years, PDFs 6 years)."""
    for days in (10, 89, 91, 400):
        _mail(days)
    _mail(400, status="queued")  # never sent yet: its body is still needed
    for years in (1, 5.9, 6.1, 9):
        _audit(years)
    old = issue(make_user("learner"), when=at(2015, 1, 10, 9))  # expired January 2017
    recent = issue(make_user("learner"), when=at(2025, 1, 10, 9))
    for cert, key in ((old, "certificates/old.pdf"), (recent, "certificates/recent.pdf")):
        get_storage().put(key, b"%PDF-1.4 test", "application/pdf")
        cert.pdf_key, cert.pdf_status = key, "ready"
    db.session.commit()
    return old, recent


def _counts():
    return {
        "mail_bodies": db.session.scalar(select(func.count()).where(OutboxEmail.text_body != "")),
        "audit_rows": db.session.scalar(select(func.count()).select_from(AuditEvent)),
        "pdfs": db.session.scalar(select(func.count()).where(Certificate.pdf_key.is_not(None))),
    }


def test_dry_run_then_real_run_delete_exactly_what_was_reported(aged, admin):
    old, recent = aged
    now = utcnow()
    report = retention.report(now)
    assert report == {"mail_bodies": 2, "audit_rows": 2, "expired_pdfs": 1, "data_exports": 0}
    before = _counts()
    assert retention.enforce(now) == dict.fromkeys(retention.KINDS, 0)  # off: nothing but exports
    db.session.commit()
    assert _counts() == before
    policy.update({**policy.current_values(), "retention_enabled": True}, actor=admin)
    db.session.commit()
    done = retention.enforce(now)
    db.session.commit()
    assert done == report
    after = _counts()
    assert before["mail_bodies"] - after["mail_bodies"] == 2
    # the policy change and the retention run itself each wrote one audit row
    assert before["audit_rows"] - after["audit_rows"] == 2 - 2
    assert before["pdfs"] - after["pdfs"] == 1
    assert not get_storage().exists("certificates/old.pdf")
    assert get_storage().exists("certificates/recent.pdf")
    assert db.session.get(Certificate, old.id).pdf_error == retention.PDF_DELETED
    # idempotent: nothing left to do
    assert retention.report(now) == dict.fromkeys(retention.KINDS, 0)
    assert retention.enforce(now) == dict.fromkeys(retention.KINDS, 0)


def test_the_daily_sweep_applies_it(aged, admin):
    policy.update({**policy.current_values(), "retention_enabled": True, "mail_body_days": 30}, actor=admin)
    db.session.commit()
    counts = run_steps(utcnow())
    assert counts["retention"]["mail_bodies"] == 3
    assert run_steps(utcnow())["retention"]["mail_bodies"] == 0


def test_the_admin_page_shows_the_dry_run(aged, admin, login_as):
    client = login_as(admin)
    page = client.get("/admin/privacy").get_data(as_text=True)
    assert 'data-testid="report-mail_bodies">2<' in page and 'data-testid="report-expired_pdfs">1<' in page


@pytest.mark.parametrize("field,value", [
    ("mail_body_days", "0"), ("mail_body_days", "-5"), ("audit_years", "99999999999999999999"),
    ("expired_pdf_years", "1.5"), ("export_days", "abc"), ("export_days", "31"),
    ("erased_certificates", "burn"),
    ("mail_body_days", ""),
])
def test_bad_policy_values_are_refused(admin, login_as, field, value):
    client = login_as(admin)
    values = {**policy.current_values(), "retention_enabled": "y", "csrf_token": client.csrf_token,
              field: value}
    response = client.post("/admin/privacy", data=values)
    assert response.status_code == 422
    assert policy.current() == policy.Policy()


def test_policy_saves_and_is_audited(admin, login_as):
    client = login_as(admin)
    values = {"erased_certificates": "revoke", "mail_body_days": "30", "audit_years": "10",
              "expired_pdf_years": "3", "export_days": "2", "csrf_token": client.csrf_token}
    assert client.post("/admin/privacy", data=values).status_code == 302
    assert policy.current() == policy.Policy("revoke", False, 30, 10, 3, 2)
    row = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "privacy.policy_updated"))
    assert row.data["erased_certificates"] == "revoke"
