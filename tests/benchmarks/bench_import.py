"""CSV import at speed: 10,000 completion rows through upload -> preview -> confirm, against same-run anchors.

    python tests/benchmarks/bench_import.py [--rows 10000] [--runs 3] [--db sqlite,postgresql]

What it does, for each database and each of `--runs` runs (a fresh schema every time):
1. Seeds 4 courses and 2 active certifications: "A" needs C1 + C2, "B" needs C3 + C4 with a minimum score
   of 70 (every 5th learner scores 50 in C3), and one admin.
2. Writes a CSV of `--rows` completion rows: rows/4 new learners, 4 completions each. At 10,000 rows that
   issues 2,500 A + 2,000 B = 4,500 certificates (and queues 4,500 render jobs).
3. Times the documented flow with the Flask test client, logged in as the admin through the login form:
   POST /import (upload, parse, preview page) then POST /import/confirm (apply in one transaction,
   commit, render jobs pushed to Redis after the commit). The figure is upload start -> confirm answered.
4. Anchor, same run, same database: the raw engine -- the same users, enrollments and completions
   inserted with SQLAlchemy Core executemany in one transaction (no validation, no rules, no events).
5. Checks the outcome (certificates, jobs in Redis) so a fast wrong import cannot pass as a result.

Prints median and spread (min-max) of the 3 runs next to the goal (10 s) and the anchor, with the load
average at the start of each run. PostgreSQL: BENCH_DATABASE_URL (default
postgresql://postgres@127.0.0.1:5432/laurel_bench); this script uses the database `laurel_bench_import`
next to it (dropped and re-created per run). Redis: an embedded one per run (never a shared one).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # run as a plain script from anywhere

from sqlalchemy import create_engine, func, insert, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

GOAL_S = 10.0
PG_DB = "laurel_bench_import"
PASSWORD = "bench-password-42"
RESULTS = ROOT / "bench-results" / "import.txt"
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')
TOKEN_RE = re.compile(r'name="token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="token"')


@dataclass
class Run:
    backend: str
    load: float
    import_s: float
    preview_s: float
    confirm_s: float
    anchor_s: float
    cpu_s: float  # this process's CPU during the import (SQLite runs in it; PostgreSQL's server does not)
    certificates: int
    jobs: int


def pg_url() -> str:
    url = make_url(os.environ.get("BENCH_DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/laurel_bench")
    url = url.set(drivername="postgresql+psycopg", database=PG_DB)
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{PG_DB}"'))
    admin.dispose()
    return url.render_as_string(hide_password=False)


def make_app(instance: Path, db_url: str):
    from app import create_app
    from app.extensions import db

    os.environ.pop("REDIS_URL", None)  # the embedded Redis of this run's instance folder
    os.environ.update(LAUREL_INSTANCE_PATH=str(instance), DATABASE_URL=db_url, MAIL_BACKEND="file")
    os.environ.setdefault("SECRET_KEY", "bench-secret-key-0123456789")
    app = create_app({"REDIS_URL": None, "BASE_URL": "http://localhost", "SERVER_NAME": None,
                      "RATELIMIT_ENABLED": False})
    with app.app_context():
        db.create_all()
    return app


def seed(app) -> None:
    from app.extensions import db
    from app.services.accounts import users
    from app.services.lifecycle import catalog

    with app.app_context():
        users.create_user("admin@example.com", "Bench Admin", "admin", password=PASSWORD, actor="bench")
        courses = [catalog.create_course({"code": f"C{i}", "title": f"Course {i}"}, actor="bench")
                   for i in range(1, 5)]
        catalog.create_certification({"name": "A", "status": "active", "validity_months": 24,
                                      "course_ids": [courses[0].id, courses[1].id]}, actor="bench")
        catalog.create_certification({"name": "B", "status": "active", "min_score": 70,
                                      "course_ids": [courses[2].id, courses[3].id]}, actor="bench")
        db.session.commit()


def csv_rows(rows: int) -> list[tuple]:
    """(email, name, department, course_code, score, completed_at) per row: learners x 4 courses."""
    base = datetime(2026, 1, 5, tzinfo=UTC)
    out = []
    for i in range(rows // 4):
        for course in range(1, 5):
            score = 50.0 if course == 3 and i % 5 == 0 else 70.0 + (i + course) % 30
            out.append((f"learner{i:05d}@example.com", f"Learner {i}", "Nursing", f"C{course}", score,
                        base + timedelta(hours=i % 500, minutes=course)))
    return out


def csv_bytes(rows: list[tuple]) -> bytes:
    lines = ["email,name,department,course_code,status,score,completed_at"]
    lines += [f"{e},{n},{d},{c},completed,{s:g},{at:%Y-%m-%dT%H:%M:%SZ}" for e, n, d, c, s, at in rows]
    return ("\n".join(lines) + "\n").encode()


def _token(pattern: re.Pattern, html: str) -> str:
    match = pattern.search(html)
    if not match:
        raise SystemExit(f"no {pattern.pattern[:20]} in the page:\n{html[:2000]}")
    return match.group(1) or match.group(2)


def timed_import(app, body: bytes) -> tuple[float, float, float]:
    """(preview seconds, confirm seconds, CPU seconds) through the pages, as an admin would."""
    import io

    client = app.test_client()
    csrf = _token(CSRF_RE, client.get("/login").get_data(as_text=True))
    done = client.post("/login", data={"email": "admin@example.com", "password": PASSWORD,
                                       "csrf_token": csrf})
    assert done.status_code == 302, done.status_code
    csrf = _token(CSRF_RE, client.get("/import").get_data(as_text=True))
    started, cpu = time.perf_counter(), time.process_time()
    page = client.post("/import", data={"csrf_token": csrf, "file": (io.BytesIO(body), "bench.csv")},
                       content_type="multipart/form-data")
    previewed = time.perf_counter()
    assert page.status_code == 200, page.get_data(as_text=True)[:2000]
    html = page.get_data(as_text=True)
    answer = client.post("/import/confirm", data={"csrf_token": _token(CSRF_RE, html),
                                                  "token": _token(TOKEN_RE, html)})
    confirmed, cpu = time.perf_counter(), time.process_time() - cpu
    assert answer.status_code == 200, answer.get_data(as_text=True)[:2000]
    return previewed - started, confirmed - previewed, cpu


def anchor(app, rows: list[tuple]) -> float:
    """The raw engine: the same rows as plain INSERT executemany (users, enrollments, completions)."""
    from app.extensions import db
    from app.models import Completion, Enrollment, User

    with app.app_context():
        engine = db.engine
        courses = dict(db.session.execute(text("SELECT code, id FROM courses")).all())
        db.session.remove()
        emails = list(dict.fromkeys(r[0] for r in rows))
        now = datetime.now(UTC)
        started = time.perf_counter()
        with engine.begin() as conn:
            conn.execute(insert(User.__table__), [
                {"email": "raw-" + e, "name": "x", "role": "learner", "active": True, "session_version": 1,
                 "reminder_emails": True, "created_at": now} for e in emails])
            ids = dict(conn.execute(select(User.email, User.id).where(User.email.like("raw-%"))).all())
            conn.execute(insert(Enrollment.__table__), [
                {"user_id": ids["raw-" + e], "course_id": courses[c], "status": "completed", "progress": 100,
                 "score": s, "completed_at": at, "source": "csv", "created_at": now, "updated_at": now}
                for e, _, _, c, s, at in rows])
            enrolled = {(u, c): i for i, u, c in conn.execute(select(Enrollment.id, Enrollment.user_id,
                                                                     Enrollment.course_id)
                                                              .where(Enrollment.user_id.in_(select(User.id).where(
                                                                  User.email.like("raw-%")))))}
            conn.execute(insert(Completion.__table__), [
                {"enrollment_id": enrolled[(ids["raw-" + e], courses[c])], "user_id": ids["raw-" + e],
                 "course_id": courses[c], "completed_at": at, "score": s, "source": "csv", "recorded_at": now}
                for e, _, _, c, s, at in rows])
        return time.perf_counter() - started


def outcome(app) -> tuple[int, int]:
    from app.extensions import db
    from app.models import Certificate
    from app.queue import get_queue

    with app.app_context():
        certificates = db.session.scalar(select(func.count(Certificate.id)))
        jobs = len(get_queue("render"))
        db.session.remove()
    return certificates, jobs


def one_run(backend: str, rows: list[tuple]) -> Run:
    from app import embedded_redis
    from app.extensions import db

    instance = Path(tempfile.mkdtemp(prefix="laurel-bi-"))
    db_url = pg_url() if backend == "postgresql" else f"sqlite:///{instance / 'bench.db'}"
    try:
        app = make_app(instance, db_url)
        seed(app)
        load = os.getloadavg()[0]
        preview_s, confirm_s, cpu_s = timed_import(app, csv_bytes(rows))
        certificates, jobs = outcome(app)
        anchor_s = anchor(app, rows)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        return Run(backend, load, preview_s + confirm_s, preview_s, confirm_s, anchor_s, cpu_s, certificates,
                   jobs)
    finally:
        embedded_redis.stop(instance)
        shutil.rmtree(instance, ignore_errors=True)


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):6.2f} s ({min(values):.2f}-{max(values):.2f})"


def report(backend: str, runs: list[Run], rows: int) -> str:
    imports = [r.import_s for r in runs]
    anchors = [r.anchor_s for r in runs]
    ratio = [r.import_s / r.anchor_s for r in runs]
    lines = [
        f"--- {backend}: {rows:,} rows, {len(runs)} run(s); load average at start: "
        + ", ".join(f"{r.load:.2f}" for r in runs),
        f"{'figure':<44} | {'median (min-max)':<22} | goal     | anchor (same run)",
        f"{'import upload -> confirm answered':<44} | {spread(imports):<22} | < {GOAL_S:.0f} s   | "
        f"raw Core executemany {spread(anchors)}; import/anchor x{statistics.median(ratio):.1f}",
        f"{'  of which preview (upload, parse, page)':<44} | {spread([r.preview_s for r in runs]):<22} |",
        f"{'  of which confirm (apply, commit, enqueue)':<44} | {spread([r.confirm_s for r in runs]):<22} |",
        f"{'  CPU of this process during the import':<44} | {spread([r.cpu_s for r in runs]):<22} |",
        f"{'per row':<44} | {statistics.median(imports) / rows * 1000:6.3f} ms{'':<13} | "
        f"< {GOAL_S / 10_000 * 1000:.1f} ms | raw {statistics.median(anchors) / rows * 1000:.3f} ms",
        f"outcome: certificates {[r.certificates for r in runs]}, "
        f"render jobs in Redis {[r.jobs for r in runs]}",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--db", default="sqlite,postgresql", help="comma-separated: sqlite, postgresql")
    args = parser.parse_args()
    rows = csv_rows(args.rows)
    expected = len(rows) // 4 + len(rows) // 4 - len(range(0, len(rows) // 4, 5))
    out, ok = [], True
    for backend in [b.strip() for b in args.db.split(",") if b.strip()]:
        runs = []
        for number in range(args.runs):
            run = one_run(backend, rows)
            print(f"{backend} run {number + 1}: import {run.import_s:.2f} s (preview {run.preview_s:.2f} + "
                  f"confirm {run.confirm_s:.2f}; CPU {run.cpu_s:.2f}), anchor {run.anchor_s:.2f} s, "
                  f"load {run.load:.2f}, "
                  f"{run.certificates} certificates, {run.jobs} render jobs", flush=True)
            ok &= run.certificates == expected and run.jobs == expected
            runs.append(run)
        out.append(report(backend, runs, len(rows)))
    text_out = "\n\n".join(out) + f"\n(expected {expected} certificates and render jobs per run)\n"
    print("\n" + text_out)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(text_out, encoding="utf-8")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
