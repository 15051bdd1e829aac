"""The production AppWorker runs webhook deliveries in its own process (no fork): a receiver that never
answers is still cut off by the job's time limit (RQ's death penalty), and the sweep recovers the row."""

from __future__ import annotations

import os
import socket
import threading
from datetime import timedelta

import pytest
from rq.job import Job
from rq.registry import FailedJobRegistry
from sqlalchemy import select

from app.database import utcnow
from app.extensions import db
from app.models.integration import WebhookDelivery
from app.queue import QUEUES, get_queue, get_redis
from app.services import events
from app.services.integrations import webhook_recovery, webhooks
from app.tasks import worker as worker_module
from app.tasks.worker import IN_PROCESS_JOBS, AppWorker


class SilentServer:
    """Accepts connections, reads the request and never answers (a hung receiver)."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.accepted = threading.Event()
        self.conns: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}/hook"

    def _serve(self) -> None:
        try:
            while True:
                conn, _ = self.sock.accept()
                self.conns.append(conn)
                self.accepted.set()
        except OSError:  # closed at the end of the test
            return

    def close(self) -> None:
        for conn in self.conns:
            conn.close()
        self.sock.close()


@pytest.fixture
def silent_server():
    server = SilentServer()
    yield server
    server.close()


def run_app_worker(app) -> None:
    """The worker class `flask worker` starts, in burst mode, in this process."""
    queues = [get_queue(name) for name in QUEUES]
    AppWorker(queues, connection=queues[0].connection, app=app).work(burst=True)


def emit_user_created() -> None:
    events.emit("user.created", {"id": 1, "email": "a@example.com", "name": "A", "role": "learner",
                                 "department": None, "active": True})
    db.session.commit()


def test_short_bounded_jobs_run_in_process_with_a_limit_below_the_sweep():
    assert {"app.tasks.render.render_certificate", "app.tasks.integrations.deliver",
            "app.tasks.mail.send_email"} <= set(IN_PROCESS_JOBS)
    # A delivery cut off by its limit is freed by the sweep only afterwards: never two attempts at once.
    assert IN_PROCESS_JOBS["app.tasks.integrations.deliver"] < webhooks.STUCK_DELIVERING.total_seconds()


def test_hanging_receiver_is_cut_off_by_the_job_limit_in_process(app, make_webhook, silent_server,
                                                                  monkeypatch):
    make_webhook(silent_server.url, events=["user.created"])
    emit_user_created()
    # The real limit is 90 s; the HTTP client would give up after 15 s. 1 s proves the death penalty
    # (not the HTTP timeout) ended the job, and that it ran here: a fork would fail.
    monkeypatch.setitem(worker_module.IN_PROCESS_JOBS, "app.tasks.integrations.deliver", 1)
    monkeypatch.setattr(os, "fork", lambda: pytest.fail("an in-process job must not fork"))

    run_app_worker(app)

    assert silent_server.accepted.is_set()
    failed = FailedJobRegistry(queue=get_queue("default")).get_job_ids()
    assert len(failed) == 1
    job = Job.fetch(failed[0], connection=get_redis())
    assert job.func_name == "app.tasks.integrations.deliver"
    assert "JobTimeoutException" in job.latest_result().exc_string
    db.session.expire_all()
    row = db.session.scalars(select(WebhookDelivery)).one()
    assert (row.status, row.attempt) == ("delivering", 1)  # the claim was committed, the attempt cut off
    db.session.commit()

    # The sweep frees it once STUCK_DELIVERING has passed, and queues it once it is overdue.
    later = utcnow() + webhooks.STUCK_DELIVERING + timedelta(seconds=1)
    webhook_recovery.recover(now=later)
    assert webhook_recovery.recover(now=later + webhooks.OVERDUE) == {"webhooks": 1}
    db.session.commit()
    row = db.session.scalars(select(WebhookDelivery)).one()
    assert row.status == "failed" and row.last_error == "The worker stopped during this attempt."
    assert get_queue("default").job_ids == [f"whd-{row.id}-1"]

def test_in_process_delivery_reaches_the_receiver(app, make_webhook, receiver, monkeypatch):
    make_webhook(receiver.url_for("/hook"), events=["user.created"])
    emit_user_created()
    monkeypatch.setattr(os, "fork", lambda: pytest.fail("an in-process job must not fork"))

    run_app_worker(app)

    assert len(receiver.wait_for(1)) == 1
    db.session.expire_all()
    row = db.session.scalars(select(WebhookDelivery)).one()
    assert (row.status, row.attempt) == ("delivered", 1)
