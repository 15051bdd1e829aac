"""Item 17: work a dead worker (or a job cut off by a dropped database) claimed is found through
worker heartbeats (app/liveness.py) and RQ's own abandoned-job cleanup, and recovered by the next
recovery sweep (every RECOVERY_INTERVAL_SECONDS) -- not after 2 or 15 minutes; a render interrupted
after storing its file leaves no orphan PDF."""

from __future__ import annotations

import time
from datetime import timedelta

from rq.job import Job, JobStatus
from rq.registry import FailedJobRegistry, StartedJobRegistry
from sqlalchemy import event, select, update
from sqlalchemy.exc import OperationalError

from app import liveness
from app.database import utcnow
from app.extensions import db
from app.models import Certificate, OutboxEmail
from app.models.integration import ExportedPdf, Integration, SyncRun, WebhookDelivery
from app.models.template import PdfExport
from app.queue import get_queue, get_redis
from app.services.documents import downloads, render_recovery, rendering
from app.services.integrations import registry, syncs, webhooks
from app.services.messaging import outbox
from app.tasks.render import render_certificate
from app.tasks.schedule import SWEEP, build_scheduler
from app.tasks.sweep import recover_stuck_work
from tests.documents.conftest import stored_files
from tests.hardening.conftest import complete, fresh

A_WHILE_AGO = timedelta(seconds=20)  # longer ago than a heartbeat period: not a fresh claim


def _queue_one() -> int:
    row = outbox.queue_email("someone@example.com", "password_reset", subject="Reset your password",
                           context={"name": "Someone", "link": "http://localhost/reset-password/x"})
    db.session.commit()
    return row.id


def _sending(email_id: int, since: timedelta = A_WHILE_AGO) -> None:
    """A worker claimed the row `since` ago (and, unless a heartbeat lists it, died)."""
    outbox.claim(email_id)
    db.session.execute(update(OutboxEmail).where(OutboxEmail.id == email_id)
                       .values(sending_since=utcnow() - since))
    db.session.commit()
    get_redis().flushdb()  # drop the queued job: only recovery may send it now


def _email(email_id: int) -> OutboxEmail:
    return db.session.get(OutboxEmail, email_id, populate_existing=True)


def test_mail_of_a_dead_worker_is_sent_by_the_next_sweep(trusted_liveness, jobs, smtp_server):
    email_id = _queue_one()
    _sending(email_id)
    trusted_liveness("another-worker")  # alive, but holding nothing
    assert recover_stuck_work()["mail_abandoned"] == 1
    jobs()
    assert len(smtp_server.wait_for(1)) == 1
    row = _email(email_id)
    assert (row.status, row.attempts, row.last_error) == ("sent", 2, None)


def test_mail_held_by_a_live_worker_is_left_alone(trusted_liveness):
    email_id = _queue_one()
    _sending(email_id)
    trusted_liveness("w1", f"mail:{email_id}")
    assert recover_stuck_work()["mail_abandoned"] == 0
    assert _email(email_id).status == "sending"


def test_a_fresh_claim_is_left_alone(trusted_liveness):
    email_id = _queue_one()
    _sending(email_id, since=timedelta(seconds=0))
    trusted_liveness("w1")
    assert recover_stuck_work()["mail_abandoned"] == 0


def test_nobody_is_judged_dead_while_liveness_is_unknown(app):
    email_id = _queue_one()
    _sending(email_id)  # Redis flushed: the heartbeats may not be back yet
    counts = recover_stuck_work()
    assert "mail_abandoned" not in counts and _email(email_id).status == "sending"
    get_redis().set(liveness.SINCE_KEY, time.time())  # the first heartbeat after the flush
    assert "mail_abandoned" not in recover_stuck_work()


