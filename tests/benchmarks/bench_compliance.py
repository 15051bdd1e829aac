"""The compliance matrix at 20,000 people x 20 requirements (400,000 cells) on PostgreSQL.

    python tests/benchmarks/bench_compliance.py [--runs 3] [--samples 15] [--reseed]

1. Creates the database `laurel_bench_compliance` (COMPLIANCE_BENCH_DATABASE_URL, default
   postgresql://postgres@127.0.0.1:5432/laurel_bench_compliance) and builds the schema with the migrations.
2. Seeds once, set-based (INSERT ... SELECT FROM generate_series): an "Organisation" department with 10
   sub-departments of 2,000 people each, 20 certifications, 20 requirements on the Organisation (and
   below), about 70% of the cells holding a certificate (valid, expiring or expired, 2% revoked), 1% of
   the cells exempt.
3. Times, per run, `--samples` executions (p95) of: the first page of the matrix for one department of
   2,000 people (its 40,000 cells ordered and counted: app.services.compliance.matrix.page), and the
   organisation's summary (per department and per certification: matrix.summary, which pages read from
   the Redis cache kept under the "compliance" generation), and the same summary computed afresh each time
   (the generation moved on before each, as any change would). Each next to its anchor, the same SQL
   statement executed alone (no Python shaping), in the same run.
Goal: p95 < 300 ms for the department page and the summary.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from tests.benchmarks import pg_seed  # noqa: E402
from tests.benchmarks.pg_seed import ensure_database  # noqa: E402

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/laurel_bench_compliance"
GOAL_MS = 300.0
DEPARTMENTS, PER_DEPARTMENT, CERTIFICATIONS = 10, 2_000, 20
PEOPLE = DEPARTMENTS * PER_DEPARTMENT

SEED_SQL = [
    """INSERT INTO departments (id, name, name_key, created_at)
       VALUES (1, 'Organisation', 'organisation', now())""",
    f"""INSERT INTO departments (id, name, name_key, parent_id, created_at)
        SELECT g + 1, 'Team ' || g, 'team ' || g, 1, now() FROM generate_series(1, {DEPARTMENTS}) g""",
    f"""INSERT INTO users (email, name, role, department_id, active, session_version, reminder_emails,
                           reads_everything, created_at)
        SELECT 'person' || g || '@bench.example', 'Person ' || lpad(g::text, 6, '0'), 'learner',
               ((g - 1) / {PER_DEPARTMENT}) + 2, true, 1, true, false,
               (now() at time zone 'utc') - interval '400 days' + (g % 300) * interval '1 day'
        FROM generate_series(1, {PEOPLE}) g""",
    """INSERT INTO users (email, name, role, active, session_version, reminder_emails, reads_everything,
                          created_at)
       VALUES ('admin@bench.example', 'Bench Admin', 'admin', true, 1, true, false, now())""",
    f"""INSERT INTO certifications (name, description, status, validity_months, renewal_window_days,
                                    reminder_days, issuer_name, signatory_name, signatory_title, created_at,
                                    updated_at)
        SELECT 'Certification ' || lpad(g::text, 2, '0'), '', 'active', 24, 90, '[]', '', '', '', now(), now()
        FROM generate_series(1, {CERTIFICATIONS}) g""",
    f"""INSERT INTO compliance_requirements (certification_id, scope, department_id, include_subdepartments,
                                             due_days, auto_enrol, escalate_learner_days,
                                             escalate_manager_days, escalate_admin_days, created_at)
        SELECT g, 'department', 1, true, 30 + g, false, 0, 7, 14,
               (now() at time zone 'utc') - interval '200 days'
        FROM generate_series(1, {CERTIFICATIONS}) g""",
    f"""INSERT INTO certificates (serial, code, user_id, certification_id, cycle, issued_at, expires_at,
                                  renewal_opens_at, revoked_at, snapshot, pdf_status, pdf_attempts, public)
        SELECT 'C-' || u || '-' || c, md5(u || '-' || c), u, c, 1, t.issued, t.issued + interval '24 months',
               t.issued + interval '24 months' - interval '90 days',
               CASE WHEN (u + c) % 50 = 0 THEN t.issued + interval '30 days' END, '{{}}', 'ready', 0, false
        FROM generate_series(1, {PEOPLE}) u, generate_series(1, {CERTIFICATIONS}) c,
             LATERAL (SELECT (now() at time zone 'utc') - ((u * 7 + c * 13) % 900) * interval '1 day'
                      AS issued) t
        WHERE (u * 31 + c * 17) % 10 < 7""",
    f"""INSERT INTO compliance_exemptions (user_id, certification_id, reason, created_at)
        SELECT u, c, 'Bench exemption', now()
        FROM generate_series(1, {PEOPLE}) u, generate_series(1, {CERTIFICATIONS}) c
        WHERE (u * 13 + c * 7) % 100 = 0""",
]


def bench_url():
    raw = os.environ.get("COMPLIANCE_BENCH_DATABASE_URL") or DEFAULT_URL
    return make_url(raw).set(drivername="postgresql+psycopg")


def make_app(url):
    os.environ.setdefault("LAUREL_INSTANCE_PATH", tempfile.mkdtemp(prefix="laurel-bench-"))
    from app import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": url.render_as_string(hide_password=False), "TESTING": True})


def seed(db, reseed: bool) -> None:
    # Departments were inserted with their ids: the sequence moves past them for departments made later.
    statements = [*SEED_SQL, "SELECT setval(pg_get_serial_sequence('departments', 'id'), 100)"]
    pg_seed.seed(db, statements, done_when="SELECT count(*) FROM users", enough=PEOPLE, reseed=reseed)


def p95(fn: Callable[[], object], samples: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(samples):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]


def raw(db, stmt) -> Callable[[], object]:
    """The statement alone: compiled once with its values inlined, executed as plain SQL."""
    sql = text(str(stmt.compile(dialect=db.engine.dialect, compile_kwargs={"literal_binds": True})))
    return lambda: db.session.execute(sql).all()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--samples", type=int, default=15)
    parser.add_argument("--reseed", action="store_true")
    args = parser.parse_args()
    url = bench_url()
    ensure_database(url)
    app = make_app(url)
    from app.database import utcnow
    from app.extensions import db
    from app.models import User
    from app.services.compliance import matrix
    from app.services.lifecycle import generations

    with app.app_context():
        seed(db, args.reseed)
        admin = db.session.scalar(db.select(User).where(User.email == "admin@bench.example"))
        now = utcnow()
        department = matrix.Filters(department_id=2)
        org = matrix.Filters()
        cells, total = matrix.page(department, now, admin, 1, 50)
        summary = matrix.summary(org, now, admin)
        print(f"department page: {total} cells, {len(cells)} on the page; organisation: "
              f"{summary.overall.total} cells, {summary.overall.percent} % compliant, states "
              f"{summary.overall.counts}")
        measures = {
            "department page (2,000 people)": (
                lambda: matrix.page(department, now, admin, 1, 50),
                raw(db, matrix.page_statement(department, now, admin, 1, 50))),
            "organisation summary": (
                lambda: matrix.summary(org, now, admin),
                raw(db, matrix.summary_statement(org, now, admin))),
            # Every time computed afresh (the generation moved on first, as a commit would):
            "organisation summary, uncached": (
                lambda: (generations.bump(matrix.GENERATION), matrix.summary(org, now, admin)),
                raw(db, matrix.summary_statement(org, now, admin))),
        }
        results: dict[str, list[tuple[float, float]]] = {name: [] for name in measures}
        for run in range(args.runs):
            for name, (full, alone) in measures.items():
                anchor = p95(alone, args.samples)
                figure = p95(full, args.samples)
                results[name].append((figure, anchor))
                print(f"run {run + 1}: {name:32} p95 {figure:7.1f} ms   raw SQL alone p95 {anchor:7.1f} ms",
                      flush=True)
        for name, pairs in results.items():
            figures = [f for f, _ in pairs]
            anchor = statistics.median(a for _, a in pairs)
            kind = {"department page (2,000 people)": "department page",
                    "organisation summary": "org summary"}.get(name, "org summary, uncached")
            slug = f"compliance p95: {kind}"
            print(f"FIGURE|{slug}|{statistics.median(figures):.1f}|{min(figures):.1f}|{max(figures):.1f}|ms"
                  f"|<{GOAL_MS:.0f}|raw SQL alone p95|{anchor:.1f}")


if __name__ == "__main__":
    main()
