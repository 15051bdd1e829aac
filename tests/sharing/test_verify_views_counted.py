"""Verify-page views are counted through Redis and reach the daily counters via the sweep."""

from app.extensions import db
from app.services.sharing import engagement
from app.tasks.sweep import recover_stuck_work


def test_verify_views_are_counted_by_the_sweep(client, issue, make_user):
    certificate = issue(make_user("learner"))
    for _ in range(3):
        assert client.get(f"/verify/{certificate.code}").status_code == 200
    assert client.get("/verify/no-such-code").status_code == 404
    recover_stuck_work()
    db.session.expire_all()
    assert engagement.totals(certificate.id)["view"] == 3
    recover_stuck_work()  # nothing pending: nothing counted twice
    assert engagement.totals(certificate.id)["view"] == 3
