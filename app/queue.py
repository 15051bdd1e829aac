"""Access to Redis and the RQ queues, and enqueueing that waits for the database commit.

Jobs are named by dotted path ("app.tasks.mail.send_email") so services can enqueue work
without importing the tasks package (imports point one way: tasks -> services).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import redis
from flask import current_app
from rq import Queue, Retry
from rq.job import Job
from sqlalchemy import event
from sqlalchemy.orm import Session

from app import embedded_redis

#: Mail (high), webhooks and the rest (default, low): the Procfile's `worker` process.
WORK_QUEUES = ("high", "default", "low")
#: Certificate renders, new ones first: the Procfile's `render` process. A template can make a
#: render slow (up to RENDER_TIME_LIMIT); on their own queues that only ever delays other renders,
#: never a mail or a webhook.
RENDER_QUEUES = ("render", "render-bulk")
#: Every queue, in priority order: one worker that does everything (tests, a quick `flask worker`).
QUEUES = WORK_QUEUES + RENDER_QUEUES


def redis_url() -> str:
    url = current_app.config.get("REDIS_URL")
    if url:
        return url
    return embedded_redis.ensure_running(Path(current_app.instance_path))


def get_redis() -> redis.Redis:
    """One client per app; the connection pool is per process (safe after fork)."""
    client = current_app.extensions.get("laurel_redis")
    if client is None:
        client = redis.Redis.from_url(redis_url(), socket_timeout=10, health_check_interval=30)
        current_app.extensions["laurel_redis"] = client
    return client


def get_queue(name: str = "default") -> Queue:
    return Queue(name, connection=get_redis(), default_timeout=600)


@dataclass
class PendingJob:
    func: str
    args: tuple
    queue: str = "default"
    job_id: str | None = None
    delay: timedelta | None = None
    retry: Retry | None = None
    meta: dict = field(default_factory=dict)
    timeout: int | None = None  # RQ's job timeout in seconds; None = the queue's default (600)


def enqueue_after_commit(session: Session, func: str, *args, **options) -> None:
    """Enqueue once the current transaction commits; dropped if it rolls back.

    A worker must never pick up a job before the rows it loads are visible.
    """
    pending_list(session, PENDING_JOBS).append(PendingJob(func, args, **options))


def enqueue_now(job: PendingJob):
    queue = get_queue(job.queue)
    kwargs = {"job_id": job.job_id, "retry": job.retry, "meta": job.meta or None, "job_timeout": job.timeout}
    if job.delay:
        return queue.enqueue_at(fire_time(job.delay), job.func, *job.args, **kwargs)
    return queue.enqueue(job.func, *job.args, **kwargs)


def fire_time(delay: timedelta, now: datetime | None = None) -> datetime:
    """When a delayed job may run: ``now + delay`` rounded UP to the whole second.

    RQ's scheduler stores whole seconds and rounds down, so ``enqueue_in(10 s)`` fired up to a
    second before the row's ``next_attempt_at`` and the job's claim skipped it (a "10 s" retry
    became a sweep later). Rounding up means a delayed job never fires before its row is due; the
    claims also accept ``JOB_EARLY_TOLERANCE_SECONDS`` of clock difference between hosts.
    """
    moment = (now or datetime.now(UTC)) + delay
    if moment.microsecond:
        moment = moment.replace(microsecond=0) + timedelta(seconds=1)
    return moment


def early_tolerance() -> timedelta:
    """How early a delayed job may fire and still take its row (see `fire_time`)."""
    return timedelta(seconds=current_app.config.get("JOB_EARLY_TOLERANCE_SECONDS", 2))


@event.listens_for(Session, "after_commit")
def _flush_pending_jobs(session: Session) -> None:
    if session.in_nested_transaction():
        # SQLAlchemy 2.1 also fires after_commit when a SAVEPOINT is released: the outer
        # transaction is still open, so a worker would not see the rows yet.
        return
    jobs = session.info.pop(PENDING_JOBS, [])
    seen: set[str] = set()
    unique: list[PendingJob] = []
    for job in jobs:
        if job.job_id is not None:
            if job.job_id in seen:
                continue  # two steps of one transaction asked for the same job: enqueue it once
            seen.add(job.job_id)
        unique.append(job)
    if len(unique) >= BULK_MIN:
        enqueue_many(unique)
        return
    for job in unique:
        _enqueue_or_leave(job)


#: From this many jobs in one commit on, they go to Redis in pipelines (a bulk import: thousands of
#: render jobs) instead of a few round trips each.
BULK_MIN = 20
PIPELINE_SIZE = 500


def _enqueue_or_leave(job: PendingJob) -> None:
    try:
        enqueue_now(job)
    except redis.RedisError:
        # The row is committed; the sweep finds it from database state and enqueues it later.
        current_app.logger.warning("could not enqueue %s%s; the sweep will retry", job.func, job.args)


def enqueue_many(jobs: list[PendingJob]) -> None:
    """Enqueue committed work in Redis pipelines of PIPELINE_SIZE jobs per queue (RQ's `enqueue_many`).

    Same guarantees as one by one: each job keeps its id (a duplicate still collapses into one run,
    the claims in the database make a second run a no-op), and a pipeline Redis refuses is only
    logged: its rows are committed and the recovery sweep enqueues them from database state. Delayed
    jobs go through the scheduler one by one (RQ has no bulk `enqueue_at`).
    """
    by_queue: dict[str, list[PendingJob]] = {}
    for job in jobs:
        if job.delay:
            _enqueue_or_leave(job)
        else:
            by_queue.setdefault(job.queue, []).append(job)
    for name, queued in by_queue.items():
        queue = get_queue(name)
        for start in range(0, len(queued), PIPELINE_SIZE):
            batch = queued[start:start + PIPELINE_SIZE]
            data = [Queue.prepare_data(job.func, job.args, job_id=job.job_id, retry=job.retry,
                                       meta=job.meta or None, timeout=job.timeout) for job in batch]
            try:
                with get_redis().pipeline() as pipe:
                    queue.enqueue_many(data, pipeline=pipe)
                    pipe.execute()
            except redis.RedisError:
                current_app.logger.warning("could not enqueue %d %s job(s); the sweep will retry",
                                           len(batch), name)


# ---- work that waits for the outermost commit ------------------------------------------------------
# Jobs to enqueue and live announcements to publish live in append-only lists in `session.info` until
# the outermost COMMIT. A SAVEPOINT that rolls back (one failed row of an import or a sync) undoes only
# what was added inside it: the rows added before it still commit, and so must their jobs. A rollback of
# the whole transaction drops everything.

PENDING_JOBS = "laurel_pending_jobs"
_PENDING_KEYS: list[str] = [PENDING_JOBS]
_SAVEPOINT_MARKS = "laurel_savepoint_marks"
_ROLLED_BACK = "laurel_savepoints_rolled_back"


def register_pending(key: str) -> None:
    """Make `session.info[key]` (a list) follow savepoints like the pending jobs do."""
    if key not in _PENDING_KEYS:
        _PENDING_KEYS.append(key)


def pending_list(session: Session, key: str) -> list:
    return session.info.setdefault(key, [])


@event.listens_for(Session, "after_transaction_create")
def _mark_savepoint(session: Session, transaction) -> None:
    if transaction.nested:
        marks = session.info.setdefault(_SAVEPOINT_MARKS, {})
        marks[transaction] = {key: len(session.info.get(key, ())) for key in _PENDING_KEYS}


@event.listens_for(Session, "after_soft_rollback")
def _note_rolled_back_savepoint(session: Session, previous_transaction) -> None:
    # A failed flush inside a SAVEPOINT rolls back the flush's own inner transaction, not the savepoint
    # itself: what counts is the nearest savepoint around whatever rolled back.
    savepoint = previous_transaction
    while savepoint is not None and not savepoint.nested:
        savepoint = savepoint.parent
    if savepoint is not None:
        session.info.setdefault(_ROLLED_BACK, set()).add(savepoint)


@event.listens_for(Session, "after_transaction_end")
def _settle_pending(session: Session, transaction) -> None:
    if transaction.parent is None:
        # The outermost transaction ended. Committed work has already left (after_commit), so what is
        # still pending belongs to a rollback or a close without commit: it never happened.
        _drop_all_pending(session)
        session.info.pop(_SAVEPOINT_MARKS, None)
        session.info.pop(_ROLLED_BACK, None)
    elif transaction.nested:
        marks = session.info.get(_SAVEPOINT_MARKS, {}).pop(transaction, None)
        if transaction in session.info.get(_ROLLED_BACK, ()):
            session.info[_ROLLED_BACK].discard(transaction)
            for key, length in (marks or {}).items():
                del session.info.get(key, [])[length:]


def _drop_all_pending(session: Session) -> None:
    for key in _PENDING_KEYS:
        session.info.pop(key, None)


def waiting(job_ids: list[str]) -> set[str]:
    """The ids among `job_ids` whose job is still queued or running in Redis (one round trip).

    Recovery re-enqueues work whose job Redis lost; a job still waiting in a long queue is not
    lost, and enqueueing it again every sweep would pile copies onto the queue.
    """
    if not job_ids:
        return set()
    with get_redis().pipeline(transaction=False) as pipe:
        for job_id in job_ids:
            pipe.hget(Job.key_for(job_id), "status")
        statuses = pipe.execute()
    return {job_id for job_id, status in zip(job_ids, statuses, strict=True)
            if status is not None and (status.decode() if isinstance(status, bytes) else status)
            in ("queued", "started")}


def limiter_storage_uri(app) -> str:
    """Flask-Limiter's storage: the same Redis, spelled the way the `limits` package wants."""
    with app.app_context():
        url = redis_url()
    if url.startswith("unix://"):
        return "redis+unix://" + url[len("unix://"):]
    return url