def test_webhook_of_a_dead_worker_is_delivered_by_the_next_sweep(trusted_liveness, receiver, make_webhook,
                                                                 catalog_one, learner, jobs):
    _, course = catalog_one
    make_webhook(receiver.url_for("/hook"), events=["enrollment.completed"])
    complete(learner, course)
    row = db.session.scalars(select(WebhookDelivery)).one()
    webhooks.claim(row.id, 0)
    row.delivering_since = utcnow() - A_WHILE_AGO
    db.session.commit()
    get_redis().flushdb()
    trusted_liveness("w1", "webhook:999")
    assert recover_stuck_work()["webhooks_abandoned"] == 1
    jobs()
    [request] = receiver.wait_for(1)
    assert request.headers["webhook-id"] == row.event_id
    fresh()
    assert db.session.get(WebhookDelivery, row.id).status == "delivered"


def _rendering(cert_id: int, store: bool) -> int:
    """A worker claimed the render (and maybe stored its file), then died before publishing it."""
    version = rendering.claim(cert_id)
    db.session.execute(update(Certificate).where(Certificate.id == cert_id)
                       .values(pdf_updated_at=utcnow() - A_WHILE_AGO))
    db.session.commit()
    if store:
        rendering.produce(db.session.get(Certificate, cert_id), version)
    get_redis().flushdb()
    return version


def test_render_of_a_dead_worker_is_redone_once_and_its_orphan_file_deleted(trusted_liveness, learner, issue,
                                                                            fresh_storage, jobs, smtp_server):
    cert = issue(learner)
    _rendering(cert.id, store=True)
    assert [p.name for p in stored_files(fresh_storage)] == [f"{cert.serial}-v1.pdf"]
    trusted_liveness("w1")
    assert recover_stuck_work()["pdf_abandoned"] == 1
    assert stored_files(fresh_storage) == []  # the unpublished file of the dead attempt
    jobs()
    fresh()
    cert = db.session.get(Certificate, cert.id)
    assert cert.pdf_status == "ready" and cert.pdf_attempts == 2
    assert [p.name for p in stored_files(fresh_storage)] == [f"{cert.serial}-v2.pdf"]
    assert len(smtp_server.wait_for(1)) == 1


def test_render_interrupted_twice_fails_visibly(trusted_liveness, learner, issue):
    cert = issue(learner)
    trusted_liveness("w1")
    _rendering(cert.id, store=False)
    trusted_liveness("w1")
    assert recover_stuck_work()["pdf_abandoned"] == 1
    _rendering(cert.id, store=False)
    trusted_liveness("w1")
    assert recover_stuck_work()["pdf_abandoned"] == 1
    fresh()
    cert = db.session.get(Certificate, cert.id)
    assert cert.pdf_status == "failed" and "interrupted twice" in cert.pdf_error


def test_render_cut_off_by_a_dropped_database_is_recovered(trusted_liveness, learner, issue, fresh_storage,
                                                           monkeypatch, jobs):
    cert = issue(learner)

    def database_gone(session):
        raise OperationalError("COMMIT", {}, Exception("terminating connection due to administrator command"))

    original = rendering.produce

    def produce_then_drop(c, version):
        key = original(c, version)
        event.listen(db.session, "before_commit", database_gone)  # from now on every commit fails
        return key

    monkeypatch.setattr(rendering, "produce", produce_then_drop)
    monkeypatch.setattr("app.tasks.outcome.PAUSE_SECONDS", 0.01)
    try:
        render_certificate(cert.id)
        raise AssertionError("the job should have failed")
    except OperationalError:
        db.session.rollback()
    finally:
        event.remove(db.session, "before_commit", database_gone)
    monkeypatch.setattr(rendering, "produce", original)
    get_redis().flushdb()
    assert len(stored_files(fresh_storage)) == 1  # stored, never published
    db.session.execute(update(Certificate).where(Certificate.id == cert.id)
                       .values(pdf_updated_at=utcnow() - A_WHILE_AGO))
    db.session.commit()
    trusted_liveness("w1")  # the worker lives on; the job that claimed the render has ended
    assert recover_stuck_work()["pdf_abandoned"] == 1
    jobs()
    fresh()
    cert = db.session.get(Certificate, cert.id)
    assert cert.pdf_status == "ready"
    assert [p.name for p in stored_files(fresh_storage)] == [f"{cert.serial}-v2.pdf"]


