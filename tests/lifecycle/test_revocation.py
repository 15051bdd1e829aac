"""Revocation and reinstatement: audited, announced, mailed; revoked never counts as valid."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, Certificate, OutboxEmail
from app.services.errors import NotAllowed, ValidationError
from app.services.lifecycle import certificates, enrollment, revocation, stats
from tests.lifecycle.conftest import at


@pytest.fixture
def held(first_aid, learner):
    cert, fa101, fa102 = first_aid
    enrollment.record_completion(learner, fa101, score=80, completed_at=at(2026, 1, 5), actor="test")
    [issued] = enrollment.record_completion(learner, fa102, score=80, completed_at=at(2026, 1, 6),
                                            actor="test")
    db.session.commit()
    return issued


def test_revoke_needs_a_reason(held, admin):
    for reason in ("", "   ", "x" * 1001):
        with pytest.raises(ValidationError) as info:
            revocation.revoke(held, reason, actor=admin)
        assert "reason" in info.value.errors
    assert held.revoked_at is None


def test_revoke_and_reinstate(held, admin, captured_events):
    captured_events.clear()
    revocation.revoke(held, "  Assessment was completed by someone else ", actor=admin)
    db.session.commit()
    assert held.status == "revoked" and held.revoke_reason == "Assessment was completed by someone else"
    assert held.revoked_by_id == admin.id
    assert stats.dashboard_tiles()["certificates_valid"] == 0
    assert db.session.scalars(certificates.certificate_query(status="valid")).all() == []
    with pytest.raises(NotAllowed):
        revocation.revoke(held, "again", actor=admin)
    revocation.reinstate(held, actor=admin)
    db.session.commit()
    assert held.status == "valid" and held.revoke_reason is None
    with pytest.raises(NotAllowed):
        revocation.reinstate(held, actor=admin)
    assert [e.type for e in captured_events] == ["certificate.revoked", "certificate.reinstated"]
    assert captured_events[0].data["status"] == "revoked" and captured_events[1].data["revoked_at"] is None
    actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.subject_type == "certificate",
                                                                        AuditEvent.subject_id == str(held.id))
                                 .order_by(AuditEvent.id)).all()
    assert actions == ["certificate.issued", "certificate.revoked", "certificate.reinstated"]
    mails = db.session.scalars(select(OutboxEmail).order_by(OutboxEmail.id)).all()
    assert [(m.to, m.template) for m in mails] == [("learner@example.com", "certificate_revoked"),
                                                   ("learner@example.com", "certificate_reinstated")]
    assert "Assessment was completed by someone else" in mails[0].text_body
    assert f"/verify/{held.code}" in mails[0].html_body and held.serial in mails[1].subject


def test_revocation_mail_is_delivered(held, admin, jobs, smtp_server):
    revocation.revoke(held, "Expired ID", actor=admin)
    db.session.commit()
    jobs()
    assert db.session.scalar(select(OutboxEmail.status)) == "sent"
    assert len(smtp_server.messages) == 1


def test_revoked_certificate_row_is_unchanged_otherwise(held, admin):
    serial, code = held.serial, held.code
    revocation.revoke(held, "Fraud", actor=admin)
    db.session.commit()
    fresh = db.session.get(Certificate, held.id, populate_existing=True)
    assert (fresh.serial, fresh.code, fresh.snapshot["holder_name"]) == (serial, code, "Lena Learner")
