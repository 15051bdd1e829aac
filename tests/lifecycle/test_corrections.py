"""Corrections and reissue: same serial and code, a new version with history, the PDF made again, the
webhook, the verify page; holders' requests approved or rejected; scope and hostile inputs."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent, Certificate, CertificateVersion, CorrectionRequest, OutboxEmail
from app.services.errors import NotAllowed, ValidationError
from app.services.lifecycle import corrections, revocation
from tests.integrations.conftest import make_webhook, receiver  # noqa: F401
from tests.support.lifecycle_views import post
from tests.support.smtp import body_text


def _mails(template: str) -> list[OutboxEmail]:
    return db.session.scalars(
        select(OutboxEmail).where(OutboxEmail.template == template).order_by(OutboxEmail.id)
    ).all()


def test_reissue_keeps_serial_and_code_and_records_the_version(earn, learner, admin, captured_events):
    cert = earn(learner)
    serial, code, before = cert.serial, cert.code, dict(cert.snapshot)
    captured_events.clear()
    version = corrections.reissue(
        cert,
        {"holder_name": "Lena Lernerin", "score": 91.5},
        "Typo in the surname; score re-marked",
        actor=admin,
    )
    db.session.commit()
    fresh = db.session.get(Certificate, cert.id, populate_existing=True)
    assert (fresh.serial, fresh.code, fresh.version) == (serial, code, 2)
    assert fresh.snapshot["holder_name"] == "Lena Lernerin" and fresh.snapshot["score"] == 91.5
    assert fresh.pdf_status == "pending"  # rendered again from the corrected snapshot
    assert version.version == 2 and version.previous_snapshot == before
    assert version.changes == {"holder_name": ["Lena Learner", "Lena Lernerin"], "score": [85.0, 91.5]}
    assert version.summary == "name and score corrected" and version.actor_id == admin.id
    assert fresh.reissues[0]["summary"] == "name and score corrected"
    assert [e.type for e in captured_events] == ["certificate.reissued"]
    data = captured_events[0].data
    assert data["serial"] == serial and data["version"] == 2 and data["changed"] == ["holder_name", "score"]
    [mail] = _mails("certificate_reissued")
    assert mail.to == learner.email and "name and score corrected" in mail.text_body
    assert db.session.scalar(select(AuditEvent.action).where(AuditEvent.action == "certificate.reissued"))
    from app.models import Notification

    bell = db.session.scalar(select(Notification).where(Notification.kind == "reissued"))
    assert bell.user_id == learner.id and "name and score corrected" in bell.body


def test_reissue_renders_a_new_pdf_and_the_credential_follows(earn, learner, admin, jobs):
    from app.services.credentials import open_badges

    cert = earn(learner)
    jobs()
    first_key = db.session.get(Certificate, cert.id, populate_existing=True).pdf_key
    corrections.reissue(cert, {"holder_name": "Lena Q. Learner"}, "Middle initial", actor=admin)
    db.session.commit()
    jobs()
    fresh = db.session.get(Certificate, cert.id, populate_existing=True)
    assert fresh.pdf_status == "ready" and fresh.pdf_key and fresh.pdf_key != first_key
    version = db.session.scalar(select(CertificateVersion))
    assert version.previous_pdf_key == first_key  # the replaced PDF is recorded with the version
    assert open_badges.facts_of(fresh).holder_name == "Lena Q. Learner"


def test_completion_date_of_today_is_accepted(earn, learner, admin):
    from app.database import utcnow

    cert = earn(learner)
    today = utcnow().date()
    # Issued today: today is a valid completion date (never "in the future" before noon UTC).
    version = corrections.reissue(cert, {"completed_on": today.isoformat(), "holder_name": "Lena L."},
                                  "Paper register", actor=admin)
    db.session.commit()
    assert corrections.current_values(cert)["completed_on"] == today
    assert list(version.changes) == ["holder_name"]


def test_a_double_click_makes_one_version(earn, learner, admin):
    cert = earn(learner)
    corrections.reissue(cert, {"holder_name": "Lena Lernerin"}, "Typo", actor=admin)
    db.session.commit()
    with pytest.raises(ValidationError):  # the same values again: nothing left to change
        corrections.reissue(cert, {"holder_name": "Lena Lernerin"}, "Typo", actor=admin)
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(CertificateVersion)) == 1


def test_verify_page_shows_the_reissue_and_history(earn, learner, admin, anon_client):
    cert = earn(learner)
    corrections.reissue(cert, {"holder_name": "Lena Lernerin"}, "Typo in the surname", actor=admin)
    db.session.commit()
    html = anon_client.get(f"/verify/{cert.code}").get_data(as_text=True)
    assert "Lena Lernerin" in html and cert.serial in html
    assert "Reissued on" in html and "(name corrected)" in html
    data = anon_client.get(f"/verify/{cert.code}.json").get_json()
    assert data["reissues"][0]["summary"] == "name corrected" and data["holder"] == "Lena Lernerin"


def test_reissued_webhook_reaches_the_receiver(earn, learner, admin, receiver, make_webhook, jobs):  # noqa: F811
    make_webhook(receiver.url_for("/hook"), events=("certificate.reissued",))
    cert = earn(learner)
    corrections.reissue(cert, {"completed_on": "2026-01-02"}, "Date from the paper register", actor=admin)
    db.session.commit()
    jobs()
    [request] = receiver.wait_for(1)
    body = request.json()
    assert body["type"] == "certificate.reissued"
    assert body["data"]["code"] == cert.code and body["data"]["summary"] == "completion date corrected"


def test_refusals_and_hostile_values(earn, learner, admin):
    cert = earn(learner)
    bad = [
        ({"holder_name": ""}, "holder_name"),
        ({"holder_name": "x" * 201}, "holder_name"),
        ({"holder_name": "Lena\x00"}, "holder_name"),
        ({"holder_name": "Lena\u2028L"}, "holder_name"),
        ({"score": 101}, "score"),
        ({"score": "NaN"}, "score"),
        ({"score": 10**40}, "score"),
        ({"completed_on": "1999-12-31"}, "completed_on"),
        ({"completed_on": "2999-01-01"}, "completed_on"),
        ({"completed_on": "not a date"}, "completed_on"),
        ({}, "holder_name"),
    ]
    for values, field in bad:
        with pytest.raises(ValidationError) as info:
            corrections.reissue(cert, values, "why", actor=admin)
        assert field in info.value.errors, (values, info.value.errors)
        db.session.rollback()
    for reason in ("", "   ", "x" * 1001, None, "bad\x07"):
        with pytest.raises(ValidationError):
            corrections.reissue(cert, {"holder_name": "New"}, reason, actor=admin)
        db.session.rollback()
    revocation.revoke(cert, "Fraud", actor=admin)
    db.session.commit()
    with pytest.raises(NotAllowed):
        corrections.reissue(cert, {"holder_name": "New"}, "why", actor=admin)
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(CertificateVersion)) == 0


def test_request_approve_reissues_and_mails(earn, learner, admin, jobs, smtp_server):
    cert = earn(learner)
    req = corrections.request_correction(
        cert, {"holder_name": "Lena Lernerin"}, "My name is misspelt", user=learner
    )
    db.session.commit()
    with pytest.raises(NotAllowed):  # one open request per certificate
        corrections.request_correction(cert, {"score": 99}, "again", user=learner)
    db.session.rollback()
    version = corrections.approve(req, actor=admin)
    db.session.commit()
    with pytest.raises(NotAllowed):  # approving twice (a double click) reissues once
        corrections.approve(req, actor=admin)
    db.session.rollback()
    assert req.status == "approved" and req.version_id == version.id and version.version == 2
    assert db.session.get(Certificate, cert.id).snapshot["holder_name"] == "Lena Lernerin"
    jobs()
    sent = [m for m in smtp_server.messages if m["To"] == learner.email and "corrected" in m["Subject"]]
    assert len(sent) == 1 and "As you asked" in body_text(sent[0])


def test_request_reject_tells_the_holder(earn, learner, admin, jobs, smtp_server):
    cert = earn(learner)
    req = corrections.request_correction(cert, {"score": 99}, "I scored higher", user=learner)
    db.session.commit()
    with pytest.raises(ValidationError):
        corrections.reject(req, "", actor=admin)
    db.session.rollback()
    corrections.reject(req, "The exam record shows 85.", actor=admin)
    db.session.commit()
    assert req.status == "rejected" and db.session.get(Certificate, cert.id).version == 1
    jobs()
    [message] = [m for m in smtp_server.messages if "correction request" in m["Subject"]]
    assert "The exam record shows 85." in body_text(message)


def test_another_learners_certificate_is_404(earn, learner, make_user, login_as, admin):
    cert = earn(learner)
    other = make_user("learner", name="Omar Other")
    client = login_as(other)
    assert client.get(f"/me/certificates/{cert.id}/correction").status_code == 404
    response = post(
        client, f"/me/certificates/{cert.id}/correction", {"holder_name": "X", "reason": "r"}, htmx=False
    )
    assert response.status_code == 404
    api = client.post(
        f"/api/v1/certificates/{cert.id}/correction-requests",
        json={"holder_name": "X", "reason": "r"},
        headers={"X-CSRFToken": client.csrf_token},
    )
    assert api.status_code == 404
    assert db.session.scalar(select(func.count()).select_from(CorrectionRequest)) == 0


def test_manager_out_of_scope_is_404(earn, learner, make_user, login_as):
    from app.services.accounts import departments

    cert = earn(learner)  # Nursing
    manager = make_user("manager", name="Mo Manager")
    departments.set_managers(departments.find_or_create("Engineering", actor="test"), [manager], actor="test")
    db.session.commit()
    client = login_as(manager)
    response = post(
        client, f"/certificates/{cert.id}/reissue", {"holder_name": "X", "reason": "r"}, htmx=False
    )
    assert response.status_code == 404
    req = corrections.request_correction(cert, {"score": 90}, "why", user=learner)
    db.session.commit()
    assert post(client, f"/certificates/corrections/{req.id}/approve", htmx=False).status_code == 404
    assert req.id and cert.serial not in client.get("/certificates/corrections").get_data(as_text=True)
    api = client.post(
        "/api/v1/certificates/expiry",
        headers={"X-CSRFToken": client.csrf_token},
        json={"certificate_ids": [cert.id], "mode": "extend_days", "amount": 5, "reason": "r"},
    )
    assert api.status_code == 404


def test_pages_flow(earn, learner, admin, login_as):
    cert = earn(learner)
    holder = login_as(learner)
    assert "Ask for a correction" in holder.get("/me/certificates").get_data(as_text=True)
    page = holder.get(f"/me/certificates/{cert.id}/correction")
    assert page.status_code == 200 and "Lena Learner" in page.get_data(as_text=True)
    bad = post(
        holder,
        f"/me/certificates/{cert.id}/correction",
        {"holder_name": "Lena Learner", "reason": "x"},
        htmx=False,
    )
    assert bad.status_code == 422 and "nothing to correct" in bad.get_data(as_text=True)
    done = post(
        holder,
        f"/me/certificates/{cert.id}/correction",
        {"holder_name": "Lena Lernerin", "reason": "Spelling"},
        htmx=False,
    )
    assert done.status_code == 302
    staff_side = login_as(admin)
    assert "Correction requests" in staff_side.get("/certificates").get_data(as_text=True)
    queue = staff_side.get("/certificates/corrections").get_data(as_text=True)
    assert cert.serial in queue and "Lena Lernerin" in queue
    req = db.session.scalar(select(CorrectionRequest))
    assert post(staff_side, f"/certificates/corrections/{req.id}/approve", htmx=False).status_code == 302
    detail = staff_side.get(f"/certificates/{cert.id}").get_data(as_text=True)
    assert "Version 2" in detail and "name corrected" in detail
    fix = post(
        staff_side,
        f"/certificates/{cert.id}/reissue",
        {"holder_name": "Lena Lernerin", "completed_on": "2999-01-01", "reason": "r"},
        htmx=False,
    )
    assert fix.status_code == 422


def test_api_reissue_and_requests(earn, learner, admin, admin_token, login_as):
    cert = earn(learner)
    auth = {"Authorization": f"Bearer {admin_token}"}
    from flask import current_app

    client = current_app.test_client()
    response = client.post(
        f"/api/v1/certificates/{cert.id}/reissue",
        headers=auth,
        json={"holder_name": "Lena Lernerin", "reason": "Typo"},
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["version"] == 2 and response.get_json()["certificate"]["code"] == cert.code
    again = client.post(
        f"/api/v1/certificates/{cert.id}/reissue",
        headers=auth,
        json={"holder_name": "Lena Lernerin", "reason": "Typo"},
    )
    assert again.status_code == 422
    for body in (
        {"reason": "x", "holder_name": "a", "holder_name2": 1},
        {"holder_name": "a"},
        {"reason": "x" * 1001, "holder_name": "a"},
        {"reason": "x", "score": 1e308},
        {"reason": "x", "completed_on": "2026-13-45"},
    ):
        assert (
            client.post(f"/api/v1/certificates/{cert.id}/reissue", headers=auth, json=body).status_code == 422
        )
    assert (
        client.post(
            "/api/v1/certificates/999999999/reissue", headers=auth, json={"holder_name": "a", "reason": "x"}
        ).status_code
        == 404
    )
    holder = login_as(learner)
    created = holder.post(
        f"/api/v1/certificates/{cert.id}/correction-requests",
        json={"score": 90, "reason": "Re-marked"},
        headers={"X-CSRFToken": holder.csrf_token},
    )
    assert created.status_code == 201, created.get_json()
    listed = client.get("/api/v1/correction-requests?status=pending", headers=auth).get_json()
    assert [r["id"] for r in listed["items"]] == [created.get_json()["id"]]
    rejected = client.post(
        f"/api/v1/correction-requests/{created.get_json()['id']}/reject", headers=auth, json={"note": "No"}
    )
    assert rejected.status_code == 200 and rejected.get_json()["status"] == "rejected"
    versions = holder.get(f"/api/v1/certificates/{cert.id}/versions").get_json()
    assert [v["version"] for v in versions["items"]] == [2]
    assert date.fromisoformat(versions["items"][0]["created_at"][:10])


def test_racing_reissues_make_one_version(app, earn, learner, admin):
    """Six identical corrections at once (PostgreSQL: real concurrent transactions): one version."""
    from tests.lifecycle.test_concurrency import THREADS, _race

    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite serialises writers with a database lock: the race needs PostgreSQL")
    import threading

    cert_id, admin_id = earn(learner).id, admin.id
    start = threading.Barrier(THREADS, timeout=30)

    def correct(i: int):
        from app.models import User

        cert, actor = db.session.get(Certificate, cert_id), db.session.get(User, admin_id)
        start.wait()
        try:
            return corrections.reissue(cert, {"holder_name": "Lena Lernerin"}, "Typo", actor=actor).version
        except ValidationError:
            db.session.rollback()
            return None

    results = _race(app, correct)
    assert sorted(results, key=lambda v: v or 0) == [None] * (THREADS - 1) + [2]
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(CertificateVersion)) == 1
    assert len(_mails("certificate_reissued")) == 1