def test_stuck_fallback_also_deletes_the_orphan_file(app, learner, issue, fresh_storage, monkeypatch):
    cert = issue(learner)
    _rendering(cert.id, store=True)
    monkeypatch.setitem(app.config, "PDF_STUCK_SECONDS", 0)
    assert render_recovery.recover() == {"pdf": 1}
    assert stored_files(fresh_storage) == []


def test_a_claim_inside_a_beating_worker_is_published_and_released(app, learner, issue):
    cert = issue(learner)
    beat = liveness.start(get_redis(), "test-worker", 60)
    try:
        rendering.claim(cert.id)
        assert f"pdf:{cert.id}" in liveness.read(get_redis()).held
        liveness.release_all()
        assert liveness.read(get_redis()).held == set()
        assert "test-worker" in liveness.read(get_redis()).workers
    finally:
        liveness.stop()
        db.session.rollback()
    assert not beat.is_alive() or beat.stopped.is_set()
    assert liveness.read(get_redis()).workers == {}


def test_rq_abandoned_jobs_are_cleaned_by_the_sweep():
    """A dead worker's started job: RQ's own cleanup moves it to the failed registry at the sweep."""
    queue = get_queue("high")
    job = queue.enqueue("app.tasks.mail.send_email", 1, job_id="mail-1-0")
    get_redis().lpop(queue.key)  # a worker took it...
    job.set_status(JobStatus.STARTED)
    registry = StartedJobRegistry(queue=queue)
    get_redis().zadd(registry.key, {f"{job.id}:dead-execution": 1})  # ...and its heartbeat expired
    recover_stuck_work()
    assert job.id in FailedJobRegistry(queue=queue).get_job_ids()
    assert Job.fetch(job.id, connection=get_redis()).get_status() == JobStatus.FAILED


def test_the_sweep_runs_on_high_every_recovery_interval(app, monkeypatch):
    monkeypatch.setitem(app.config, "RECOVERY_INTERVAL_SECONDS", 7)
    [sweep] = [job for job in build_scheduler()._cron_jobs if job.func_name == SWEEP]
    assert (sweep.queue_name, sweep.interval) == ("high", 7)


def _zip_running(certification, admin) -> int:
    """A ZIP export a worker (a forked horse) was building when it died."""
    export = downloads.start_export(certification, actor=admin)
    db.session.commit()
    db.session.execute(update(PdfExport).where(PdfExport.id == export.id)
                       .values(status="running", started_at=utcnow() - A_WHILE_AGO, done=3))
    db.session.commit()
    get_redis().flushdb()
    return export.id


def test_zip_export_of_a_dead_worker_is_built_again(trusted_liveness, admin, learner, certification, issue,
                                                   jobs):
    issue(learner)
    export_id = _zip_running(certification, admin)
    trusted_liveness("w1")
    assert recover_stuck_work()["zip_abandoned"] == 1
    jobs()
    fresh()
    export = db.session.get(PdfExport, export_id)
    assert export.status == "ready" and export.done == 1 and export.storage_key


def test_zip_export_interrupted_twice_fails_and_another_can_be_asked(trusted_liveness, admin, certification):
    export_id = _zip_running(certification, admin)
    trusted_liveness("w1")
    recover_stuck_work()
    db.session.execute(update(PdfExport).where(PdfExport.id == export_id)
                       .values(status="running", started_at=utcnow() - A_WHILE_AGO))
    db.session.commit()
    trusted_liveness("w1")
    assert recover_stuck_work()["zip_abandoned"] == 1
    fresh()
    assert db.session.get(PdfExport, export_id).status == "failed"
    assert downloads.start_export(certification, actor=admin).id != export_id  # not blocked forever


