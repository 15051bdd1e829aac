"""Derived status across time, and renewal chains."""

from __future__ import annotations

import time_machine
from sqlalchemy import select

from app.extensions import db
from app.models import Certificate
from app.services.lifecycle import certificates, enrollment, issuing
from tests.lifecycle.conftest import at


def complete(user, course, score, when):
    issued = enrollment.record_completion(user, course, score=score, completed_at=when, actor="test")
    db.session.commit()
    return issued


def statuses(now):
    rows = db.session.scalars(select(Certificate).order_by(Certificate.id)).all()
    in_sql = {s: {c.id for c in db.session.scalars(select(Certificate).where(Certificate.has_status(s, now)))}
              for s in ("valid", "expiring", "expired", "revoked")}
    for cert in rows:  # the SQL expression and the Python property always agree
        assert cert.id in in_sql[cert.status_at(now)]
    return [c.status_at(now) for c in rows]


def test_status_moves_with_the_clock(first_aid, learner):
    cert, fa101, fa102 = first_aid
    with time_machine.travel(at(2026, 1, 10), tick=False):
        complete(learner, fa101, 80, at(2026, 1, 5))
        [issued] = complete(learner, fa102, 80, at(2026, 1, 6))
        assert issued.issued_at == at(2026, 1, 10)
        assert issued.expires_at == at(2028, 1, 10) and issued.renewal_opens_at == at(2027, 10, 12)
        assert issued.status == "valid"
    for moment, expected in [(at(2027, 10, 11), "valid"), (at(2027, 10, 12), "expiring"),
                             (at(2028, 1, 9, 23), "expiring"), (at(2028, 1, 10), "expired")]:
        with time_machine.travel(moment, tick=False):
            assert issued.status == expected
            assert statuses(None) == [expected]
            assert certificates.certificate_data(issued)["status"] == expected


def test_never_expires_without_validity(make_course, make_certification, learner):
    course = make_course("LD-300")
    make_certification("Team Leader", [course])
    [issued] = complete(learner, course, None, at(2026, 1, 1))
    assert issued.expires_at is None and issued.renewal_opens_at is None
    assert statuses(at(2099, 1, 1)) == ["valid"]


def test_renewal_inside_the_window_links_the_chain(first_aid, learner):
    cert, fa101, fa102 = first_aid
    with time_machine.travel(at(2026, 1, 10), tick=False):
        complete(learner, fa101, 80, at(2026, 1, 5))
        [first] = complete(learner, fa102, 80, at(2026, 1, 6))
    with time_machine.travel(at(2027, 11, 1), tick=False):  # inside the 90-day window
        assessment = issuing.assess(learner, cert)
        assert assessment.renewal_of == first
        assert assessment.reasons == ["FA-101 not completed again since 12 Oct 2027",
                                      "FA-102 not completed again since 12 Oct 2027"]
        assert complete(learner, fa101, 85, at(2027, 10, 20)) == []
        [second] = complete(learner, fa102, 88, at(2027, 10, 30))
        assert second.cycle == 2 and second.renewed_from_id == first.id
        assert second.expires_at == at(2029, 11, 1)
        assert first.status == "expiring" and second.status == "valid"
        assert certificates.chain(first) == [first, second] == certificates.chain(second)
        assert issuing.evaluate(learner) == []
    with time_machine.travel(at(2028, 6, 1), tick=False):
        assert statuses(None) == ["expired", "valid"]


def test_completion_before_the_window_does_not_renew(first_aid, learner):
    cert, fa101, fa102 = first_aid
    with time_machine.travel(at(2026, 1, 10), tick=False):
        complete(learner, fa101, 80, at(2026, 1, 5))
        complete(learner, fa102, 80, at(2026, 1, 6))
    with time_machine.travel(at(2027, 6, 1), tick=False):  # valid, window not open
        complete(learner, fa101, 90, at(2027, 5, 1))
        assert complete(learner, fa102, 90, at(2027, 5, 2)) == []
        assessment = issuing.assess(learner, cert)
        assert assessment.reasons == [f"already held ({assessment.held.serial})"]
    with time_machine.travel(at(2028, 3, 1), tick=False):  # expired: old re-completions still do not count
        assert issuing.evaluate(learner) == []


def test_renewal_after_expiry_then_three_long_chain(make_course, make_certification, learner):
    course = make_course("FS-100")
    make_certification("Fire Safety", [course], validity_months=12, renewal_window_days=30)
    with time_machine.travel(at(2025, 1, 1), tick=False):
        [one] = complete(learner, course, None, at(2025, 1, 1))
    with time_machine.travel(at(2026, 3, 1), tick=False):  # expired two months ago
        [two] = complete(learner, course, None, at(2026, 2, 27))
    with time_machine.travel(at(2027, 2, 15), tick=False):
        [three] = complete(learner, course, None, at(2027, 2, 14))
    assert [c.cycle for c in (one, two, three)] == [1, 2, 3]
    assert certificates.chain(two) == [one, two, three]
    data = certificates.certificate_data(three)
    assert data["renewed_from_id"] == two.id and data["verify_url"].endswith(f"/verify/{three.code}")
