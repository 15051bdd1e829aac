"""The mail outbox: recovery from a flushed Redis, SMTP outages, retries and the resend button."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta

import time_machine

from app.extensions import db
from app.models import OutboxEmail
from app.queue import get_queue, get_redis
from app.services.messaging import outbox
from app.tasks.sweep import recover_stuck_work
from tests.support.web import htmx_headers


def _queue_one(to: str = "someone@example.com") -> int:
    row = outbox.queue_email(to, "password_reset", subject="Reset your password",
                             context={"name": "Someone", "link": "http://localhost/reset-password/x"})
    db.session.commit()
    return row.id


def _row(email_id: int) -> OutboxEmail:
    return db.session.get(OutboxEmail, email_id, populate_existing=True)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # nobody listens once the socket is closed


def _smtp_down(app, monkeypatch):
    """Point the mailer at a closed port (Flask-Mail copies MAIL_PORT at init, so patch both)."""
    port = _closed_port()
    monkeypatch.setitem(app.config, "MAIL_PORT", port)
    monkeypatch.setattr(app.extensions["mail"], "port", port)


def test_commit_enqueues_and_the_worker_sends(jobs, smtp_server):
    email_id = _queue_one()
    assert get_queue("high").count == 1
    jobs()
    [message] = smtp_server.wait_for(1)
    assert message["Subject"] == "Reset your password"
    assert message["Message-ID"].endswith("@laurel.local>")
    row = _row(email_id)
    assert (row.status, row.attempts, row.last_error) == ("sent", 1, None) and row.sent_at is not None


def test_rollback_enqueues_nothing():
    outbox.queue_email("x@example.com", "password_reset", subject="s", context={"name": "x", "link": "l"})
    db.session.rollback()
    assert get_queue("high").count == 0


def test_flushed_redis_is_recovered_by_the_sweep_exactly_once(jobs, smtp_server):
    email_id = _queue_one()
    get_redis().flushdb()  # the job is lost
    jobs()
    assert smtp_server.messages == []
    assert _row(email_id).status == "queued"

    assert recover_stuck_work()["mail"] == 1
    jobs()
    assert len(smtp_server.wait_for(1)) == 1

    # Running the sweep and the worker again sends nothing more.
    assert recover_stuck_work()["mail"] == 0
    jobs()
    assert len(smtp_server.messages) == 1
    assert _row(email_id).attempts == 1


def test_duplicate_jobs_send_once(jobs, smtp_server):
    email_id = _queue_one()
    recover_stuck_work()  # same job id: collapses; a different one would still be refused by claim()
    get_queue("high").enqueue(outbox.SEND_JOB, email_id, job_id="an-extra-copy")
    jobs()
    assert len(smtp_server.messages) == 1


def test_stuck_sending_rows_are_recovered(jobs, smtp_server):
    email_id = _queue_one()
    get_redis().flushdb()
    row = _row(email_id)
    row.status, row.sending_since = "sending", datetime.now(UTC)  # a worker died mid-send
    db.session.commit()
    assert recover_stuck_work()["mail"] == 0  # too recent: maybe still sending
    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=16)):
        assert recover_stuck_work()["mail"] == 1
        jobs()
    assert len(smtp_server.wait_for(1)) == 1 and _row(email_id).status == "sent"


def test_smtp_down_then_back_delivers_once(app, jobs, smtp_server, monkeypatch):
    with monkeypatch.context() as patch:
        _smtp_down(app, patch)
        email_id = _queue_one()
        jobs()
        row = _row(email_id)
        assert row.status == "queued" and row.attempts == 1
        assert "ConnectionRefusedError" in row.last_error or "refused" in row.last_error.lower()
        assert row.next_attempt_at > datetime.now(UTC)  # backoff
        assert smtp_server.messages == []
    # The server is reachable again; once the backoff has passed the sweep re-enqueues it.
    with time_machine.travel(datetime.now(UTC) + timedelta(seconds=15)):
        assert recover_stuck_work()["mail"] == 1
        jobs()
        recover_stuck_work()
        jobs()
    assert len(smtp_server.wait_for(1)) == 1
    row = _row(email_id)
    assert (row.status, row.attempts, row.last_error) == ("sent", 2, None)


def test_gives_up_after_max_attempts_and_resend_button_delivers(app, login_as, admin, jobs, smtp_server,
                                                                monkeypatch):
    with monkeypatch.context() as patch:
        _smtp_down(app, patch)
        patch.setitem(app.config, "MAIL_MAX_ATTEMPTS", 1)
        email_id = _queue_one()
        jobs()
        row = _row(email_id)
        assert row.status == "failed" and row.last_error
    client = login_as(admin)
    page = client.get("/admin/mail?status=failed")
    assert b"someone@example.com" in page.data and b"Retry" in page.data

    response = client.post(f"/admin/mail/{email_id}/resend", headers=htmx_headers(client))
    assert response.status_code == 200
    fragment = response.get_data(as_text=True)
    assert fragment.lstrip().startswith(f'<tr id="mail-{email_id}"') and "queued" in fragment
    assert "<html" not in fragment
    # Already on its way: a second click is refused with a conflict (toast), not queued twice.
    assert client.post(f"/admin/mail/{email_id}/resend", headers=htmx_headers(client)).status_code == 409
    jobs()
    assert len(smtp_server.wait_for(1)) == 1
    assert _row(email_id).status == "sent"
    assert b"mail.resent" in client.get("/admin/audit?action=mail.").data


def test_mail_log_detail_and_search(login_as, admin, jobs):
    email_id = _queue_one("findme@example.com")
    _queue_one("other@example.com")
    jobs()
    client = login_as(admin)
    page = client.get("/admin/mail?q=findme").get_data(as_text=True)
    assert "findme@example.com" in page and "other@example.com" not in page
    fragment = client.get("/admin/mail?q=findme", headers={"HX-Request": "true"})
    assert b"<html" not in fragment.data and "HX-Request" in fragment.headers["Vary"]
    detail = client.get(f"/admin/mail/{email_id}")
    assert detail.status_code == 200 and b"reset-password/x" in detail.data
    assert client.get("/admin/mail/987654").status_code == 404


def test_no_mail_is_queued_for_a_never_delivered_address(app):
    """SCIM people without an address get `<id>@scim.invalid`: nothing is queued (it could only fail)."""
    from sqlalchemy import func, select

    before = db.session.scalar(select(func.count(OutboxEmail.id)))
    for to in ("abc@scim.invalid", " ABC@Scim.INVALID "):
        assert outbox.queue_email(to, "password_reset", subject="Reset",
                                  context={"name": "Someone", "link": "http://localhost/reset/x"}) is None
    assert db.session.scalar(select(func.count(OutboxEmail.id))) == before
