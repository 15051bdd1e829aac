"""The certificate pipeline against raw rendering: is the queue machinery cheap enough?

    python tests/benchmarks/bench_pipeline.py [--n 200] [--runs 3] [--workers 1] [--big 0]
                                              [--paths html,fast] [--worker-class app.tasks.worker.AppWorker]

Both engines, each against its own raw anchor measured in the same run (``--runs`` times; median and
spread printed as FIGURE lines for `make bench`'s summary table):

- html: the built-in template through xhtml2pdf; anchor: the same render in this process, making its QR
  code per certificate (a new verify URL each time: the fair anchor, as the pipeline makes one too);
- fast: the Classic starter design as a designer template, drawn by app/documents/fast.py; anchor: the
  same fast render in this process.

Per path and run:

1. raw: ``--n`` renders in this process (warm), CPU per certificate;
2. pipeline: ``--n`` certificates issued in one transaction -> render jobs -> PDFs stored ->
   "certificate issued" mails queued in the outbox, with 1 and with 2 real worker processes
   (``rq worker -w <class> render render-bulk``, the Procfile's `render` process; mails are queued,
   not sent: workers only take the render
   queue);
3. wall time of ``--big`` certificates with 2 workers.

Reports per-certificate times, pipeline rate per worker / raw rate (goal >= 0.9 in worker CPU), and the
peak RSS of the worker processes (parent, and the forked work horses). Uses DATABASE_URL and
REDIS_URL when set (PostgreSQL: give it an empty scratch database), else SQLite + embedded
Redis in a temporary instance folder. Not collected by pytest (no test_ prefix).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # run from anywhere, no install


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="certificates per run (default 200)")
    parser.add_argument("--runs", type=int, default=3, help="runs per path (default 3)")
    parser.add_argument("--workers", default="1", help="worker counts to run, e.g. 1,2")
    parser.add_argument("--paths", default="html,fast", help="engines to measure: html, fast or both")
    parser.add_argument("--big", type=int, default=0,
                        help="certificates for a 2-worker wall time (default 0: skip)")
    parser.add_argument("--worker-class", default="app.tasks.worker.AppWorker")
    return parser.parse_args()


def rss_kb(pid: int, field: str = "VmRSS") -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:  # the process ended meanwhile
        pass
    return 0


def cpu_seconds(pid: int) -> float:
    """CPU time of a process and its waited-for children (the work horses): utime+stime+cutime+cstime."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(v) for v in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def descendants(pid: int) -> list[int]:
    out = []
    for child in Path("/proc").glob("[0-9]*"):
        try:
            if int((child / "stat").read_text().split(") ", 1)[1].split()[1]) == pid:
                out.append(int(child.name))
        except (OSError, IndexError, ValueError):  # gone meanwhile
            continue
    return out


class MemoryWatch(threading.Thread):
    """Samples the workers' RSS (parents' VmHWM, horses' VmRSS) until stopped."""

    def __init__(self, pids: list[int]) -> None:
        super().__init__(daemon=True)
        self.pids, self.parent_kb, self.horse_kb, self.stop = pids, 0, 0, threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            for pid in self.pids:
                self.parent_kb = max(self.parent_kb, rss_kb(pid, "VmHWM"))
                for child in descendants(pid):
                    self.horse_kb = max(self.horse_kb, rss_kb(child))
            time.sleep(0.1)


