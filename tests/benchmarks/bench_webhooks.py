"""Webhook delivery and Moodle sync benchmark (not collected by pytest).

1. 1,000 lifecycle events x 3 endpoints: events go through the real subscriber (one WebhookEvent + 3
   deliveries each, committed in batches of 100), 2 `flask worker` processes (the production AppWorker,
   as `make run` starts it: deliveries run in the worker process, see IN_PROCESS_JOBS) deliver them to a
   local receiver. Reports wall time (first commit -> last delivery received), throughput and p50/p95
   latency (event created -> request received).
2. Moodle sync of 100 courses x 200 users from the simulator: full run, then an incremental re-run, with
   the SQL statements each ran. `--certifications N` first creates N active certifications requiring 2
   of the Moodle courses each (so completions issue certificates, as on a real site).

PostgreSQL: BENCH_DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/laurel_bench; a database
`laurel_bench_webhooks` is created next to it). Redis: REDIS_URL, else the embedded one.

    .venv/bin/python tests/benchmarks/bench_webhooks.py [--events 1000] [--workers 2] [--simple]
        [--skip-webhooks] [--skip-moodle] [--courses 100] [--users 200] [--certifications 0]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
DB_NAME = "laurel_bench_webhooks"


def database_url() -> str:
    url = make_url(
        os.environ.get("BENCH_DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/laurel_bench"
    )
    url = url.set(drivername="postgresql+psycopg", database=DB_NAME)
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{DB_NAME}"'))
    admin.dispose()
    return url.render_as_string(hide_password=False)


def make_app(instance: str, db_url: str):
    os.environ.update(
        LAUREL_INSTANCE_PATH=instance, DATABASE_URL=db_url, OUTGOING_ALLOW_PRIVATE="1", MAIL_BACKEND="file"
    )
    os.environ.setdefault("SECRET_KEY", "bench-secret-key-0123456789")
    from flask_migrate import upgrade

    from app import create_app

    app = create_app()
    with app.app_context():
        upgrade()
    return app


def start_workers(n: int, env: dict, simple: bool) -> list[subprocess.Popen]:
    """`flask worker` (AppWorker, the production default: a forked horse per job except the short ones in
    IN_PROCESS_JOBS, deliveries among them) or, with `simple`, `rq worker -w
    app.tasks.worker.AppSimpleWorker` (every job runs in the worker process itself)."""
    if simple:
        cmd = [
            str(ROOT / ".venv/bin/rq"),
            "worker",
            "-w",
            "app.tasks.worker.AppSimpleWorker",
            "--url",
            env["REDIS_URL"],
            "high",
            "default",
            "low",
        ]
    else:
        cmd = [str(ROOT / ".venv/bin/flask"), "--app", "wsgi", "worker", "--no-scheduler"]
    return [
        subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(n)
    ]


def bench_webhooks(app, n_events: int, n_endpoints: int, n_workers: int, simple: bool) -> None:
    """Workers run while the events are emitted (100 per transaction), as in production."""
    from app.extensions import db
    from app.models.integration import Integration, WebhookDelivery, WebhookEvent
    from app.queue import redis_url
    from app.services import events
    from app.services.integrations import registry
    from tests.support.receiver import Receiver

    with Receiver() as rx, app.app_context():
        for old in db.session.query(Integration):
            old.active = False
        for i in range(n_endpoints):
            hook, _ = registry.create(
                "generic_webhook",
                {"name": f"Endpoint {i}", "url": rx.url_for(f"/e{i}"), "event_types": ["user.created"]},
                actor="bench",
            )
            registry.set_active(hook, True, actor="bench")
        db.session.commit()
        workers = start_workers(n_workers, {**os.environ, "REDIS_URL": redis_url()}, simple)
        time.sleep(3)  # let the workers start
        started = time.perf_counter()
        for batch in range(0, n_events, 100):
            for n in range(batch, min(batch + 100, n_events)):
                events.emit(
                    "user.created",
                    {
                        "id": n,
                        "email": f"user{n}@example.com",
                        "name": f"User {n}",
                        "role": "learner",
                        "department": None,
                        "active": True,
                    },
                )
            db.session.commit()
        emitted = time.perf_counter() - started
        try:
            rx.wait_for(n_events * n_endpoints, timeout=1800)
        finally:
            wall = time.perf_counter() - started
            for worker in workers:
                worker.terminate()
                worker.wait(timeout=60)
        ids = {e.id: e.created_at.timestamp() for e in db.session.query(WebhookEvent)}
        latencies = sorted(r.time - ids[r.headers["webhook-id"]] for r in rx.requests)
        statuses = dict(
            db.session.query(WebhookDelivery.status, db.func.count()).group_by(WebhookDelivery.status)
        )
        total = n_events * n_endpoints
        kind = "simple (no fork)" if simple else "AppWorker (production)"
        print(
            f"webhooks: {n_events} events x {n_endpoints} endpoints = {total} deliveries, "
            f"{n_workers} {kind} workers"
        )
        print(
            f"  events emitted+committed in {emitted:.2f} s; all delivered after {wall:.2f} s "
            f"({total / wall:.0f} deliveries/s); rows: {statuses}"
        )
        print(
            f"  latency event->received: p50 {statistics.median(latencies) * 1000:.0f} ms, "
            f"p95 {latencies[int(len(latencies) * 0.95) - 1] * 1000:.0f} ms, "
            f"max {latencies[-1] * 1000:.0f} ms"
        )


def bench_moodle(app, courses: int, users: int, certifications: int = 0) -> None:
    from sqlalchemy import event

    from app.extensions import db
    from app.models.integration import SyncRun
    from app.services.integrations import moodle, registry, syncs
    from tests.support.moodle_simulator import MoodleSimulator, big_site

    statements = [0]

    def count(*_args) -> None:
        statements[0] += 1

    with MoodleSimulator(big_site(courses, users)) as sim, app.app_context():
        integration, _ = registry.create(
            "moodle", {"name": "Big Moodle", "site_url": sim.url, "moodle_token": "full"}, actor="bench"
        )
        registry.set_active(integration, True, actor="bench")
        if certifications:
            _certifications(sim, integration, certifications)
        db.session.commit()
        event.listen(db.engine, "before_cursor_execute", count)
        fetching = [0.0]
        real_fetch = moodle.fetch_changes

        def timed_fetch(*args, **kwargs):
            started = time.perf_counter()
            try:
                return real_fetch(*args, **kwargs)
            finally:
                fetching[0] = time.perf_counter() - started

        moodle.fetch_changes = timed_fetch
        for label in ("full", "incremental"):
            statements[0] = 0
            started = time.perf_counter()
            summary = syncs.run(integration.id, trigger="manual")
            db.session.commit()
            took = time.perf_counter() - started
            run = db.session.get(SyncRun, summary["run_id"])
            print(
                f"moodle {label} sync of {courses} courses x {users} users "
                f"({certifications} certifications): {took:.2f} s (fetching {fetching[0]:.2f} s), "
                f"status {run.status}, created {run.created}, updated {run.updated}, "
                f"unchanged {run.unchanged}, failed {run.failed}, "
                f"{run.details.get('api_calls')} API calls, {statements[0]} SQL statements"
            )
            applied = sum((run.details.get("completions") or {}).values())
            if applied:
                per = (took - fetching[0]) / applied * 1000
                print(f"  figure | goal | anchor: whole sync {took:.2f} s | < 25 s | fetching alone "
                      f"{fetching[0]:.2f} s; apply {per:.2f} ms per completion ({applied} completions) "
                      f"| < 2 ms | load average {os.getloadavg()[0]:.2f}")
        event.remove(db.engine, "before_cursor_execute", count)
        moodle.fetch_changes = real_fetch
        issued = db.session.scalar(text("SELECT count(*) FROM certificates"))
        print(f"  certificates issued: {issued}")


def _certifications(sim, integration, n: int) -> None:
    """The Moodle courses as the sync would key them, and `n` certifications needing 2 of them each."""
    from app.services.lifecycle import catalog

    moodle_courses = [c for c in sim.site.courses.values() if c.format != "site"]
    laurel = [
        catalog.create_course(
            {"code": c.shortname, "title": c.fullname, "source": f"moodle:{integration.id}",
             "external_id": str(c.id)},
            actor="bench",
        )
        for c in moodle_courses
    ]
    for i in range(n):
        pair = [laurel[(2 * i) % len(laurel)].id, laurel[(2 * i + 1) % len(laurel)].id]
        catalog.create_certification(
            {"name": f"Certification {i + 1}", "status": "active", "course_ids": pair,
             "validity_months": 24},
            actor="bench",
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--endpoints", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--courses", type=int, default=100)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--simple", action="store_true", help="non-forking workers (AppSimpleWorker)")
    parser.add_argument("--certifications", type=int, default=0)
    parser.add_argument("--skip-moodle", action="store_true")
    parser.add_argument("--skip-webhooks", action="store_true")
    args = parser.parse_args()
    instance = tempfile.mkdtemp(prefix="laurel-bw-")
    app = make_app(instance, database_url())
    try:
        if not args.skip_webhooks:
            bench_webhooks(app, args.events, args.endpoints, args.workers, args.simple)
        if not args.skip_moodle:
            bench_moodle(app, args.courses, args.users, args.certifications)
    finally:
        if not os.environ.get("REDIS_URL"):
            subprocess.run(
                ["redis-cli", "-s", f"{instance}/redis.sock", "shutdown", "nosave"],
                check=False,
                capture_output=True,
            )


if __name__ == "__main__":
    main()
