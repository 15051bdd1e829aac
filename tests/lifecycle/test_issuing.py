"""Requirement evaluation and automatic issuance."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent, Certificate
from app.services.errors import NotAllowed
from app.services.lifecycle import catalog, enrollment, issuing
from tests.lifecycle.conftest import at


def complete(user, course, score=None, when=None):
    issued = enrollment.record_completion(user, course, score=score, completed_at=when, actor="test")
    db.session.commit()
    return issued


def test_issues_the_moment_the_last_requirement_is_met(first_aid, learner, captured_events):
    cert, fa101, fa102 = first_aid
    assert complete(learner, fa101, 80, at(2026, 1, 5)) == []
    assert issuing.assess(learner, cert).reasons == ["missing FA-102"]
    [issued] = complete(learner, fa102, 75, at(2026, 1, 6))
    assert re.fullmatch(r"LAU-\d{4}-\d{6}", issued.serial)
    assert issued.serial.endswith(f"{issued.id:06d}")
    assert len(issued.code) >= 22 and re.fullmatch(r"[A-Za-z0-9_-]+", issued.code)  # 128 bits, URL-safe
    assert issued.cycle == 1 and issued.renewed_from_id is None
    assert issued.expires_at.year == issued.issued_at.year + 2
    snap = issued.snapshot
    assert snap["holder_name"] == "Lena Learner" and snap["certification_name"] == "First Aid Level 2"
    assert [c["code"] for c in snap["courses"]] == ["FA-101", "FA-102"] and snap["score"] == 77.5
    assert snap["issuer_name"] == "Laurel Academy"
    announced = [e for e in captured_events if e.type == "certificate.issued"]
    assert [e.data["serial"] for e in announced] == [issued.serial]
    assert [e.type for e in captured_events if e.type.startswith("enrollment.")] == [
        "enrollment.created", "enrollment.completed", "enrollment.created", "enrollment.completed"]
    audit_row = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "certificate.issued"))
    assert audit_row.subject_id == str(issued.id)


def test_exactly_once_when_evaluated_again(first_aid, learner):
    cert, fa101, fa102 = first_aid
    complete(learner, fa101, 80, at(2026, 1, 5))
    complete(learner, fa102, 90, at(2026, 1, 6))
    assert issuing.evaluate(learner) == []
    assert complete(learner, fa102, 95, at(2026, 1, 7)) == []  # a better score later: still one certificate
    assert complete(learner, fa102, 90, at(2026, 1, 6)) == []  # the same completion again: nothing
    assert db.session.scalar(select(func.count(Certificate.id))) == 1


@pytest.mark.parametrize(("scores", "reasons"), [
    ((64, 90), ["score 64 in FA-101 is below the minimum 70"]),
    ((69.5, 69), ["score 69.5 in FA-101 is below the minimum 70",
                   "score 69 in FA-102 is below the minimum 70"]),
    ((None, 90), ["no score recorded in FA-101"]),
    ((70, 70), []),
])
def test_minimum_score(first_aid, learner, scores, reasons):
    cert, fa101, fa102 = first_aid
    complete(learner, fa101, scores[0], at(2026, 1, 5))
    issued = complete(learner, fa102, scores[1], at(2026, 1, 6))
    assessment = issuing.assess(learner, cert)
    if reasons:
        assert assessment.reasons == reasons and not assessment.met and issued == []
    else:
        assert len(issued) == 1 and assessment.held == issued[0]


def test_best_score_counts_after_a_retake(first_aid, learner):
    cert, fa101, fa102 = first_aid
    complete(learner, fa102, 90, at(2026, 1, 1))
    assert complete(learner, fa101, 64, at(2026, 1, 2)) == []
    assert len(complete(learner, fa101, 82, at(2026, 1, 9))) == 1


def test_withdrawn_enrollment_does_not_count(first_aid, learner):
    cert, fa101, fa102 = first_aid
    complete(learner, fa101, 80, at(2026, 1, 5))
    row = db.session.scalar(select(enrollment.Enrollment).where(enrollment.Enrollment.course_id == fa101.id))
    enrollment.withdraw(row, actor="test")
    assert complete(learner, fa102, 80, at(2026, 1, 6)) == []
    assert issuing.assess(learner, cert).reasons == ["withdrawn from FA-101"]


@pytest.mark.parametrize(("status", "reason"), [("draft", "certification is a draft"),
                                                ("archived", "certification is archived")])
def test_only_active_certifications_issue(make_course, make_certification, learner, status, reason):
    course = make_course("DP-110")
    cert = make_certification("Data Protection", [course], status=status)
    assert complete(learner, course, 90, at(2026, 1, 5)) == []
    assert issuing.assess(learner, cert).reasons == [reason]
    catalog.update_certification(cert, {"status": "active"}, actor="test")
    assert len(issuing.evaluate(learner)) == 1  # activating it later issues on the next evaluation


def test_prerequisites_first_in_one_pass(first_aid, make_course, make_certification, learner):
    cert, fa101, fa102 = first_aid
    ic = make_course("IC-210")
    advanced = make_certification("Infection Control", [ic], prerequisite_ids=[cert.id])
    complete(learner, ic, 90, at(2026, 1, 1))
    assert issuing.assess(learner, advanced).reasons == ["needs prerequisite 'First Aid Level 2'"]
    path = issuing.learning_path(learner)
    assert [s.certification.name for s in path] == ["First Aid Level 2", "Infection Control"]
    complete(learner, fa101, 80, at(2026, 1, 2))
    issued = complete(learner, fa102, 80, at(2026, 1, 3))
    assert [c.certification.name for c in issued] == ["First Aid Level 2", "Infection Control"]
    assert issuing.learning_path(learner) == []


def test_revoked_prerequisite_or_certificate_blocks(first_aid, make_course, make_certification, learner):
    from app.services.lifecycle import revocation

    cert, fa101, fa102 = first_aid
    complete(learner, fa101, 80, at(2026, 1, 2))
    [held] = complete(learner, fa102, 80, at(2026, 1, 3))
    revocation.revoke(held, "Cheating", actor="test")
    assert issuing.evaluate(learner) == []  # a revoked certificate is not silently re-issued
    assert f"certificate {held.serial} was revoked" in issuing.assess(learner, cert).reasons
    ic = make_course("IC-210")
    advanced = make_certification("Infection Control", [ic], prerequisite_ids=[cert.id])
    complete(learner, ic, 90, at(2026, 1, 4))
    assert "needs prerequisite 'First Aid Level 2'" in issuing.assess(learner, advanced).reasons


def test_manual_issue_with_note_is_audited(first_aid, learner, admin):
    cert, fa101, fa102 = first_aid
    issued = issuing.issue(learner, cert, actor=admin, note="Completed the equivalent course at St John")
    db.session.commit()
    assert issued.issue_note.startswith("Completed") and issued.issued_by_id == admin.id
    row = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "certificate.issued"))
    assert row.actor_id == admin.id and row.data["note"] == issued.issue_note
    assert issuing.evaluate(learner) == []  # held: nothing more to issue
    with pytest.raises(NotAllowed):
        issuing.issue(learner, cert, actor=admin, cycle=1)
    db.session.rollback()
