"""RQ worker classes that run jobs inside a Laurel app context.

`rq worker --with-scheduler -w app.tasks.worker.AppWorker` (Procfile) or `flask --app wsgi worker`.
The default worker forks a work horse per job; whatever the child loads lazily is paid on every
job, so the parent warms the app up once before it starts forking. Short, bounded jobs
(`IN_PROCESS_JOBS`: renders, webhook deliveries, mail) skip the fork and run in the warm parent.
"""

from __future__ import annotations

import gc
import os

from rq import SimpleWorker, Worker, worker_registration
from rq.worker import WorkerStatus

from app import liveness
from app.documents import storage
from app.extensions import db


def _make_app():
    from app import create_app  # late: importing the factory must not build an app

    return create_app()


def warm_up(app) -> None:
    """Load what every job needs before forking (job modules, email templates, PDF engine)."""
    from importlib import import_module
    from pkgutil import iter_modules

    from sqlalchemy.orm import configure_mappers

    import app.tasks as tasks

    with app.app_context():
        configure_mappers()
        # RQ imports a job's module in the work horse: import them all once here instead.
        for module in iter_modules(tasks.__path__):
            try:
                import_module(f"app.tasks.{module.name}")
            except Exception:  # a broken job module fails its own jobs, not the worker
                app.logger.exception("could not import app.tasks.%s", module.name)
        for name in app.jinja_env.list_templates(filter_func=lambda n: n.startswith("emails/")):
            app.jinja_env.get_template(name)
        try:
            from app.documents import warm_up as warm_pdf
        except ImportError:
            return
        warm_pdf()


#: How many times a job that found SQLite still locked after SQLITE_BUSY_TIMEOUT_MS runs again at once.
BUSY_RETRIES = 3


def _retry_when_busy(job, exc_string: str) -> None:
    """SQLite busy beyond the timeout (another process wrote for that long): the job's transaction was
    rolled back, so run it again rather than failing it. Jobs are safe to re-run (the sweep re-queues
    them the same way); a job with RQ retries of its own keeps them."""
    if "database is locked" not in exc_string or job.should_retry:
        return
    done = job.meta.get("laurel_busy_retries", 0)
    if done >= BUSY_RETRIES:
        return
    job.meta["laurel_busy_retries"] = done + 1
    job.save_meta()
    job.retries_left, job.retry_intervals = 1, [0]  # again now: the busy timeout was the wait


class _AppContextMixin:
    app = None

    def _ensure_app(self):
        if self.app is None:
            self.app = _make_app()
            warm_up(self.app)
        return self.app

    def handle_job_failure(self, job, queue, *args, **kwargs):
        _retry_when_busy(job, kwargs.get("exc_string", ""))
        return super().handle_job_failure(job, queue, *args, **kwargs)

    def perform_job(self, job, queue, *args, **kwargs):
        app = self._ensure_app()
        with app.app_context():
            if os.getpid() != self._laurel_parent_pid:
                # A forked horse must not reuse the parent's pooled database connections.
                db.engine.dispose(close=False)
                self._start_horse_heartbeat(app)
            try:
                return super().perform_job(job, queue, *args, **kwargs)
            finally:
                db.session.remove()
                liveness.release_all()  # what the job claimed is finished, or orphaned for recovery

    def _start_horse_heartbeat(self, app) -> None:
        """A forked horse beats for itself: if it dies alone, the rows it claimed are freed."""
        if getattr(self, "_laurel_beats", False):
            from app.queue import get_redis

            liveness.start(get_redis(), f"{self.name}.horse{os.getpid()}",
                           app.config["WORKER_HEARTBEAT_SECONDS"], worker=False)


