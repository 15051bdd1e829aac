"""Analytics on a big PostgreSQL database: every figure's query and the whole page, p50/p95 in ms.

    python tests/benchmarks/bench_analytics.py [--runs 20] [--reseed] [--explain-over 100]

1. Creates the database `laurel_bench` (BENCH_DATABASE_URL, default
   postgresql://postgres@127.0.0.1:5432/laurel_bench) if missing and builds the schema with the migrations.
2. Seeds once (or again with --reseed), set-based INSERT ... SELECT FROM generate_series: 100,000 learners
   in 20 departments, 2,000 courses in 10 categories, 500 certifications (3 courses each), 1,000,000
   certificates over two years (popularity skewed; 80% expire after 24 months, 2% revoked), 1,000,000
   enrolments (60% completed, with their completions) and 500,000 daily engagement counters.
3. Times each figure uncached (`figures.figure_data`: the SQL plus shaping) with no filters and with
   two filters (department + course category), then the page (Flask test client, logged-in admin) the
   same ways: cold (cache invalidated before each request), cold plus every figure the page left to htmx
   fetched one after the other, and warm; and the CSV export of the largest table.
4. Prints EXPLAIN (ANALYZE, BUFFERS) of the figures whose p95 is over --explain-over ms.
Goal: p95 < 300 ms.
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

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/laurel_bench"
GOAL_MS = 300.0
LEARNERS, COURSES, CERTIFICATIONS, CERTIFICATES, ENROLLMENTS, COUNTERS = (
    100_000, 2_000, 500, 1_000_000, 1_000_000, 500_000)

SEED_SQL = [
    """INSERT INTO departments (id, name, name_key, created_at)
        SELECT g + 1, 'Department ' || g, 'department ' || g, now() FROM generate_series(0, 19) g""",
    """INSERT INTO departments (id, name, name_key, created_at)
       VALUES (21, 'Administration', 'administration', now())""",
    f"""INSERT INTO users (email, name, role, department_id, active, session_version, reminder_emails,
                           created_at)
        SELECT 'learner' || g || '@bench.example', 'Learner ' || g, 'learner', (g % 20) + 1,
               true, 1, true, now() FROM generate_series(1, {LEARNERS}) g""",
    """INSERT INTO users (email, name, role, department_id, active, session_version, reminder_emails,
                          created_at)
       VALUES ('admin@bench.example', 'Bench Admin', 'admin', 21, true, 1, true, now())""",
    f"""INSERT INTO courses (code, title, category, description, archived, source, created_at)
        SELECT 'C-' || g, 'Course ' || g, 'Category ' || (g % 10), '', false, 'manual', now()
        FROM generate_series(1, {COURSES}) g""",
    f"""INSERT INTO certifications (name, description, status, validity_months, renewal_window_days,
                                    reminder_days, issuer_name, signatory_name, signatory_title, created_at,
                                    updated_at)
        SELECT 'Certification ' || g, '', 'active', 24, 90, '[90, 30, 7]', '', '', '', now(), now()
        FROM generate_series(1, {CERTIFICATIONS}) g""",
    f"""INSERT INTO certification_courses (certification_id, course_id)
        SELECT c, ((c * 4 + k) % {COURSES}) + 1 FROM generate_series(1, {CERTIFICATIONS}) c,
               generate_series(0, 2) k""",
    f"""INSERT INTO certificates (serial, code, user_id, certification_id, cycle, issued_at, expires_at,
                                  renewal_opens_at, revoked_at, snapshot, pdf_status, pdf_attempts, public)
        SELECT 'B-' || g, md5(g::text), (g % {LEARNERS}) + 1,
               least({CERTIFICATIONS}, floor({CERTIFICATIONS} * power(random(), 2))::int + 1), g,
               t.issued, CASE WHEN g % 5 <> 0 THEN t.issued + interval '24 months' END,
               CASE WHEN g % 5 <> 0 THEN t.issued + interval '24 months' - interval '90 days' END,
               CASE WHEN g % 50 = 0 THEN t.issued + interval '30 days' END, '{{}}', 'ready', 0, false
        FROM generate_series(1, {CERTIFICATES}) g,
             LATERAL (SELECT (now() at time zone 'utc') - random() * interval '730 days' + g * interval '0'
                      AS issued) t""",
    f"""INSERT INTO enrollments (user_id, course_id, status, progress, score, completed_at, source,
                                 created_at, updated_at)
        SELECT u, c, s.status, CASE WHEN s.status = 'completed' THEN 100 ELSE 30 END,
               CASE WHEN s.status = 'completed' THEN 40 + round((random() * 60)::numeric, 1) END,
               CASE WHEN s.status = 'completed' THEN t.created + random() * interval '60 days' END,
               'seed', t.created, t.created
        FROM generate_series(0, {ENROLLMENTS - 1}) g,
             LATERAL (SELECT (g % {LEARNERS}) + 1 AS u,
                             (((g % {LEARNERS}) * 7 + (g / {LEARNERS}) * 13) % {COURSES}) + 1 AS c) k,
             LATERAL (SELECT CASE WHEN g % 20 < 12 THEN 'completed' WHEN g % 20 < 16 THEN 'in_progress'
                                  WHEN g % 20 < 19 THEN 'enrolled' ELSE 'withdrawn' END AS status) s,
             LATERAL (SELECT (now() at time zone 'utc') - random() * interval '730 days' + g * interval '0'
                      AS created) t""",
    """INSERT INTO completions (enrollment_id, user_id, course_id, completed_at, score, source, recorded_at)
       SELECT id, user_id, course_id, completed_at, score, 'seed', completed_at FROM enrollments
       WHERE status = 'completed'""",
    f"""INSERT INTO engagement_counters (certificate_id, kind, day, count)
        SELECT (g * 2 % {CERTIFICATES}) + 1, (ARRAY['view', 'download', 'share', 'linkedin'])[g % 4 + 1],
               current_date - (g % 365), 1 + g % 5 FROM generate_series(1, {COUNTERS}) g""",
]
TWO_FILTERS = {"department": "Department 3", "category": "Category 2"}


def bench_url():
    return make_url(os.environ.get("BENCH_DATABASE_URL") or DEFAULT_URL).set(drivername="postgresql+psycopg")


def make_app(url):
    os.environ.setdefault("LAUREL_INSTANCE_PATH", tempfile.mkdtemp(prefix="laurel-bench-"))
    from flask_login import FlaskLoginClient

    from app import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": url.render_as_string(hide_password=False),
                      "TESTING": True, "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False})
    app.test_client_class = FlaskLoginClient
    return app


def seed(db, reseed: bool) -> None:
    pg_seed.seed(db, SEED_SQL, done_when="SELECT count(*) FROM certificates",
                 enough=CERTIFICATES, reseed=reseed)


def show(row: tuple) -> None:
    name, label, median, p95 = row
    print(f"{name:38} {label:22} {median:8.1f} {p95:8.1f}{'' if p95 < GOAL_MS else '  OVER'}", flush=True)


def log_in(app, db):
    """A test client logged in as the bench admin through the real login form."""
    import re

    from werkzeug.security import generate_password_hash

    db.session.execute(text("UPDATE users SET password_hash = :h WHERE email = 'admin@bench.example'"),
                       {"h": generate_password_hash("bench-password-42", method="pbkdf2:sha256:1000")})
    db.session.commit()
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"|"X-CSRFToken": "([^"]+)"', page)
    token = match.group(1) or match.group(2)
    response = client.post("/login", data={"email": "admin@bench.example", "password": "bench-password-42",
                                           "csrf_token": token})
    assert response.status_code == 302, response.status_code
    return client


def timed(fn: Callable[[], object], runs: int, warmup: int = 2) -> tuple[float, float]:
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
    samples.sort()
    p95 = samples[min(len(samples) - 1, round(0.95 * (len(samples) - 1)))]
    return statistics.median(samples), p95


def explain(db, stmt) -> str:
    compiled = stmt.compile(dialect=db.engine.dialect, compile_kwargs={"literal_binds": True})
    rows = db.session.execute(text(f"EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) {compiled}")).scalars().all()
    return "\n".join("      " + row for row in rows)


def statement_for(name: str, f, now):
    from app.services.analytics import queries as q
    from app.services.analytics.filters import month_window

    start, end, _ = month_window(f, now)
    return {"issued-per-month": lambda: q.issued_per_month(f, start, end),
            "by-certification": lambda: q.by_certification(f), "status": lambda: q.status_breakdown(f, now),
            "by-department": lambda: q.by_department(f), "by-category": lambda: q.by_category(f),
            "completion-rate": lambda: q.completion_by_course(f),
            "completion-by-department": lambda: q.completion_by_department(f),
            "engagement": lambda: q.engagement(f, start, end),
            "top-performers": lambda: q.top_performers(f, now, 10),
            "recent-completions": lambda: q.recent_completions(f, 20),
            "expiring": lambda: q.expiring(f, now, 50)}[name]()


def page_rows(client, label: str, query: str, runs: int) -> list[tuple[str, str, float, float]]:
    """The page as admins get it: cold (cache just invalidated: the page computes figures for its time
    budget and leaves the rest to htmx placeholders), cold including every placeholder's request one after
    the other (the worst case; a browser sends them in parallel), and warm (every figure cached)."""
    import re

    from app.services.analytics import cache

    def get(url: str, **headers) -> str:
        response = client.get(url, headers=headers)
        assert response.status_code == 200, (url, response.status_code)
        return response.get_data(as_text=True)

    def cold_page() -> str:
        cache.invalidate()
        return get(f"/analytics/{query}")

    def cold_with_figures() -> None:
        for url in re.findall(r'hx-get="(/analytics/figure/[^"]+)"', cold_page()):
            get(url.replace("&amp;", "&"), **{"HX-Request": "true"})

    lazy = len(re.findall(r"data-figure-placeholder", cold_page()))
    result = [(f"PAGE cold ({lazy} of 11 left to htmx)", label, *timed(cold_page, runs)),
              ("PAGE cold + every lazy figure", label, *timed(cold_with_figures, max(3, runs // 2), 1))]
    cold_with_figures()  # now every figure is cached
    warm = timed(lambda: get(f"/analytics/{query}"), runs)
    result.append(("PAGE warm (every figure cached)", label, *warm))
    result.append(("PAGE warm, htmx fragment", label,
                   *timed(lambda: get(f"/analytics/{query}", **{"HX-Request": "true"}), runs)))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--reseed", action="store_true")
    parser.add_argument("--explain-over", type=float, default=100.0, help="EXPLAIN figures slower (p95, ms)")
    args = parser.parse_args()
    url = bench_url()
    ensure_database(url)
    app = make_app(url)
    from app.database import utcnow
    from app.extensions import db
    from app.services.analytics import figures

    with app.app_context():
        seed(db, args.reseed)
        now = utcnow()
        rows: list[tuple[str, str, float, float]] = []
        print(f"{'figure':38} {'filters':22} {'p50 ms':>8} {'p95 ms':>8}  goal {GOAL_MS:.0f}")
        slow: list[tuple[str, object]] = []
        for label, f in (("no filters", figures.Filters()),
                         ("department + category", figures.parse_filters(TWO_FILTERS))):
            for name in figures.FIGURES:
                median, p95 = timed(lambda n=name, f=f: figures.figure_data(n, f, now), args.runs)
                rows.append((name, label, median, p95))
                show(rows[-1])
                if p95 > args.explain_over:
                    slow.append((f"{name} ({label})", statement_for(name, f, now)))
        client = log_in(app, db)
        for label, query in (("no filters", ""), ("department + category",
                                                   "?department=Department+3&category=Category+2")):
            rows.extend(page_rows(client, label, query, args.runs))
            for row in rows[-4:]:
                show(row)

        def export():
            response = client.get("/analytics/export/top-performers.csv")
            return sum(len(chunk) for chunk in response.response)

        rows.append(("CSV top-performers (every row)", "no filters",
                     *timed(export, max(3, args.runs // 4), 1)))
        print(f"\n{'figure':38} {'filters':22} {'p50 ms':>8} {'p95 ms':>8}  goal {GOAL_MS:.0f}")
        for row in rows:
            show(row)
        for title, stmt in slow:
            print(f"\nEXPLAIN {title}\n{explain(db, stmt)}")


if __name__ == "__main__":
    main()
