from app.extensions import db
from app.services import enrollment, issuing
from tests.lifecycle.conftest import at


def test_first_aid_issues_once(first_aid, learner):
    cert, fa101, fa102 = first_aid
    assert enrollment.record_completion(learner, fa101, score=80, completed_at=at(2026, 1, 5),
                                        actor="test") == []
    reasons = issuing.assess(learner, cert).reasons
    assert reasons == ["missing FA-102"]
    issued = enrollment.record_completion(learner, fa102, score=75, completed_at=at(2026, 1, 6), actor="test")
    db.session.commit()
    assert len(issued) == 1
    c = issued[0]
    assert c.serial.startswith("LAU-")
    assert c.snapshot["score"] == 77.5
