"""Item 18: RQ's scheduler keeps whole seconds (rounded down), so a delayed job fired up to a second
before its row was due and the mail claim skipped it. Every delayed job (mail, webhook delivery, PDF
export and render retries) is now scheduled no earlier than its row is due, and the mail claim
tolerates a job that fires a little early anyway (clock differences between hosts)."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta

import time_machine
from rq.registry import ScheduledJobRegistry
from sqlalchemy import select

from app.database import utcnow
from app.extensions import db
from app.models import Certificate, OutboxEmail
from app.models.integration import ExportedPdf, WebhookDelivery
from app.queue import fire_time, get_queue
from app.services.documents import rendering
from app.services.integrations import registry
from app.services.messaging import outbox
from app.tasks import mail as mail_tasks
from app.tasks.render import render_certificate
from tests.hardening.conftest import complete, fresh
from tests.support.smtp import _free_port


def scheduled_at(queue: str, job_id: str) -> datetime:
    return ScheduledJobRegistry(queue=get_queue(queue)).get_scheduled_time(job_id)


def _queue_one() -> int:
    row = outbox.queue_email("someone@example.com", "password_reset", subject="Reset your password",
                           context={"name": "Someone", "link": "http://localhost/reset-password/x"})
    db.session.commit()
    return row.id


def _row(email_id: int) -> OutboxEmail:
    return db.session.get(OutboxEmail, email_id, populate_existing=True)


def test_fire_time_rounds_up_to_the_whole_second():
    now = datetime(2026, 12, 1, 10, 0, 5, 300000, tzinfo=UTC)
    assert fire_time(timedelta(seconds=10), now) == datetime(2026, 12, 1, 10, 0, 16, tzinfo=UTC)
    exact = datetime(2026, 12, 1, 10, 0, 5, tzinfo=UTC)
    assert fire_time(timedelta(seconds=10), exact) == datetime(2026, 12, 1, 10, 0, 15, tzinfo=UTC)


def _fail_first_mail_attempt(app, jobs, monkeypatch) -> int:
    with monkeypatch.context() as patch:
        port = _free_port()  # nobody listens there: connection refused
        patch.setitem(app.config, "MAIL_PORT", port)
        patch.setattr(app.extensions["mail"], "port", port)
        email_id = _queue_one()
        jobs()
    row = _row(email_id)
    assert row.status == "queued" and row.attempts == 1 and row.next_attempt_at > utcnow()
    return email_id


def test_mail_retry_is_scheduled_no_earlier_than_the_row_is_due(app, jobs, monkeypatch):
    email_id = _fail_first_mail_attempt(app, jobs, monkeypatch)
    assert scheduled_at("high", f"mail-{email_id}-1") >= _row(email_id).next_attempt_at


def test_mail_retry_fired_at_its_scheduled_second_is_sent(app, jobs, monkeypatch, smtp_server):
    email_id = _fail_first_mail_attempt(app, jobs, monkeypatch)
    monkeypatch.setitem(app.config, "JOB_EARLY_TOLERANCE_SECONDS", 0)  # rounding up alone suffices
    with time_machine.travel(scheduled_at("high", f"mail-{email_id}-1"), tick=False):
        assert mail_tasks.send_email(email_id) == "sent"
    assert len(smtp_server.wait_for(1)) == 1


def test_mail_job_fired_a_little_early_still_sends(app, smtp_server):
    email_id = _queue_one()
    row = _row(email_id)
    row.next_attempt_at = utcnow() + timedelta(seconds=0.9)  # what whole-second rounding did
    db.session.commit()
    assert mail_tasks.send_email(email_id) == "sent"
    assert len(smtp_server.wait_for(1)) == 1


def test_mail_job_fired_far_too_early_sends_nothing(app, smtp_server):
    email_id = _queue_one()
    row = _row(email_id)
    row.next_attempt_at = utcnow() + timedelta(seconds=30)
    db.session.commit()
    assert mail_tasks.send_email(email_id) == "skipped"
    assert _row(email_id).status == "queued"


def test_webhook_retry_is_scheduled_no_earlier_than_the_row_is_due(receiver, make_webhook, catalog_one,
                                                                   learner, jobs):
    _, course = catalog_one
    receiver.script(500)
    make_webhook(receiver.url_for("/hook"), events=["enrollment.completed"])
    complete(learner, course)
    jobs()
    fresh()
    row = db.session.scalars(select(WebhookDelivery)).one()
    assert row.status == "failed" and row.attempt == 1
    assert scheduled_at("default", f"whd-{row.id}-1") >= row.next_attempt_at


def test_pdf_export_retry_is_scheduled_no_earlier_than_the_row_is_due(tmp_path, learner, issue, jobs):
    out = tmp_path / "archive"
    out.mkdir()
    integration, _ = registry.create("pdf_export", {"name": "Archive", "location": "folder",
                                                        "folder": str(out)}, actor="test")
    registry.set_active(integration, True, actor="test")
    db.session.commit()
    shutil.rmtree(out)  # the destination disappears: the copy fails and is retried later
    cert = issue(learner)
    assert render_certificate(cert.id) == "ready"
    jobs()
    fresh()
    row = db.session.scalars(select(ExportedPdf)).one()
    assert row.status == "pending" and row.attempts == 1 and row.last_error
    assert scheduled_at("low", f"pdfx-{row.id}-1") >= row.next_attempt_at


def test_render_retry_is_scheduled_no_earlier_than_its_backoff(learner, issue):
    cert = issue(learner)
    version = rendering.claim(cert.id)
    db.session.commit()
    failed_at = utcnow()
    assert rendering.mark_failed(cert.id, version, "storage down", try_number=1, retryable=True) == "retrying"
    db.session.commit()
    cert = db.session.get(Certificate, cert.id, populate_existing=True)
    due = failed_at + timedelta(seconds=rendering.BACKOFF_SECONDS[0])
    assert scheduled_at("render", f"pdf-{cert.id}-{cert.pdf_attempts}-2") >= due
