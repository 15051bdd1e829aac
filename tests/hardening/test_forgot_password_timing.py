"""Item 7: forgot-password does the same work for known and unknown addresses. The request only queues
a job (no query against users, no token, no outbox row); the job does the lookup and the mail, which
still reaches a known address through the real SMTP server and never an unknown one."""

from __future__ import annotations

import pytest
from rq.job import Job
from sqlalchemy import event, func, select

from app.extensions import db
from app.models import AuditEvent, OutboxEmail
from app.queue import QUEUES, get_queue, get_redis
from app.services.accounts import users
from tests.conftest import csrf_token_from
from tests.support.web import link_in

KNOWN = "learner@example.com"


def _post_forgot(app, email: str) -> tuple[int, list[str], list[tuple[str, str, int]]]:
    """POST the form; returns (status, the SQL the POST ran, the jobs it queued as (queue, func, nargs))."""
    client = app.test_client()
    token = csrf_token_from(client.get("/forgot-password").get_data(as_text=True))
    statements: list[str] = []

    def collect(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", collect)
    try:
        response = client.post("/forgot-password", data={"email": email, "csrf_token": token})
    finally:
        event.remove(db.engine, "before_cursor_execute", collect)
    return response.status_code, statements, _queued_jobs()


def _queued_jobs() -> list[tuple[str, str, int]]:
    found = []
    for name in QUEUES:
        queue = get_queue(name)
        for job in Job.fetch_many(queue.job_ids, connection=get_redis()):
            found.append((name, job.func_name, len(job.args)))
    return found


@pytest.mark.parametrize("other", ["nobody@example.com", "gone@example.com", "not-an-email"])
def test_known_and_unknown_addresses_do_the_same_request_work(app, make_user, learner, other):
    make_user("learner", email="gone@example.com", active=False)
    known = _post_forgot(app, KNOWN)
    get_redis().flushdb()  # also clears the rate limiter: both requests start alike
    unknown = _post_forgot(app, other)
    assert known == unknown
    status, statements, queued = known
    assert status == 302
    assert not any("users" in s for s in statements)  # the lookup is not in the request
    assert queued == [("high", users.RESET_JOB, 1)]
    assert db.session.scalar(select(func.count()).select_from(OutboxEmail)) == 0  # nothing composed yet


def _request_then_run(app, jobs, email: str) -> None:
    status, _, _ = _post_forgot(app, email)
    assert status == 302
    # _post_forgot inspected the jobs without removing them: the worker runs them now.
    jobs()


def test_the_job_still_mails_a_known_address(app, learner, jobs, smtp_server, client):
    _request_then_run(app, jobs, "  Learner@Example.com ")
    [message] = smtp_server.messages
    assert message["To"] == KNOWN
    assert client.get(link_in(message)).status_code == 200  # the link works
    assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "user.password_reset_requested")) == 1


@pytest.mark.parametrize("email", ["nobody@example.com", "gone@example.com", "not-an-email", "x" * 254])
def test_the_job_mails_nobody_for_unknown_inactive_or_malformed_addresses(app, make_user, jobs, smtp_server,
                                                                          email):
    from rq.registry import FailedJobRegistry

    make_user("learner", email="gone@example.com", active=False)
    _request_then_run(app, jobs, email)
    assert smtp_server.messages == []
    assert db.session.scalar(select(func.count()).select_from(OutboxEmail)) == 0
    assert len(FailedJobRegistry(queue=get_queue("high"))) == 0  # silent, not a failed job