def raw(n: int, path: str) -> tuple[float, float]:
    """Seconds and CPU seconds per certificate, rendering in this process (warm), a new verify URL (and
    so a new QR code) for each certificate, as the pipeline does."""
    from app.documents import default_template, render_pdf, sample_context, warm_up
    from app.documents import fast as fast_renderer
    from app.documents.design_schema import check_design
    from app.documents.designs import STARTER_PAGE, STARTERS

    warm_up()
    html, css = default_template()
    elements = check_design(STARTERS["classic"][2], *STARTER_PAGE)
    context = sample_context()
    del context["qr_data_uri"]  # the sample's is cached: the anchor makes its own, as the pipeline does

    def once() -> bytes:
        if path == "fast":
            return fast_renderer.render_design(elements, context)
        return render_pdf(html, css, context)

    once()
    timings = []
    cpu_started = time.process_time()
    for i in range(n):
        context["serial"] = f"LAU-2026-{i:06d}"
        context["verify_url"] = f"http://localhost/verify/bench{i:020d}"
        started = time.perf_counter()
        once()
        timings.append(time.perf_counter() - started)
    cpu = (time.process_time() - cpu_started) / n
    sign = sign_cpu(once(), max(n // 4, 5))
    print(f"raw {path:<4} n={n}: median {statistics.median(timings) * 1000:.1f} ms, "
          f"mean {statistics.fmean(timings) * 1000:.1f} ms, {n / sum(timings):.1f} certificates/s; "
          f"CPU {cpu * 1000:.1f} ms/certificate; PAdES signing alone {sign * 1000:.1f} ms CPU")
    return statistics.fmean(timings), cpu, sign


def sign_cpu(pdf: bytes, n: int) -> float:
    """CPU seconds to PAdES-sign one rendered certificate (a self-issued identity, no timestamp), as every
    stored PDF is: the second anchor, raw render + signature, is the work no pipeline can skip."""
    from app.credentials import pades
    from app.credentials.x509 import make_self_issued

    identity = make_self_issued("Bench")
    pades.sign_pdf(pdf, identity)
    started = time.process_time()
    for _ in range(n):
        pades.sign_pdf(pdf, identity)
    return (time.process_time() - started) / n


def figure_line(name: str, values: list[float], unit: str, goal: str, anchor: str,
                anchor_values: list[float]) -> str:
    """One FIGURE line (tests/benchmarks/README.md): median, min, max over the runs, and the anchor."""
    spread = f"{statistics.median(values):.2f}|{min(values):.2f}|{max(values):.2f}"
    return f"FIGURE|{name}|{spread}|{unit}|{goal}|{anchor}|{statistics.median(anchor_values):.1f}"


def make_app(env: dict[str, str]):
    os.environ.update(env)
    from app import create_app

    return create_app()


def reset_database(app) -> None:
    from flask_migrate import upgrade
    from sqlalchemy import text

    from app.extensions import db

    with app.app_context():
        with db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":  # a scratch database: whatever is in it goes
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
            else:  # a fresh SQLite file in a fresh instance folder
                conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
        upgrade(directory=str(ROOT / "migrations"))
        from app.queue import get_redis

        get_redis().flushdb()


def designed_template(app, run: str) -> int:
    """A template made with the designer (the Classic starter): the fast renderer draws it."""
    from app.extensions import db
    from app.services.documents import designer_layout

    with app.app_context():
        template = designer_layout.create_from_starter("classic", actor="bench")
        template.name = f"Bench {run}"
        db.session.commit()
        return template.id


def issue_batch(app, n: int, run: str, template_id: int | None = None) -> float:
    """Create n learners and issue n certificates in one transaction; returns the commit moment."""
    from app.extensions import db
    from app.models import User
    from app.services.lifecycle import catalog, issuing

    with app.app_context():
        course = catalog.create_course({"code": f"B-{run}", "title": "Benchmarking"}, actor="bench")
        certification = catalog.create_certification(
            {"name": f"Bench {run}", "status": "active", "course_ids": [course.id], "validity_months": 24},
            actor="bench")
        certification.template_id = template_id
        users = [User(email=f"{run}-{i}@example.com", name=f"Learner {run} {i}", role="learner",
                      password_hash="x") for i in range(n)]
        db.session.add_all(users)
        db.session.flush()
        for user in users:
            issuing.issue(user, certification, actor="bench", note="benchmark")
        started = time.perf_counter()
        db.session.commit()  # the render jobs are enqueued now
        return started


def count_done(app, run: str) -> tuple[int, int]:
    from sqlalchemy import func, select

    from app.extensions import db
    from app.models import Certificate, Certification, OutboxEmail

    with app.app_context():
        cert_ids = select(Certification.id).where(Certification.name == f"Bench {run}").scalar_subquery()
        ready = db.session.scalar(select(func.count()).select_from(Certificate).where(
            Certificate.certification_id == cert_ids, Certificate.pdf_status == "ready"))
        mails = db.session.scalar(select(func.count()).select_from(OutboxEmail)
                                  .where(OutboxEmail.to.like(f"{run}-%")))
        db.session.remove()
        return ready, mails


def start_workers(count: int, env: dict[str, str], worker_class: str, redis: str) -> list[subprocess.Popen]:
    from app.queue import RENDER_QUEUES

    command = [str(Path(sys.executable).parent / "rq"), "worker", "-w", worker_class, "--url", redis,
               "--disable-job-desc-logging", "--logging_level", "WARNING", *RENDER_QUEUES]
    return [subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env}, stdout=subprocess.DEVNULL)
            for _ in range(count)]


def wait_registered(app, count: int) -> None:
    from rq import Worker

    from app.queue import get_redis

    with app.app_context():
        deadline = time.monotonic() + 120
        while len(Worker.all(connection=get_redis())) < count:
            if time.monotonic() > deadline:
                raise RuntimeError("workers did not start")
            time.sleep(0.05)


