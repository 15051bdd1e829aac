"""Recertification: when the renewal window opens, holders of an auto re-enrolling certification are put
back on its courses once (the daily job running twice re-enrols once) and told by mail; renewal then
works as it always did."""

from __future__ import annotations

from datetime import timedelta

from dateutil.relativedelta import relativedelta
from sqlalchemy import delete, func, select

from app.database import utcnow
from app.extensions import db
from app.models import AuditEvent, Certificate, Completion, Enrollment, OutboxEmail
from app.services.lifecycle import catalog, enrollment, recertification
from app.tasks import daily


def _auto(first_aid, on: bool = True):
    cert, fa101, fa102 = first_aid
    catalog.update_certification(cert, {"auto_reenrol": on}, actor="test")
    db.session.commit()
    return cert, fa101, fa102


def _in_window(earn, learner):
    # First Aid (tests/support/catalog_fixtures.py): the window opens before expiry; issue it long enough ago.
    return earn(learner, age=relativedelta(months=24, days=-30))


def test_reenrols_once_even_when_the_daily_job_runs_twice(first_aid, earn, learner, jobs, smtp_server):
    _, fa101, fa102 = _auto(first_aid)
    cert = _in_window(earn, learner)
    assert cert.status == "expiring"
    first = daily.run_steps(utcnow())
    second = daily.run_steps(utcnow())
    assert first["reenrolled"] == 1 and second["reenrolled"] == 0
    rows = db.session.scalars(
        select(Enrollment).where(Enrollment.user_id == learner.id).execution_options(populate_existing=True)
    ).all()
    assert {(r.course_id, r.status, r.progress) for r in rows} == {
        (fa101.id, "enrolled", 0),
        (fa102.id, "enrolled", 0),
    }
    assert db.session.get(Certificate, cert.id).reenrolled_at is not None
    assert (
        db.session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "certificate.reenrolled")
        )
        == 1
    )
    [mail] = db.session.scalars(
        select(OutboxEmail).where(OutboxEmail.template == "recertification_enrolled")
    ).all()
    assert mail.to == learner.email and "FA-101" in mail.text_body
    jobs()
    assert any("Renew your" in m["Subject"] for m in smtp_server.messages)


def test_completing_again_renews_as_before(first_aid, earn, learner):
    _, fa101, fa102 = _auto(first_aid)
    old = _in_window(earn, learner)
    recertification.reenrol_due()
    db.session.commit()
    enrollment.record_completion(learner, fa101, score=90, actor="test")
    [renewed] = enrollment.record_completion(learner, fa102, score=90, actor="test")
    db.session.commit()
    assert renewed.renewed_from_id == old.id and renewed.cycle == old.cycle + 1
    recertification.reenrol_due()  # the new certificate is far from its window: nothing happens
    db.session.commit()
    assert db.session.get(Certificate, renewed.id).reenrolled_at is None


def test_not_without_the_setting_nor_outside_the_window_nor_revoked(first_aid, earn, learner, make_user):
    from app.services.lifecycle import revocation

    _in_window(earn, learner)
    assert recertification.reenrol_due() == 0  # the setting is off
    _auto(first_aid)
    earn(make_user("learner"))  # valid, window not open
    revoked = _in_window(earn, make_user("learner"))
    revocation.revoke(revoked, "Fraud", actor="test")
    _in_window(earn, make_user("learner", active=False))  # a deactivated account
    db.session.commit()
    assert recertification.reenrol_due() == 1  # only the first learner's
    db.session.commit()


def test_missing_enrollment_is_created_and_in_progress_left_alone(first_aid, earn, learner):
    _, fa101, fa102 = _auto(first_aid)
    cert = _in_window(earn, learner)
    gone = db.session.scalar(select(Enrollment.id).where(Enrollment.course_id == fa102.id))
    db.session.execute(delete(Completion).where(Completion.enrollment_id == gone))
    db.session.execute(delete(Enrollment).where(Enrollment.id == gone))
    db.session.expire_all()
    running = db.session.scalar(select(Enrollment).where(Enrollment.course_id == fa101.id))
    running.status, running.progress = "in_progress", 40
    db.session.commit()
    assert recertification.reenrol_due(now=utcnow() + timedelta(minutes=1)) == 1
    db.session.commit()
    rows = {
        r.course_id: r
        for r in db.session.scalars(select(Enrollment).execution_options(populate_existing=True))
    }
    assert (rows[fa101.id].status, rows[fa101.id].progress) == ("in_progress", 40)
    assert rows[fa102.id].status == "enrolled" and rows[fa102.id].source == "renewal"
    assert cert.id


def test_setting_on_the_certification_form_and_api(first_aid, login_as, admin, admin_token, app):
    cert, _, _ = first_aid
    client = app.test_client()
    response = client.patch(
        f"/api/v1/certifications/{cert.id}",
        json={"auto_reenrol": True},
        headers={"Authorization": f"Bearer {admin_token}"},
    )
    assert response.status_code == 200 and response.get_json()["auto_reenrol"] is True
    bad = client.patch(
        f"/api/v1/certifications/{cert.id}",
        json={"auto_reenrol": "maybe"},
        headers={"Authorization": f"Bearer {admin_token}"},
    )
    assert bad.status_code == 422
    page = login_as(admin).get("/certifications").get_data(as_text=True)
    assert "Re-enrol automatically" in page
