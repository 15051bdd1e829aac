"""Dashboard figures cross-checked against a fixture computed by hand."""

from __future__ import annotations

import pytest
from sqlalchemy import event

from app.extensions import db
from app.services import audit
from app.services.lifecycle import enrollment, issuing, revocation, stats
from tests.lifecycle.conftest import at

NOW = at(2026, 6, 15, 12)


@pytest.fixture
def world(first_aid, make_course, make_certification, make_user, learner):
    fa, _, _ = first_aid
    fire = make_certification("Fire Safety", [make_course("FS-100")], validity_months=12,
                              renewal_window_days=60)
    make_certification("Team Leader", [make_course("LD-300")], status="draft")
    a, b, c = make_user(), make_user(), make_user()
    make_user(active=False)  # an inactive learner is not counted
    make_user("staff")
    certs = {
        "c1": issuing.issue(learner, fa, actor="test", now=at(2026, 6, 1)),   # valid, issued this month
        "c2": issuing.issue(a, fire, actor="test", now=at(2025, 7, 1)),       # expires 2026-07-01: in 30 days
        "c3": issuing.issue(b, fire, actor="test", now=at(2025, 6, 1)),       # expired 2026-06-01
        "c4": issuing.issue(c, fa, actor="test", now=at(2026, 6, 10)),        # issued this month, revoked
        "c5": issuing.issue(learner, fire, actor="test", now=at(2025, 8, 1)),  # expires in 47 days
    }
    revocation.revoke(certs["c4"], "Issued in error", actor="test")
    x1, x2, x3 = make_course("X-1"), make_course("X-2"), make_course("X-3")
    enrollment.record_completion(a, x1, score=90, completed_at=at(2026, 1, 1), actor="test")
    enrollment.record_completion(b, x1, score=60, completed_at=at(2026, 1, 2), actor="test")
    enrollment.update_enrollment(enrollment.enroll(c, x2, actor="test"), {"status": "in_progress"},
                                 actor="test")
    enrollment.withdraw(enrollment.enroll(learner, x3, actor="test"), actor="test")
    audit.record("test", "user.login", "user", a.id, "not lifecycle")
    db.session.commit()
    return certs


def test_tiles_match_the_hand_count(world):
    assert stats.dashboard_tiles(now=NOW) == {
        "certificates_valid": 3,       # c1, c2, c5 (c3 expired, c4 revoked)
        "active_certifications": 2,    # First Aid, Fire Safety (Team Leader is a draft)
        "learners": 4,                 # learner, a, b, c (the inactive one is not counted)
        "completion_rate": 66.7,       # 2 completed of 3 not withdrawn
        "issued_this_month": 2,        # c1, c4
        "expiring_30_days": 1,         # c2
    }


def test_empty_database_tiles():
    assert stats.dashboard_tiles() == {"certificates_valid": 0, "active_certifications": 0, "learners": 0,
                                       "completion_rate": 0.0, "issued_this_month": 0, "expiring_30_days": 0}


def test_expiring_soon_and_activity(world):
    assert stats.expiring_soon(days=30, now=NOW) == [world["c2"]]
    assert stats.expiring_soon(days=60, now=NOW) == [world["c2"], world["c5"]]
    feed = stats.recent_activity(limit=50)
    assert feed[0].action == "enrollment.withdrawn" or feed[0].action.startswith("enrollment.")
    assert "user.login" not in {e.action for e in feed}
    assert {"certificate.issued", "certificate.revoked", "course.created"} <= {e.action for e in feed}
    assert len(stats.recent_activity(limit=3)) == 3


def test_tiles_use_a_constant_number_of_queries(world):
    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        stats.dashboard_tiles(now=NOW)
        stats.expiring_soon(now=NOW)
        stats.recent_activity()
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    assert len(statements) == 6
