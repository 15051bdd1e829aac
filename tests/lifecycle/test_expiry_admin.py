"""Expiry administration: bulk extend or set the expiry, all or nothing, audited per certificate, holders
mailed, reminders recomputed; constant statements for 1 or 200 certificates; hostile inputs."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, insert, select

from app.database import utcnow
from app.extensions import db
from app.models import AuditEvent, Certificate, OutboxEmail, ReminderSent, User
from app.services.errors import ValidationError
from app.services.lifecycle import expiry, reminders, revocation
from tests.support.lifecycle_views import post


def _change(**fields) -> expiry.Change:
    return expiry.clean_change({"reason": "Grace period for the audit", **fields})


def test_extend_by_days_moves_expiry_window_and_mails(earn, learner, admin, jobs, smtp_server):
    cert = earn(learner)
    old_expiry, old_window = cert.expires_at, cert.expires_at - cert.renewal_opens_at
    certs = expiry.lock_certificates([cert.id])
    assert expiry.change_expiry(certs, _change(mode="extend_days", amount=30), actor=admin) == 1
    db.session.commit()
    fresh = db.session.get(Certificate, cert.id, populate_existing=True)
    assert fresh.expires_at == old_expiry + timedelta(days=30)
    assert fresh.expires_at - fresh.renewal_opens_at == old_window and fresh.expiry_set_at is not None
    row = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "certificate.expiry_changed"))
    assert row.subject_id == str(cert.id) and row.data["reason"] == "Grace period for the audit"
    jobs()
    [message] = [m for m in smtp_server.messages if "expiry" in m["Subject"]]
    assert message["To"] == learner.email


def test_set_date_and_months(earn, learner, admin):
    cert = earn(learner)
    target = (utcnow() + timedelta(days=400)).date()
    expiry.change_expiry(
        expiry.lock_certificates([cert.id]),
        _change(mode="set_date", expires_on=target.isoformat()),
        actor=admin,
    )
    db.session.commit()
    assert db.session.get(Certificate, cert.id, populate_existing=True).expires_at.date() == target
    expiry.change_expiry(
        expiry.lock_certificates([cert.id]), _change(mode="extend_months", amount=2), actor=admin
    )
    db.session.commit()
    assert (
        db.session.get(Certificate, cert.id, populate_existing=True).expires_at.date().month
        == (target.month + 1) % 12 + 1
    )


def test_refusals_change_nothing(earn, learner, make_user, admin):
    good = earn(learner)
    bad = earn(make_user("learner"))
    revocation.revoke(bad, "Fraud", actor=admin)
    db.session.commit()
    before = {c.id: c.expires_at for c in db.session.scalars(select(Certificate))}
    with pytest.raises(ValidationError) as info:
        expiry.change_expiry(
            expiry.lock_certificates([good.id, bad.id]), _change(mode="extend_days", amount=5), actor=admin
        )
    assert "revoked" in info.value.errors["certificate_ids"]
    db.session.rollback()
    with pytest.raises(ValidationError) as info:  # before the issue date
        expiry.change_expiry(
            expiry.lock_certificates([good.id]),
            _change(mode="set_date", expires_on="2001-01-01"),
            actor=admin,
        )
    assert "issue date" in info.value.errors["expires_on"]
    db.session.rollback()
    with pytest.raises(ValidationError):  # more than 50 years ahead
        expiry.change_expiry(
            expiry.lock_certificates([good.id]),
            _change(mode="set_date", expires_on="2999-01-01"),
            actor=admin,
        )
    db.session.rollback()
    assert {
        c.id: c.expires_at
        for c in db.session.scalars(select(Certificate).execution_options(populate_existing=True))
    } == before
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(OutboxEmail)
            .where(OutboxEmail.template == "certificate_expiry_changed")
        )
        == 0
    )


@pytest.mark.parametrize(
    "fields, field",
    [
        ({"mode": "extend_days", "amount": 0}, "amount"),
        ({"mode": "extend_days", "amount": 3651}, "amount"),
        ({"mode": "extend_months", "amount": 121}, "amount"),
        ({"mode": "extend_days", "amount": 2**63}, "amount"),
        ({"mode": "extend_days", "amount": "1e3"}, "amount"),
        ({"mode": "extend_days"}, "amount"),
        ({"mode": "set_date"}, "expires_on"),
        ({"mode": "set_date", "expires_on": "31/12/2030"}, "expires_on"),
        ({"mode": "explode"}, "mode"),
        ({"mode": "extend_days", "amount": 1, "reason": ""}, "reason"),
        ({"mode": "extend_days", "amount": 1, "reason": "x" * 1001}, "reason"),
        ({"mode": "extend_days", "amount": 1, "reason": "a\x1bb"}, "reason"),
    ],
)
def test_hostile_change_values(fields, field):
    with pytest.raises(ValidationError) as info:
        expiry.clean_change({"reason": "ok", **fields})
    assert field in info.value.errors


def test_reminders_start_over_after_an_extension(earn, learner, admin):
    from dateutil.relativedelta import relativedelta

    cert = earn(learner, age=relativedelta(months=24, days=-20))  # expires in 20 days
    assert reminders.send_due_reminders() == 1  # the 30-day reminder
    db.session.commit()
    expiry.change_expiry(
        expiry.lock_certificates([cert.id]), _change(mode="extend_days", amount=200), actor=admin
    )
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(ReminderSent)) == 0  # no longer due: forgotten
    later = db.session.get(Certificate, cert.id, populate_existing=True).expires_at - timedelta(days=25)
    assert reminders.send_due_reminders(now=later) == 1  # the 30-day reminder of the new date goes out again
    db.session.commit()
    keys = db.session.scalars(
        select(OutboxEmail.dedupe_key)
        .where(OutboxEmail.template == "certificate_reminder")
        .order_by(OutboxEmail.id)
    ).all()
    assert len(keys) == 2 and keys[0] != keys[1]


def test_an_expired_certificate_extended_is_announced_again_when_it_expires(earn, learner, admin):
    from dateutil.relativedelta import relativedelta

    cert = earn(learner, age=relativedelta(months=24, days=3))
    assert reminders.notify_expired() == 1
    db.session.commit()
    expiry.change_expiry(
        expiry.lock_certificates([cert.id]), _change(mode="extend_days", amount=30), actor=admin
    )
    db.session.commit()
    fresh = db.session.get(Certificate, cert.id, populate_existing=True)
    assert fresh.status == "expiring" and fresh.expired_notified_at is None  # 27 days left: in the window
    assert reminders.notify_expired(now=fresh.expires_at + timedelta(hours=1)) == 1


def _many(earn, learner, n: int) -> list[int]:
    """n certificates of the same holder: one earned, the rest copies with their own serial and code."""
    first = earn(learner)
    table = Certificate.__table__
    rows = [
        {
            "user_id": learner.id,
            "certification_id": first.certification_id,
            "cycle": 100 + i,
            "code": f"bulk-{i:05d}",
            "serial": f"LAU-BULK-{i:05d}",
            "issued_at": first.issued_at,
            "expires_at": first.expires_at,
            "renewal_opens_at": first.renewal_opens_at,
            "snapshot": first.snapshot,
            "version": 1,
            "reissues": [],
        }
        for i in range(n - 1)
    ]
    if rows:
        db.session.execute(insert(table), rows)
    db.session.commit()
    return list(db.session.scalars(select(Certificate.id).order_by(Certificate.id)))


@pytest.mark.parametrize("n", [1, 200])
def test_bulk_statements_do_not_grow(earn, learner, admin, statements, n):
    ids = _many(earn, learner, n)
    db.session.expire_all()
    db.session.get(User, admin.id)
    statements.clear()
    certs = expiry.lock_certificates(ids)
    assert expiry.change_expiry(certs, _change(mode="extend_days", amount=10), actor=admin) == n
    db.session.commit()
    counted = [s for s in statements if not s.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "BEGIN"))]
    from collections import Counter

    assert len(counted) <= 14, Counter(s[:90] for s in counted).most_common(
        5
    )  # the same handful of statements for 1 and for 200
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "certificate.expiry_changed")
        )
        == n
    )
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(OutboxEmail)
            .where(OutboxEmail.template == "certificate_expiry_changed")
        )
        == n
    )


def test_list_checkboxes_and_form(earn, learner, make_user, login_as, admin):
    mine = earn(learner)
    other = earn(make_user("learner", name="Omar Other"))
    client = login_as(admin)
    html = client.get("/certificates").get_data(as_text=True)
    assert 'name="certificate_ids"' in html and 'id="expiry-form"' in html
    response = post(
        client,
        "/certificates/expiry",
        {
            "certificate_ids": [mine.id, other.id],
            "mode": "extend_days",
            "amount": "7",
            "reason": "Audit grace",
            "back": "/certificates?q=lena",
        },
        htmx=False,
    )
    assert response.status_code == 302 and response.headers["Location"].endswith("/certificates?q=lena")
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "certificate.expiry_changed")
        )
        == 2
    )
    nothing = post(
        client,
        "/certificates/expiry",
        {
            "certificate_ids": [mine.id],
            "mode": "extend_days",
            "amount": "7",
            "reason": "",
            "back": "https://evil.example",
        },
        htmx=False,
    )
    assert nothing.status_code == 302 and nothing.headers["Location"].endswith("/certificates")
    assert (
        post(
            client,
            "/certificates/expiry",
            {"certificate_ids": ["999999"], "mode": "extend_days", "amount": "1", "reason": "r"},
            htmx=False,
        ).status_code
        == 404
    )
    assert (
        post(
            client,
            "/certificates/expiry",
            {"certificate_ids": ["abc"], "mode": "extend_days", "amount": "1", "reason": "r"},
            htmx=False,
        ).status_code
        < 500
    )
    assert login_as(make_user("staff")).post("/certificates/expiry").status_code in (400, 403)


def test_api_bulk_expiry(earn, learner, admin_token, app):
    cert = earn(learner)
    before = cert.expires_at.isoformat()
    client = app.test_client()
    auth = {"Authorization": f"Bearer {admin_token}"}
    response = client.post(
        "/api/v1/certificates/expiry",
        headers=auth,
        json={"certificate_ids": [cert.id], "mode": "extend_months", "amount": 6, "reason": "Audit"},
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["changed"] == 1
    assert response.get_json()["certificates"][0]["expires_at"] > before
    for body in (
        {"certificate_ids": [], "mode": "extend_days", "amount": 1, "reason": "r"},
        {"certificate_ids": [cert.id], "mode": "extend_days", "amount": 1},
        {"certificate_ids": [cert.id] * 1001, "mode": "extend_days", "amount": 1, "reason": "r"},
        {"certificate_ids": [cert.id], "mode": "extend_days", "amount": 99999, "reason": "r"},
    ):
        assert client.post("/api/v1/certificates/expiry", headers=auth, json=body).status_code == 422
    assert (
        client.post(
            "/api/v1/certificates/expiry",
            headers=auth,
            json={"certificate_ids": [2**31 - 1], "mode": "extend_days", "amount": 1, "reason": "r"},
        ).status_code
        == 404
    )
