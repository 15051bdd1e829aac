"""Item 16: a side effect repeated after a crash carries the same identifier (Message-ID,
webhook-id), and the commit that records a side effect survives a dropped connection."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event, select
from sqlalchemy.exc import OperationalError

from app.database import utcnow
from app.extensions import db
from app.models import Certificate, OutboxEmail
from app.models.integration import WebhookDelivery
from app.queue import get_redis
from app.services.documents import rendering
from app.services.integrations import webhook_recovery, webhooks
from app.services.messaging import outbox
from app.services.recovery import Claims
from app.tasks import mail as mail_tasks
from app.tasks import render as render_tasks
from app.tasks.integrations import deliver
from app.tasks.outcome import commit_outcome
from tests.hardening.conftest import complete, fresh


def _queue_one(to: str = "someone@example.com") -> int:
    row = outbox.queue_email(to, "password_reset", subject="Reset your password",
                           context={"name": "Someone", "link": "http://localhost/reset-password/x"})
    db.session.commit()
    return row.id


def _row(email_id: int) -> OutboxEmail:
    return db.session.get(OutboxEmail, email_id, populate_existing=True)


def _nobody_holds() -> Claims:
    now = utcnow() + timedelta(seconds=1)
    return Claims(frozenset(), now, now)


def test_message_id_is_stored_at_creation_in_the_sender_domain():
    row = _row(_queue_one())
    assert row.message_id and row.message_id.startswith("<") and row.message_id.endswith("@laurel.local>")
    assert _row(_queue_one("b@example.com")).message_id != row.message_id


def test_mail_sent_again_after_a_crash_keeps_its_message_id(jobs, smtp_server):
    email_id = _queue_one()
    # A worker hands the mail to the server, then dies before recording it.
    row = outbox.claim(email_id)
    db.session.commit()
    outbox.send(row)
    db.session.rollback()
    assert _row(email_id).status == "sending"
    assert outbox.free_abandoned(_nobody_holds()) == {"mail_abandoned": 1}
    db.session.commit()
    jobs()
    first, second = smtp_server.wait_for(2)
    assert first["Message-ID"] == second["Message-ID"] == _row(email_id).message_id
    row = _row(email_id)
    assert (row.status, row.attempts) == ("sent", 2)


def test_failed_attempt_and_retry_use_the_same_message_id(app, jobs, smtp_server):
    email_id = _queue_one()
    row = outbox.claim(email_id)
    outbox.mark_failed(row, "ConnectionRefusedError: down")  # attempt 1 failed; retry queued
    db.session.commit()
    row = _row(email_id)
    row.next_attempt_at = utcnow()
    db.session.commit()
    mail_tasks.send_email(email_id)
    [message] = smtp_server.wait_for(1)
    assert message["Message-ID"] == _row(email_id).message_id


def test_rows_without_a_stored_message_id_get_a_stable_one(smtp_server):
    email_id = _queue_one()
    row = _row(email_id)
    row.message_id = None  # queued before the column existed
    db.session.commit()
    row = _row(email_id)
    outbox.send(row)
    outbox.send(row)
    first, second = smtp_server.wait_for(2)
    assert first["Message-ID"] == second["Message-ID"] == outbox.message_id(row)


def test_resending_a_sent_mail_gets_a_new_message_id_a_failed_one_keeps_it(jobs):
    sent_id, failed_id = _queue_one(), _queue_one("b@example.com")
    jobs()
    sent_before = _row(sent_id).message_id
    failed = _row(failed_id)
    failed.status = "failed"
    failed_before = failed.message_id
    outbox.resend(_row(sent_id), actor="test")
    outbox.resend(failed, actor="test")
    db.session.commit()
    assert _row(sent_id).message_id != sent_before
    assert _row(failed_id).message_id == failed_before


def test_webhook_delivered_again_after_a_crash_keeps_its_webhook_id(receiver, make_webhook, catalog_one,
                                                                   learner, jobs):
    _, course = catalog_one
    make_webhook(receiver.url_for("/hook"), events=["enrollment.completed"])
    complete(learner, course)
    get_redis().flushdb()  # the attempt is made by hand below
    row = db.session.scalars(select(WebhookDelivery)).one()
    claimed = webhooks.claim(row.id, 0)
    db.session.commit()
    webhooks.send_once(claimed)  # delivered, then the worker died before recording it
    db.session.rollback()
    assert webhook_recovery.free_abandoned(_nobody_holds()) == {"webhooks_abandoned": 1}
    db.session.commit()
    jobs()
    first, second = receiver.wait_for(2)
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == row.event_id
    fresh()
    row = db.session.get(WebhookDelivery, row.id)
    assert (row.status, row.attempt) == ("delivered", 2)


class _DropFirstCommits:
    """Fault injection: the next `count` commits fail as a dropped database connection would."""

    def __init__(self, count: int):
        self.count = count

    def __call__(self, session):
        if self.count > 0:
            self.count -= 1
            raise OperationalError("COMMIT", {}, Exception("server closed the connection unexpectedly"))

    def __enter__(self):
        event.listen(db.session, "before_commit", self)
        return self

    def __exit__(self, *exc):
        event.remove(db.session, "before_commit", self)


def test_commit_outcome_retries_a_dropped_connection():
    email_id = _queue_one()
    with _DropFirstCommits(2):
        assert commit_outcome(lambda: outbox.mark_sent(_row(email_id)), pause=0.01) is None
    assert _row(email_id).status == "sent"


def test_commit_outcome_gives_up_on_other_errors():
    with _DropFirstCommits(10), pytest.raises(OperationalError):
        commit_outcome(lambda: None, attempts=2, pause=0.01)


def test_mail_job_records_the_send_despite_a_dropped_connection(smtp_server, monkeypatch):
    email_id = _queue_one()
    listener = _DropFirstCommits(0)
    original = outbox.send

    def send_then_drop(r):  # the real send; then the connection drops before the record commits
        original(r)
        listener.count = 1

    monkeypatch.setattr(outbox, "send", send_then_drop)
    with listener:
        assert mail_tasks.send_email(email_id) == "sent"
    assert len(smtp_server.wait_for(1)) == 1 and _row(email_id).status == "sent"


def test_webhook_job_records_the_delivery_despite_a_dropped_connection(receiver, make_webhook, catalog_one,
                                                                       learner, monkeypatch):
    _, course = catalog_one
    make_webhook(receiver.url_for("/hook"), events=["enrollment.completed"])
    complete(learner, course)
    row = db.session.scalars(select(WebhookDelivery)).one()
    listener = _DropFirstCommits(0)
    original = webhooks.send_once

    def send_then_drop(r):
        result = original(r)
        listener.count = 1
        return result

    monkeypatch.setattr(webhooks, "send_once", send_then_drop)
    with listener:
        assert deliver(row.id, 0) == "delivered"
    assert len(receiver.wait_for(1)) == 1


def test_render_job_publishes_despite_a_dropped_connection(learner, issue, monkeypatch):
    cert = issue(learner)
    listener = _DropFirstCommits(0)
    original = rendering.produce

    def produce_then_drop(c, version):
        key = original(c, version)
        listener.count = 1
        return key

    monkeypatch.setattr(rendering, "produce", produce_then_drop)
    with listener:
        assert render_tasks.render_certificate(cert.id) == "ready"
    fresh()
    assert db.session.get(Certificate, cert.id).pdf_status == "ready"