def test_sync_run_of_a_dead_worker_is_closed_and_its_lock_freed(trusted_liveness):
    integration = Integration(type="sql", name="Source", config={})
    db.session.add(integration)
    db.session.flush()
    run = SyncRun(integration_id=integration.id, status="running", started_at=utcnow() - A_WHILE_AGO)
    db.session.add(run)
    db.session.commit()
    get_redis().flushdb()
    assert syncs.lock(integration.id).acquire()  # held by the run whose worker died
    trusted_liveness("w1")
    assert recover_stuck_work()["sync_runs_abandoned"] == 1
    fresh()
    run = db.session.get(SyncRun, run.id)
    assert run.status == "failed" and run.message == syncs.SYNC_INTERRUPTED
    assert syncs.lock(integration.id).acquire()  # the next run may start now, not in two hours


def test_sync_run_held_by_a_live_worker_keeps_its_lock(trusted_liveness):
    integration = Integration(type="sql", name="Source", config={})
    db.session.add(integration)
    db.session.flush()
    run = SyncRun(integration_id=integration.id, status="running", started_at=utcnow() - A_WHILE_AGO)
    db.session.add(run)
    db.session.commit()
    get_redis().flushdb()
    assert syncs.lock(integration.id).acquire()
    trusted_liveness("w1", f"sync:{run.id}")
    assert recover_stuck_work()["sync_runs_abandoned"] == 0
    assert not syncs.lock(integration.id).acquire()


# Lost jobs: the sweep (now every 30 s) re-enqueues only work whose job Redis really lost -- a job
# still waiting in a long queue is not copied onto it again at every sweep.


def _queue_length() -> int:
    return sum(get_queue(name).count for name in ("high", "default", "low"))


def test_waiting_mail_is_not_enqueued_again(app):
    _queue_one()
    before = _queue_length()
    assert recover_stuck_work()["mail"] == 0 and _queue_length() == before
    get_redis().flushdb()
    assert recover_stuck_work()["mail"] == 1


def test_waiting_delivery_is_not_enqueued_again_a_lost_one_is_after_the_grace(app, receiver, make_webhook,
                                                                             catalog_one, learner,
                                                                             monkeypatch):
    monkeypatch.setitem(app.config, "RECOVERY_LOST_JOB_SECONDS", 5)
    _, course = catalog_one
    make_webhook(receiver.url_for("/hook"), events=["enrollment.completed"])
    complete(learner, course)
    db.session.execute(update(WebhookDelivery).values(next_attempt_at=utcnow() - timedelta(seconds=10)))
    db.session.commit()
    before = _queue_length()
    assert recover_stuck_work()["webhooks"] == 0 and _queue_length() == before
    get_redis().flushdb()
    assert recover_stuck_work()["webhooks"] == 1  # 10 s overdue > RECOVERY_LOST_JOB_SECONDS


def test_waiting_render_is_not_enqueued_again_a_lost_one_is_after_the_grace(app, learner, issue, monkeypatch):
    monkeypatch.setitem(app.config, "RECOVERY_LOST_JOB_SECONDS", 5)
    cert = issue(learner)
    db.session.execute(update(Certificate).where(Certificate.id == cert.id)
                       .values(pdf_updated_at=utcnow() - timedelta(seconds=10)))
    db.session.commit()
    before = _queue_length()
    assert recover_stuck_work()["pdf"] == 0 and _queue_length() == before
    get_redis().flushdb()
    assert recover_stuck_work()["pdf"] == 1


def test_waiting_pdf_copy_is_not_enqueued_again_a_lost_one_is_after_the_grace(app, tmp_path, learner, issue,
                                                                             monkeypatch):
    monkeypatch.setitem(app.config, "RECOVERY_LOST_JOB_SECONDS", 5)
    out = tmp_path / "archive"
    out.mkdir()
    integration, _ = registry.create("pdf_export", {"name": "Archive", "location": "folder",
                                                        "folder": str(out)}, actor="test")
    registry.set_active(integration, True, actor="test")
    db.session.commit()
    cert = issue(learner)
    assert render_certificate(cert.id) == "ready"  # the copy job is now queued on "low"
    db.session.execute(update(ExportedPdf).values(next_attempt_at=utcnow() - timedelta(seconds=10)))
    db.session.commit()
    assert recover_stuck_work()["pdf_exports"] == 0
    get_redis().flushdb()
    assert recover_stuck_work()["pdf_exports"] == 1