def pipeline(app, env, n: int, workers: int, worker_class: str, run: str,
             template_id: int | None = None) -> tuple[float, float, int, int]:
    """Seconds from the commit that enqueues n renders to n PDFs stored + n mails queued."""
    from app.queue import redis_url

    with app.app_context():
        redis = redis_url()
    procs = start_workers(workers, env, worker_class, redis)
    watch = MemoryWatch([p.pid for p in procs])
    try:
        wait_registered(app, workers)
        cpu_before = sum(cpu_seconds(p.pid) for p in procs)
        watch.start()
        started = issue_batch(app, n, run, template_id)
        while True:
            ready, mails = count_done(app, run)
            if ready == n and mails == n:
                break
            if any(p.poll() is not None for p in procs):
                raise RuntimeError("a worker died")
            time.sleep(0.25)  # each poll is a read: keep it from competing with the workers
        elapsed = time.perf_counter() - started
        time.sleep(0.5)  # let the last horse be reaped so its CPU time is counted
        cpu = (sum(cpu_seconds(p.pid) for p in procs) - cpu_before) / n
    finally:
        watch.stop.set()
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(30)
    return elapsed, cpu, watch.parent_kb, watch.horse_kb


def main() -> None:
    args = parse_args()
    instance = Path(tempfile.mkdtemp(prefix="laurel-bench-"))
    env = {"LAUREL_INSTANCE_PATH": str(instance), "MAIL_BACKEND": "file", "BASE_URL": "http://localhost",
           "RATELIMIT_ENABLED": "false", "STORAGE_ROOT": str(instance / "files")}
    for key in ("DATABASE_URL", "REDIS_URL"):
        if os.environ.get(key):
            env[key] = os.environ[key]
    app = make_app(env)
    reset_database(app)
    database = app.config["SQLALCHEMY_DATABASE_URI"].split("@")[-1]
    print(f"database {database}, worker class {args.worker_class}, load average {os.getloadavg()[0]:.1f}")

    ratios: dict[str, list[float]] = {}
    anchors: dict[str, list[float]] = {}
    for run in range(1, args.runs + 1):
        for path in args.paths.split(","):
            raw_seconds, raw_cpu, sign = raw(args.n, path)
            raw_rate = 1 / raw_seconds
            anchors.setdefault(path, []).append(raw_cpu * 1000)
            anchors.setdefault(f"{path} signed", []).append((raw_cpu + sign) * 1000)
            template_id = designed_template(app, f"{path}-{run}") if path == "fast" else None
            for workers in [int(w) for w in args.workers.split(",")]:
                elapsed, cpu, parent_kb, horse_kb = pipeline(app, env, args.n, workers, args.worker_class,
                                                             f"{path}-r{run}-w{workers}", template_id)
                rate = args.n / elapsed
                print(f"pipeline {path} n={args.n} workers={workers}: {elapsed:.2f} s wall, "
                      f"{elapsed / args.n * 1000:.1f} ms/certificate, {rate:.1f} certificates/s; "
                      f"per worker {rate / workers:.1f}/s = {rate / workers / raw_rate:.2f} x raw (wall); "
                      f"worker CPU {cpu * 1000:.1f} ms/certificate = {raw_cpu / cpu:.2f} x raw (CPU); "
                      f"peak RSS parent {parent_kb / 1024:.0f} MB, horse {horse_kb / 1024:.0f} MB",
                      flush=True)
                if workers == 1:
                    ratios.setdefault(path, []).append(raw_cpu / cpu)
                    ratios.setdefault(f"{path} signed", []).append((raw_cpu + sign) / cpu)
                    ratios.setdefault(f"{path} ms", []).append(cpu * 1000)
    for path in args.paths.split(","):
        print(figure_line(f"pdf pipeline {path} vs raw (CPU)", ratios[path], "x raw rate (CPU)", ">= 0.9",
                          f"raw {path}+QR ms/cert", anchors[path]))
        print(figure_line(f"pdf pipeline {path} vs raw+sign", ratios[f"{path} signed"], "x raw+sign (CPU)",
                          ">= 0.9", f"raw {path}+QR+sign ms", anchors[f"{path} signed"]))
        print(figure_line(f"pdf pipeline {path} CPU/cert", ratios[f"{path} ms"], "ms", "-",
                          f"raw {path}+QR ms/cert", anchors[path]))
    if "fast" in anchors and "html" in anchors:
        speedups = [h / f for h, f in zip(anchors["html"], anchors["fast"], strict=True)]
        print(figure_line("pdf fast renderer vs html (raw)", speedups, "x html rate", "-",
                          "raw html+QR ms/cert", anchors["html"]))
    if args.big:
        elapsed, _, parent_kb, horse_kb = pipeline(app, env, args.big, 2, args.worker_class, "big")
        print(f"pipeline n={args.big} workers=2: {elapsed:.1f} s wall "
              f"({args.big / elapsed:.1f} certificates/s); "
              f"peak RSS parent {parent_kb / 1024:.0f} MB, horse {horse_kb / 1024:.0f} MB")
    print(f"load average at the end {os.getloadavg()[0]:.1f} (shared machine: compare ratios)")
    if not os.environ.get("REDIS_URL"):
        subprocess.run(["redis-cli", "-s", str(instance / "redis.sock"), "shutdown", "nosave"],
                       check=False, capture_output=True)


if __name__ == "__main__":
    main()
