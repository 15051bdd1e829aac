"""Item 13: web and worker processes writing one SQLite file at once never answer "database is locked".

A real gunicorn (2 processes x 4 threads) takes signed incoming completion hooks and API writes from 8
client threads while a real RQ worker process renders the PDFs, sends the mails and delivers the webhooks
those completions cause, all writing the same database. Zero 5xx, zero failed jobs.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest
import requests
from sqlalchemy import event, func, make_url, select
from standardwebhooks import Webhook

from app.extensions import db
from app.models import Certificate, Course, Enrollment, OutboxEmail, User
from app.models.integration import IncomingReceipt
from app.services.accounts import tokens
from app.services.integrations import registry
from app.services.lifecycle import catalog
from tests.hardening import live
from tests.support.receiver import Receiver

pytestmark = pytest.mark.slow

PORT = 7611
HOOKS = 40


@pytest.fixture
def sqlite_only(app):
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        pytest.skip("SQLite locking")


@pytest.fixture
def catalog_one_hook():
    """Course LK-1 earning certification "Locking", and an active incoming hook creating learners."""
    course = catalog.create_course({"code": "LK-1", "title": "Locking"}, actor="test")
    catalog.create_certification({"name": "Locking", "status": "active", "course_ids": [course.id]},
                                 actor="test")
    hook, secret = registry.create("incoming", {"name": "LMS", "create_users": True}, actor="test")
    registry.set_active(hook, True, actor="test")
    db.session.commit()
    return hook, secret


def _signed(secret: str, n: int, course: str = "LK-1") -> tuple[bytes, dict]:
    body = json.dumps({"type": "completion.record", "timestamp": "2026-01-15T09:31:00Z", "data": {
        "email": f"hook{n:03d}@example.com", "name": f"Hook {n:03d}", "course_code": course, "score": 90,
        "completed_at": "2026-01-15T09:30:00Z"}})
    msg_id, when = f"msg_{n}", datetime.now(UTC)
    return body.encode(), {"webhook-id": msg_id, "webhook-timestamp": str(int(when.timestamp())),
                           "webhook-signature": Webhook(secret).sign(msg_id, when, body),
                           "Content-Type": "application/json"}


def _queues_idle() -> bool:
    from rq.registry import StartedJobRegistry

    from app.queue import QUEUES, get_queue

    return all(len(get_queue(n)) == 0 and len(StartedJobRegistry(n, connection=get_queue(n).connection)) == 0
               for n in QUEUES)


def _failed_jobs() -> list[str]:
    from app.queue import QUEUES, get_queue

    failed = []
    for name in QUEUES:
        queue = get_queue(name)
        for job in queue.failed_job_registry.get_job_ids():
            result = queue.fetch_job(job).latest_result()
            failed.append(f"{name}:{job}: {(result.exc_string if result else '')[-500:]}")
    return failed


def test_web_and_worker_write_at_once(app, sqlite_only, admin, learner, smtp_server, tmp_path,
                                      allow_private_outgoing, catalog_one_hook):
    hook, secret = catalog_one_hook
    course = db.session.scalar(select(Course).where(Course.code == "LK-1"))
    _, api_token = tokens.create_token(admin, "hammer", actor="test")
    enrollment = Enrollment(user_id=learner.id, course_id=course.id)
    db.session.add(enrollment)
    db.session.commit()

    log = tmp_path / "stack.log"
    with Receiver() as rx:
        out, _ = registry.create("generic_webhook", {
            "name": "Out", "url": rx.url_for("/hook"),
            "event_types": ["certificate.issued", "enrollment.completed"]}, actor="test")
        registry.set_active(out, True, actor="test")
        db.session.commit()
        env = live.stack_env(app, tmp_path / "files", smtp_server.port)
        web = live.start_web(env, PORT, log)
        worker = live.start_worker(env, log)
        try:
            statuses = _hammer(hook.incoming_token, secret, api_token, enrollment.id)
            deadline = time.monotonic() + 240
            while not _queues_idle() and time.monotonic() < deadline:
                time.sleep(0.5)
        finally:
            live.stop(web)
            live.stop(worker)
    text = log.read_text(errors="replace")
    assert [s for s in statuses if s >= 500] == [], text[-3000:]
    assert set(statuses) == {200}, statuses
    assert "database is locked" not in text, text[-3000:]
    assert _failed_jobs() == []
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(Certificate)) == HOOKS
    assert db.session.scalar(select(func.count()).select_from(Certificate)
                             .where(Certificate.pdf_status == "ready")) == HOOKS
    assert db.session.scalar(select(func.count()).select_from(OutboxEmail)
                             .where(OutboxEmail.status != "sent")) == 0


def _hammer(token: str, secret: str, api_token: str, enrollment_id: int) -> list[int]:
    base = f"http://127.0.0.1:{PORT}"

    def post_hook(n: int) -> int:
        body, headers = _signed(secret, n)
        return requests.post(f"{base}/hooks/in/{token}", data=body, headers=headers, timeout=60).status_code

    def patch(n: int) -> int:
        return requests.patch(f"{base}/api/v1/enrollments/{enrollment_id}", json={"progress": n % 100},
                              headers={"Authorization": f"Bearer {api_token}"}, timeout=60).status_code

    with ThreadPoolExecutor(8) as pool:
        hooks = pool.map(post_hook, range(HOOKS))
        patches = pool.map(patch, range(HOOKS))
        return [*hooks, *patches]


# -- Deterministic checks of the transaction rules behind it (app/database.py) ---------------------------

@contextmanager
def write_lock_held_elsewhere(app):
    """Another process's writer: a raw connection holding SQLite's write lock (BEGIN IMMEDIATE)."""
    path = make_url(app.config["SQLALCHEMY_DATABASE_URI"]).database
    other = sqlite3.connect(path, isolation_level=None, timeout=30, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    try:
        yield other
    finally:
        if other.in_transaction:
            other.execute("ROLLBACK")
        other.close()


def test_read_then_write_in_a_savepoint_waits_for_the_other_writer(app, sqlite_only, learner, admin):
    """Deferred, this transaction would read a snapshot, the other writer would commit, and its write
    would fail at once with "database is locked". Immediate, the other writer waits its turn."""
    timing = {}

    def other_writer():
        with app.app_context():
            started = time.monotonic()
            db.session.get(User, admin.id).name = "Other writer"
            db.session.commit()
            timing["waited"] = time.monotonic() - started
            db.session.remove()

    with db.session.begin_nested():
        db.session.scalar(select(User.name).where(User.id == learner.id))  # read first, inside the savepoint
        thread = threading.Thread(target=other_writer)
        thread.start()
        time.sleep(0.5)
        db.session.get(User, learner.id).name = "This writer"
        db.session.flush()
    db.session.commit()
    thread.join(30)
    assert timing["waited"] >= 0.4  # it waited for our commit instead of racing us
    db.session.expire_all()
    assert (db.session.get(User, learner.id).name, db.session.get(User, admin.id).name) == \
        ("This writer", "Other writer")


def test_reads_take_no_write_lock(app, sqlite_only, admin, login_as, server_request):
    """Pages, API reads and exports run while another process holds the write lock, without waiting."""
    client = login_as(admin)
    with write_lock_held_elsewhere(app):
        started = time.monotonic()
        for url in ("/", "/admin/users", "/api/v1/users", "/certificates", "/admin/users/export.csv"):
            assert server_request(lambda url=url: client.get(url).status_code) == 200, url
        assert time.monotonic() - started < 10  # no 30 s busy wait on any of them


def test_still_busy_after_the_timeout_answers_503_and_writes_nothing(app, sqlite_only, catalog_one_hook):
    """A writer that outlasts SQLITE_BUSY_TIMEOUT_MS: 503 with Retry-After (safe to retry), never 500."""
    hook, secret = catalog_one_hook
    url = f"/hooks/in/{hook.incoming_token}"

    def short_timeout(dbapi_connection, _record):
        dbapi_connection.execute("PRAGMA busy_timeout=200")

    db.session.remove()
    db.engine.dispose()
    event.listen(db.engine, "connect", short_timeout)
    try:
        with write_lock_held_elsewhere(app):
            body, headers = _signed(secret, 1, course="LK-1")
            response = app.test_client().post(url, data=body, headers=headers)
    finally:
        event.remove(db.engine, "connect", short_timeout)
        db.session.remove()
        db.engine.dispose()
    assert response.status_code == 503, response.get_data(as_text=True)
    assert int(response.headers["Retry-After"]) > 0  # (the rate limiter may set its own, longer value)
    assert db.session.scalar(select(func.count()).select_from(IncomingReceipt)) == 0
    assert db.session.scalar(select(func.count()).select_from(User).where(User.email.like("hook%"))) == 0


def test_the_connection_settings(app, sqlite_only):
    conn = db.session.connection()
    raw = conn.connection.driver_connection
    assert raw.isolation_level == "IMMEDIATE"
    assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == app.config["SQLITE_BUSY_TIMEOUT_MS"]


def test_a_job_still_busy_after_the_timeout_runs_again(app, sqlite_only, learner, smtp_server, jobs):
    """The worker side: a job whose write found the lock held past the busy timeout is re-run at once
    (up to BUSY_RETRIES times) instead of failing; here the other writer lets go during the retries."""
    from app.models import OutboxEmail
    from app.services.messaging import outbox

    outbox.queue_email(learner.email, "certificate_revoked", subject="Hello", context={
        "name": learner.name, "certification": "X", "serial": "S", "reason": "r", "revoked_at": None,
        "verify_url": "http://localhost/v"})
    db.session.commit()

    def short_timeout(dbapi_connection, _record):
        dbapi_connection.execute("PRAGMA busy_timeout=300")

    db.session.remove()
    db.engine.dispose()
    event.listen(db.engine, "connect", short_timeout)
    try:
        with write_lock_held_elsewhere(app) as other:
            release = threading.Timer(0.5, lambda: other.execute("ROLLBACK"))
            release.start()
            jobs()
            release.join()
    finally:
        event.remove(db.engine, "connect", short_timeout)
        db.session.remove()
        db.engine.dispose()
    assert _failed_jobs() == []
    from app.queue import get_queue

    job = get_queue("high").fetch_job(f"mail-{db.session.scalar(select(OutboxEmail.id))}-0")
    assert job.meta["laurel_busy_retries"] >= 1  # it did meet the lock, and ran again
    assert db.session.scalar(select(OutboxEmail.status)) == "sent"
    assert len(smtp_server.messages) == 1
