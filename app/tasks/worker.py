"""RQ worker classes that run jobs inside a Laurel app context.

`rq worker --with-scheduler -w app.tasks.worker.AppWorker` (Procfile) or `flask --app wsgi worker`.
The default worker forks a work horse per job; whatever the child loads lazily is paid on every
job, so the parent warms the app up once before it starts forking.
"""

from __future__ import annotations

import gc
import os

from rq import SimpleWorker, Worker
from rq.worker import WorkerStatus

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


class _AppContextMixin:
    app = None

    def _ensure_app(self):
        if self.app is None:
            self.app = _make_app()
            warm_up(self.app)
        return self.app

    def perform_job(self, job, queue, *args, **kwargs):
        app = self._ensure_app()
        with app.app_context():
            if os.getpid() != self._laurel_parent_pid:
                # A forked horse must not reuse the parent's pooled database connections.
                db.engine.dispose(close=False)
            try:
                return super().perform_job(job, queue, *args, **kwargs)
            finally:
                db.session.remove()


#: Jobs run inside the warm worker process instead of a forked horse. Forking costs ~90 ms of CPU
#: per job here (the horse copies the pages it touches), more than the render job needs beyond
#: the PDF itself (tests/benchmarks/bench_pipeline.py). These jobs are short, bounded (the PDF
#: engine's own time limit, the RQ timeout) and recovered from the database if a worker dies.
IN_PROCESS_JOBS = frozenset({"app.tasks.render.render_certificate"})


class AppWorker(_AppContextMixin, Worker):
    def execute_job(self, job, queue):
        if job.func_name not in IN_PROCESS_JOBS:
            return super().execute_job(job, queue)
        execution = self.prepare_execution(job)
        self.perform_job(job, queue, execution)
        self.set_state(WorkerStatus.IDLE)
        return None

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