#: Jobs run inside the warm worker process instead of a forked horse, each with the longest it may run
#: there (seconds; None = the job's own RQ timeout). Forking costs ~90 ms of CPU per job here (the horse
#: copies the pages it touches, opens a fresh database connection, warms SQLAlchemy's caches): more than
#: these jobs need themselves (tests/benchmarks/bench_pipeline.py, bench_webhooks.py). Only jobs that are
#: short, bounded and recovered from the database if the worker dies belong here; the long ones (syncs,
#: ZIP exports, sweeps, reports) keep the horse so that memory they grab goes away with it.
#: In-process, RQ's death penalty (SIGALRM, `job.timeout`) is what stops a stuck job, so the limits
#: below are enforced by lowering `job.timeout` before it runs (see `_bound`).
IN_PROCESS_JOBS: dict[str, int | None] = {
    # Bounded by RENDER_TIME_LIMIT inside the render (a budget in the sandbox, xhtml2pdf's deadline and a
    # SIGALRM stop that raises a BaseException the engine cannot swallow: app/documents/budget.py), then by
    # the job's own RQ timeout (RENDER_TIME_LIMIT + 60 s, set at enqueue). Renders have their own queues;
    # a "rendering" row no live worker holds any more (killed, timed out) is re-queued by the next
    # recovery sweep (app/liveness.py, docs/reliability.md).
    "app.tasks.render.render_certificate": None,
    # One HTTP attempt: 15 s connect + 15 s per read with a 15 s body deadline, an OAuth2 token request
    # at most as long again. 90 s stays below the sweep's STUCK_DELIVERING (2 min, the fallback when
    # liveness is unknown): a delivery cut off here is no longer held by a live job, so the next sweep
    # frees and retries it, never sent twice at the same time. The row is the truth.
    "app.tasks.integrations.deliver": 90,
    # One SMTP conversation. Flask-Mail sets no socket timeout, so this limit is the only bound on a
    # server that stops answering; the row stays "sending" and the next sweep re-queues it (same
    # Message-ID), as no live job holds it any more.
    "app.tasks.mail.send_email": 120,
}


def _bound(job) -> None:
    """Lower the job's RQ timeout to its in-process limit (the death penalty reads `job.timeout`)."""
    limit = IN_PROCESS_JOBS[job.func_name]
    if limit is not None and (job.timeout is None or job.timeout < 0 or job.timeout > limit):
        job.timeout = limit


class AppWorker(_AppContextMixin, Worker):
    _laurel_beats = True

    def register_birth(self):
        super().register_birth()
        from app.queue import get_redis

        app = self._ensure_app()
        with app.app_context():
            where = storage.place(app.config, app.instance_path)
            conflict = liveness.place_conflict(get_redis(), where, self.name)
            if conflict:
                # Refused before taking a job: a PDF rendered here could not be downloaded elsewhere.
                self.log.error(conflict)
                raise SystemExit(f"[laurel] worker refused to start. {conflict}")
            liveness.start(get_redis(), self.name, app.config["WORKER_HEARTBEAT_SECONDS"], place=where)

    def register_death(self):
        liveness.stop()
        super().register_death()

    def heartbeat(self, timeout=None, pipeline=None):
        # After a Redis flush RQ's own heartbeat only re-creates a bare hash: register again so that
        # `rq info` and Worker.all() list this worker (health reads the liveness keys, see app/liveness.py).
        if (pipeline is None and self.birth_date is not None
                and not self.connection.sismember(worker_registration.REDIS_WORKER_KEYS, self.key)):
            with self.connection.pipeline() as pipe:
                pipe.hset(self.key, mapping=self.serialize())
                worker_registration.register(self, pipe)
                pipe.execute()
        return super().heartbeat(timeout, pipeline)

    def execute_job(self, job, queue):
        if job.func_name not in IN_PROCESS_JOBS:
            return super().execute_job(job, queue)
        _bound(job)
        execution = self.prepare_execution(job)
        self.perform_job(job, queue, execution)  # RQ's perform_job wraps the call in the death penalty
        self.set_state(WorkerStatus.IDLE)
        return None

    def get_heartbeat_ttl(self, job, working_time: float = 0.0) -> int:
        # No horse monitor refreshes the heartbeat while an in-process job runs: keep the worker and
        # the job registered for the whole timeout, as RQ's SimpleWorker does.
        if job.func_name in IN_PROCESS_JOBS:
            return SimpleWorker.get_heartbeat_ttl(self, job, working_time)
        return super().get_heartbeat_ttl(job, working_time)

    def __init__(self, *args, app=None, **kwargs):
        self.app = app
        self._laurel_parent_pid = os.getpid()
        super().__init__(*args, **kwargs)
        if app is None:
            self._ensure_app()
        else:
            warm_up(app)  # the parent warms up once; every forked horse inherits it
        # Keep the warmed-up heap out of the collector's reach: a horse's GC pass would otherwise
        # touch (and so copy) every inherited page.
        gc.collect()
        gc.freeze()


class AppSimpleWorker(_AppContextMixin, SimpleWorker):
    """Runs jobs in its own process (no fork): for tests and the benchmarks' in-process runs."""

    def __init__(self, *args, app=None, **kwargs):
        self.app = app
        self._laurel_parent_pid = os.getpid()
        super().__init__(*args, **kwargs)
