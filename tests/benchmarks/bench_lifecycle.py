"""Lifecycle pages and API lists on a big PostgreSQL database: latency and SQL statements per request.

    python tests/benchmarks/bench_lifecycle.py [--n 40] [--warmup 5] [--runs 3] [--no-gunicorn] [--keep]

What it does:
1. Creates (if missing) the database `laurel_bench_lifecycle` next to BENCH_DATABASE_URL (default
   postgresql://postgres@127.0.0.1:5432/laurel_bench), resets its schema and builds it with the app's
   migrations (then `db.create_all()` for any table a migration does not create yet).
2. Seeds, with set-based `INSERT ... SELECT ... FROM generate_series` (seconds), first a SMALL data set
   (1,000 learners) and later the FULL one: 20,000 learners, 400 courses, 200 certifications (2 courses
   each), 100,000 certificates (about 70% valid, 10% expiring, 15% expired, 5% revoked; every 2nd learner
   has a renewal, cycle 2 linked by renewed_from), 300,000 enrollments (15 per learner, 60% completed,
   with their completions), one audit event per certificate and 50,000 login audit events.
3. Times, in-process with the Flask test client (the whole WSGI request: routing, auth, queries,
   templates, JSON), every list and detail page in the navigation (see `cases()`), the verify page (a
   hit and a miss) and the API lists with a bearer token; `healthz` is the anchor. `--n` requests each
   after `--warmup`, `--runs` times (default 3); p50/p95/max in ms, the median run shown, and FIGURE
   lines (tests/benchmarks/README.md) with each page's p95 over the runs.
4. Counts SQL statements per request (a `before_cursor_execute` listener) on the small data set, on the
   full one, and on the full one with a bigger page (per_page 100 instead of 20): a constant count
   means no N+1.
5. Unless --no-gunicorn: the same requests through a real gunicorn (2 workers) on loopback, from 4
   concurrent clients, to show what a browser would see under light concurrency.

The table is printed and written to bench-results/lifecycle.txt. Goal: p95 < 150 ms for every row.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # run as a plain script from anywhere

from sqlalchemy import create_engine, event, text  # noqa: E402
from sqlalchemy.engine import URL, Engine, make_url  # noqa: E402

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/laurel_bench"
DB_NAME = "laurel_bench_lifecycle"  # with the default BENCH_DATABASE_URL (own_database)
RESULTS = ROOT / "bench-results" / "lifecycle.txt"
GOAL_MS = 150.0
PASSWORD = "bench-password-42"
API_TOKEN = "lau_bench-lifecycle-token-0123456789abcdef"
SMALL_LEARNERS, FULL_LEARNERS = 1_000, 20_000
CERTS_PER_LEARNER, ENROLLMENTS_PER_LEARNER = 5, 15
N_CERTIFICATIONS, N_COURSES = 200, 400
SMALL_PAGE, BIG_PAGE = 20, 100


# --------------------------------------------------------------------------------------------- database

def bench_url() -> URL:
    """BENCH_DATABASE_URL with this benchmark's own database name, on the psycopg 3 driver."""
    url = make_url(os.environ.get("BENCH_DATABASE_URL") or DEFAULT_URL)
    return url.set(drivername="postgresql+psycopg", database=own_database(url, "lifecycle"))


def own_database(url: URL, suffix: str) -> str:
    """`<BENCH_DATABASE_URL's database>_<suffix>`: laurel_bench_lifecycle by default; another base name
    keeps two people's runs on one server apart."""
    return f"{url.database or 'laurel_bench'}_{suffix}"


def ensure_database(url: URL) -> None:
    """CREATE DATABASE if missing (through the `postgres` maintenance database)."""
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": url.database})
        if not exists:
            conn.execute(text(f'CREATE DATABASE "{url.database}"'))
    admin.dispose()


def reset_schema(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))


def build_schema(app) -> str:
    """The app's migrations, then create_all for tables no migration creates yet. Returns a note."""
    from flask_migrate import upgrade
    from sqlalchemy import inspect

    from app.extensions import db

    with app.app_context():
        before: set[str] = set()
        try:
            upgrade()
            with db.engine.connect() as conn:
                before = set(inspect(conn).get_table_names())
            note = "schema: migrations"
        except Exception as exc:  # a half-finished migration elsewhere must not stop the benchmark
            note = f"schema: migrations failed ({type(exc).__name__}: {str(exc)[:80]}), create_all"
        db.create_all()
        with db.engine.connect() as conn:
            added = set(inspect(conn).get_table_names()) - before
        if before and added:
            note += f" + create_all for {', '.join(sorted(added))}"
    return note


# --------------------------------------------------------------------------------------------- seeding

SEED_SQL: dict[str, str] = {
    "departments": """
        INSERT INTO departments (id, name, name_key, created_at)
        SELECT g, (ARRAY['Nursing','Surgery','Pharmacy','Radiology','Admin','Kitchen','Security','IT',
                         'Finance','Maintenance','Lab','Reception'])[g],
               lower((ARRAY['Nursing','Surgery','Pharmacy','Radiology','Admin','Kitchen','Security','IT',
                            'Finance','Maintenance','Lab','Reception'])[g]), :now
        FROM generate_series(1, 12) g""",
    "users": """
        INSERT INTO users (id, email, name, password_hash, role, department_id, active, session_version,
                           reminder_emails, created_at)
        SELECT g, 'learner' || g || '@example.com',
               (ARRAY['Ana','Ben','Chloe','Dev','Emma','Farid','Grace','Hugo','Iris','Jon','Kemal','Lena',
                      'Mia','Noah','Olga','Pablo','Quinn','Rosa','Sven','Tara'])[1 + g % 20] || ' ' ||
               (ARRAY['Garcia','Smith','Nguyen','Müller','Rossi','Kowalski','Tanaka','Silva','Dubois',
                      'Jensen','Okafor','Haddad','Novak','Larsen','Costa','Ivanova','Brown','Khan',
                      'Moreau','Sato','Fischer','Lopez','Wright','Berg','Yilmaz'])[1 + (g / 20) % 25]
               || ' ' || g,
               :hash, 'learner', 1 + g % 12,
               true, 1, true, :now - make_interval(days => g % 700)
        FROM generate_series(1, :learners) g""",
    "admin": """
        INSERT INTO users (id, email, name, password_hash, role, department_id, active, session_version,
                           reminder_emails, created_at)
        VALUES (:learners + 1, 'admin@bench.local', 'Bench Admin', :hash, 'admin', NULL, true, 1, true,
                :now)""",
    "empty_learner": """
        INSERT INTO users (id, email, name, password_hash, role, department_id, active, session_version,
                           reminder_emails, created_at)
        VALUES (:learners + 2, 'new.learner@example.com', 'New Learner', :hash, 'learner', 8, true, 1,
                true, :now)""",
    "token": """
        INSERT INTO api_tokens (user_id, name, token_hash, prefix, created_at)
        VALUES (:learners + 1, 'bench', :token_hash, :token_prefix, :now)""",
    "courses": """
        INSERT INTO courses (id, code, title, category, description, archived, source, created_at)
        SELECT g, 'C-' || lpad(g::text, 4, '0'), 'Course ' || g,
               (ARRAY['Safety','Clinical','Compliance','IT','Leadership','Languages','Quality',
                      'HR'])[1 + g % 8],
               'A benchmark course.', false, 'manual', :now
        FROM generate_series(1, :courses) g""",
    "certifications": """
        INSERT INTO certifications (id, name, description, status, min_score, validity_months,
                                    renewal_window_days, reminder_days, issuer_name, signatory_name,
                                    signatory_title, created_at, updated_at)
        SELECT g, 'Certification ' || lpad(g::text, 3, '0'), 'Benchmark certification ' || g,
               CASE WHEN g % 20 = 0 THEN 'draft' WHEN g % 20 = 1 THEN 'archived' ELSE 'active' END,
               CASE WHEN g % 3 = 0 THEN 70 END,
               CASE WHEN g % 10 = 0 THEN NULL ELSE 12 * (1 + g % 3) END,
               90, '[90, 30, 7]', 'Laurel Academy', 'Dr. Bench', 'Director', :now, :now
        FROM generate_series(1, :certifications) g""",
    "certification_courses": """
        INSERT INTO certification_courses (certification_id, course_id)
        SELECT c, 2 * c - k FROM generate_series(1, :certifications) c, generate_series(0, 1) k""",
    # i -> learner i % L + 1, slot k = i / L (0..4): certification (u*7 + k*37) % 200 + 1 is distinct per
    # learner. Every 2nd learner's slot 4 is instead cycle 2 of slot 0's certification (a renewal).
    "certificates": """
        WITH picked AS (
            SELECT i, i % :learners + 1 AS user_id, i / :learners AS k,
                   (i * 2654435761::bigint) % 100 AS h, (i * 40503::bigint) % 1000 AS r,
                   (i / :learners = 4 AND (i % :learners + 1) % 2 = 0) AS renewal
            FROM generate_series(0, :certificates - 1) i
        ), placed AS (
            SELECT p.*, c.id AS certification_id, c.name AS cname, c.description AS cdesc,
                   c.validity_months AS months,
                   CASE WHEN c.validity_months IS NULL THEN :now - make_interval(days => p.r::int % 900)
                        WHEN p.h >= 5 AND p.h < 20
                          THEN :now - make_interval(days => 1 + p.r::int % 400, months => c.validity_months)
                        WHEN p.h >= 20 AND p.h < 30
                          THEN :now + make_interval(days => 1 + p.r::int % 85, months => -c.validity_months)
                        ELSE :now - make_interval(days => p.r::int % 250, secs => p.i % 86400)
                   END AS issued_at
            FROM picked p
            JOIN certifications c ON c.id = CASE WHEN p.renewal THEN (p.user_id * 7) % 200 + 1
                                                 ELSE (p.user_id * 7 + p.k * 37) % 200 + 1 END
        )
        INSERT INTO certificates (id, serial, code, user_id, certification_id, cycle, issued_at, expires_at,
                                  renewal_opens_at, revoked_at, revoke_reason, renewed_from_id, snapshot,
                                  pdf_status, pdf_attempts, public)
        SELECT pl.i + 1, 'LAU-' || extract(year FROM pl.issued_at) || '-'
                         || lpad((pl.i + 1)::text, greatest(6, length((pl.i + 1)::text)), '0'),
               replace(gen_random_uuid()::text, '-', ''), pl.user_id, pl.certification_id,
               CASE WHEN pl.renewal THEN 2 ELSE 1 END, pl.issued_at,
               pl.issued_at + make_interval(months => pl.months),
               pl.issued_at + make_interval(months => pl.months) - interval '90 days',
               CASE WHEN pl.h < 5 THEN pl.issued_at + interval '10 days' END,
               CASE WHEN pl.h < 5 THEN 'Benchmark: revoked for testing' END,
               CASE WHEN pl.renewal THEN pl.i - 4 * :learners + 1 END,
               json_build_object(
                   'holder_name', u.name, 'certification_name', pl.cname,
                   'certification_description', pl.cdesc, 'issuer_name', 'Laurel Academy',
                   'signatory_name', 'Dr. Bench', 'signatory_title', 'Director', 'score', 80 + pl.r % 20,
                   'courses', json_build_array(
                       json_build_object('code', 'C-' || lpad((2 * pl.certification_id - 1)::text, 4, '0'),
                                         'title', 'Course ' || (2 * pl.certification_id - 1)),
                       json_build_object('code', 'C-' || lpad((2 * pl.certification_id)::text, 4, '0'),
                                         'title', 'Course ' || (2 * pl.certification_id)))),
               'ready', 0, false
        FROM placed pl JOIN users u ON u.id = pl.user_id
        ORDER BY pl.issued_at  -- rows land in issue order, as in a real database (planner correlation)""",
    # i -> learner i % L + 1, slot j = i / L (0..14): course (u*13 + j*27) % 400 + 1 is distinct per learner.
    "enrollments": """
        WITH e AS (
            SELECT i, i % :learners + 1 AS user_id, i / :learners AS j, (i * 2246822519::bigint) % 100 AS h
            FROM generate_series(0, :enrollments - 1) i
        )
        INSERT INTO enrollments (id, user_id, course_id, status, progress, score, completed_at, source,
                                 created_at, updated_at)
        SELECT i + 1, user_id, (user_id * 13 + j * 27) % 400 + 1,
               CASE WHEN h < 60 THEN 'completed' WHEN h < 80 THEN 'in_progress'
                    WHEN h < 95 THEN 'enrolled' ELSE 'withdrawn' END,
               CASE WHEN h < 60 THEN 100 WHEN h < 80 THEN 10 + h % 80 ELSE 0 END,
               CASE WHEN h < 60 THEN 50 + i % 50 END,
               CASE WHEN h < 60 THEN :now - make_interval(days => i::int % 900) END,
               'seed', :now - make_interval(days => i::int % 1000, secs => i % 86400),
               :now - make_interval(days => i::int % 1000)
        FROM e ORDER BY 9""",
    "completions": """
        INSERT INTO completions (enrollment_id, user_id, course_id, completed_at, score, source, recorded_at)
        SELECT id, user_id, course_id, completed_at, score, 'seed', completed_at
        FROM enrollments WHERE status = 'completed' ORDER BY completed_at""",
    "audit_issued": """
        INSERT INTO audit_events (at, actor_id, actor_label, action, subject_type, subject_id, summary, data)
        SELECT issued_at, NULL, 'system', 'certificate.issued', 'certificate', id::text,
               'Certificate ' || serial || ' issued', '{}'
        FROM certificates ORDER BY issued_at""",
    "audit_logins": """
        INSERT INTO audit_events (at, actor_id, actor_label, action, subject_type, subject_id, summary, data)
        SELECT :now - make_interval(secs => g * 60), g % :learners + 1, 'learner' || (g % :learners + 1),
               'user.logged_in', 'user', (g % :learners + 1)::text, 'Logged in', '{}'
        FROM generate_series(1, :logins) g""",
}

TABLES = ("departments", "users", "api_tokens", "courses", "certifications", "certification_courses",
          "certificates", "enrollments", "completions", "audit_events")


@dataclass
class Sizes:
    learners: int

    @property
    def params(self) -> dict:
        return {"learners": self.learners, "courses": N_COURSES, "certifications": N_CERTIFICATIONS,
                "certificates": self.learners * CERTS_PER_LEARNER,
                "enrollments": self.learners * ENROLLMENTS_PER_LEARNER,
                "logins": self.learners * 5 // 2}


def seed(engine: Engine, sizes: Sizes, now: datetime) -> dict[str, float]:
    """Empty the tables, insert everything set-based, fix the sequences, VACUUM ANALYZE. Seconds per step."""
    from werkzeug.security import generate_password_hash

    params = {**sizes.params, "now": now.replace(tzinfo=None),
              "hash": generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000"),
              "token_hash": hashlib.sha256(API_TOKEN.encode()).hexdigest(), "token_prefix": API_TOKEN[:10]}
    timings: dict[str, float] = {}
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE"))
        # Bulk load: the rows are consistent by construction, so skip the per-row FK triggers (superuser).
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(text("SET LOCAL synchronous_commit = off"))
        for step, sql in SEED_SQL.items():
            started = time.perf_counter()
            conn.execute(text(sql), params)
            timings[step] = time.perf_counter() - started
        for table in TABLES:
            if table != "certification_courses":
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                  f"(SELECT coalesce(max(id), 0) + 1 FROM {table}), false)"))
    started = time.perf_counter()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f"VACUUM ANALYZE {', '.join(TABLES)}"))
    timings["vacuum analyze"] = time.perf_counter() - started
    return timings


# --------------------------------------------------------------------------------------------- the app

def make_app(url: URL, instance: Path):
    """The real app on the bench database; rate limits raised (not disabled) so 40 hits are not refused."""
    os.environ["LAUREL_INSTANCE_PATH"] = str(instance)
    from app import create_app

    return create_app(app_overrides(url))


def app_overrides(url: URL) -> dict:
    return {"SQLALCHEMY_DATABASE_URI": url.render_as_string(hide_password=False),
            "REDIS_URL": os.environ.get("BENCH_REDIS_URL") or os.environ.get("REDIS_URL") or None,
            "VERIFY_RATE_LIMIT": "100000 per minute", "LOGIN_RATE_LIMIT": "1000 per minute",
            "RATELIMIT_KEY_PREFIX": "laurel-bench-rl", "BASE_URL": "http://localhost"}


def stop_embedded_redis(app, instance: Path) -> None:
    """Without REDIS_URL the app started an embedded Redis in our temporary instance folder: stop it."""
    if not app.config.get("REDIS_URL"):
        from app import embedded_redis

        embedded_redis.stop(instance)


def wsgi_app():
    """gunicorn entry point (`tests.benchmarks.bench_lifecycle:wsgi_app()`), configured from the env."""
    from app import create_app

    return create_app(app_overrides(make_url(os.environ["BENCH_LIFECYCLE_URL"])))


class StatementCounter:
    """Counts SQL statements sent by the engine (before_cursor_execute)."""

    def __init__(self, engine: Engine) -> None:
        self.count = 0
        event.listen(engine, "before_cursor_execute", self._on_execute)

    def _on_execute(self, *_args) -> None:
        self.count += 1


CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def logged_in_client(app, email: str):
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = CSRF_RE.search(page).group(1)
    response = client.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302, f"login as {email} failed: {response.status_code}"
    return client


# --------------------------------------------------------------------------------------------- cases

@dataclass
class Case:
    """One timed request. `endpoint` is looked up in app.url_map (skipped when not registered)."""

    name: str
    endpoint: str
    who: str  # "admin" | "learner" | "token" | "anon"
    values: dict = field(default_factory=dict)
    headers: dict = field(default_factory=dict)
    paged: bool = False  # takes per_page: its statement count is also measured with a bigger page
    variant_who: str | None = None  # ... or measured again as this other user (e.g. an empty learner)
    expect: int = 200


def cases(fixtures: dict) -> list[Case]:
    """Every list and detail page in the navigation (admin, staff and learner menus), the verify page and
    the API lists; `healthz` is the anchor: the app's own floor (routing, auth, one trivial query)."""
    api, page = {"per_page": SMALL_PAGE}, {"per_page": SMALL_PAGE}
    return [
        Case("healthz (anchor)", "dashboard.healthz", "anon"),
        Case("admin dashboard /", "dashboard.index", "admin"),
        Case("dashboard tiles (htmx)", "dashboard.tiles", "admin", headers={"HX-Request": "true"}),
        Case("courses", "lifecycle.courses", "admin", values=page, paged=True),
        Case("certifications", "lifecycle.certifications", "admin", values=page, paged=True),
        Case("certification detail", "lifecycle.certification_detail", "admin",
             values={"cert_id": fixtures["certification_id"]}),
        Case("enrollments", "lifecycle.enrollments", "admin", values=page, paged=True),
        Case("course enrollments", "lifecycle.course_enrollments", "admin", paged=True,
             values={**page, "course_id": fixtures["course_id"]}),
        Case("certificates", "lifecycle.certificates_list", "admin", values=page, paged=True),
        Case("certificates: status+cert", "lifecycle.certificates_list", "admin", paged=True,
             values={"status": "valid", "certification_id": fixtures["certification_id"],
                     "per_page": SMALL_PAGE}),
        Case("certificates: search", "lifecycle.certificates_list", "admin", paged=True,
             values={"q": fixtures["search"], "per_page": SMALL_PAGE}),
        Case("certificate detail", "lifecycle.certificate_detail", "admin",
             values={"certificate_id": fixtures["certificate_id"]}),
        Case("learner detail", "lifecycle.learner", "admin", values={"user_id": fixtures["learner_id"]}),
        Case("import form", "lifecycle.import_csv", "admin"),
        Case("users", "admin.users", "admin", values=page, paged=True),
        Case("audit log", "admin.audit", "admin", values=page, paged=True),
        Case("mail log", "admin.mail_log", "admin", values=page, paged=True),
        Case("templates", "documents.templates", "admin"),
        Case("integrations", "integrations.index", "admin"),
        Case("email previews", "messaging.email_previews", "admin"),
        Case("analytics", "analytics.index", "admin"),
        Case("notifications", "messaging.notification_list", "learner"),
        Case("learner dashboard /", "dashboard.index", "learner", variant_who="empty"),
        Case("my certificates", "sharing.my_certificates", "learner", variant_who="empty"),
        Case("verify hit", "verify.show", "anon", values={"code": fixtures["code"]}),
        Case("verify miss", "verify.show", "anon", values={"code": fixtures["missing_code"]}, expect=404),
        Case("api certificates", "api.list_certificates", "token", values=api, paged=True),
        Case("api certificates ?status", "api.list_certificates", "token", paged=True,
             values={**api, "status": "expiring"}),
        Case("api enrollments", "api.list_enrollments", "token", values=api, paged=True),
        Case("api users", "api.list_users", "token", values=api, paged=True),
        Case("api courses", "api.list_courses", "token", values=api, paged=True),
        Case("api certifications", "api.list_certifications", "token", values=api, paged=True),
    ]


def load_fixtures(engine: Engine, learners: int) -> dict:
    """Values the requests need: a code that exists, one that does not, a busy certification, a surname."""
    with engine.connect() as conn:
        code = conn.scalar(text("SELECT code FROM certificates WHERE user_id = 1 ORDER BY id LIMIT 1"))
        certification_id = conn.scalar(text(
            "SELECT certification_id FROM certificates GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"))
        course_id = conn.scalar(text(
            "SELECT course_id FROM enrollments GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"))
        certificate_id = conn.scalar(text(
            "SELECT id FROM certificates WHERE user_id = 1 ORDER BY id LIMIT 1"))
    return {"code": code, "missing_code": "0" * len(code), "certification_id": certification_id,
            "course_id": course_id, "certificate_id": certificate_id, "learner_id": 1,
            "search": "kowalski", "admin": "admin@bench.local", "learner": "learner1@example.com",
            "empty": "new.learner@example.com",
            "learners": learners}


def url_for_case(app, case: Case, per_page: int | None = None) -> str | None:
    from flask import url_for

    if case.endpoint not in app.view_functions:
        return None
    values = dict(case.values)
    if per_page is not None:
        values["per_page"] = per_page
    with app.test_request_context():
        return url_for(case.endpoint, **values)


def headers_for(case: Case) -> dict:
    headers = dict(case.headers)
    if case.who == "token":
        headers["Authorization"] = f"Bearer {API_TOKEN}"
    return headers


# --------------------------------------------------------------------------------------------- in-process

def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


@dataclass
class Row:
    name: str
    url: str
    p50: float = 0.0
    p95: float = 0.0
    max: float = 0.0
    status: int = 0
    cpu: float = 0.0  # median CPU ms of this process per request (Python side: app, ORM, templates)
    queries: dict[str, int] = field(default_factory=dict)  # "small" | "full" | "other"
    note: str = ""


def request_once(client, url: str, headers: dict,
                 counter: StatementCounter) -> tuple[float, float, int, int]:
    """(wall ms, CPU ms of this process, statements, HTTP status) of one request."""
    before, cpu = counter.count, time.process_time()
    started = time.perf_counter()
    response = client.get(url, headers=headers)
    response.get_data()
    elapsed = (time.perf_counter() - started) * 1000
    return elapsed, (time.process_time() - cpu) * 1000, counter.count - before, response.status_code


def clients_for(app, fixtures: dict) -> dict:
    anon = app.test_client()
    return {"admin": logged_in_client(app, fixtures["admin"]),
            "learner": logged_in_client(app, fixtures["learner"]),
            "empty": logged_in_client(app, fixtures["empty"]), "token": anon, "anon": anon}


def count_statements(app, fixtures: dict, label: str, rows: dict[str, Row], counter: StatementCounter,
                     variant: bool = False) -> None:
    """Statements per request for every case (second request: caches warm, like the timed ones).

    With `variant`: only cases that have one, with per_page=BIG_PAGE or as their `variant_who`."""
    clients = clients_for(app, fixtures)
    for case in cases(fixtures):
        if variant and not (case.paged or case.variant_who):
            continue
        url = url_for_case(app, case, BIG_PAGE if variant and case.paged else None)
        if url is None:
            continue
        client = clients[case.variant_who if variant and case.variant_who else case.who]
        row = rows.setdefault(case.name, Row(case.name, url))
        request_once(client, url, headers_for(case), counter)
        _, _, statements, status = request_once(client, url, headers_for(case), counter)
        row.queries[label] = statements
        if status != case.expect:
            row.note = f"HTTP {status} (expected {case.expect})"


def time_cases(app, fixtures: dict, rows: dict[str, Row], counter: StatementCounter, n: int,
               warmup: int) -> list[str]:
    """p50/p95/max over `n` requests after `warmup`; returns notes for cases whose route is missing."""
    clients, missing = clients_for(app, fixtures), []
    for case in cases(fixtures):
        url = url_for_case(app, case)
        if url is None:
            missing.append(f"{case.name}: endpoint {case.endpoint} not registered (skipped)")
            continue
        row = rows.setdefault(case.name, Row(case.name, url))
        row.url = url
        for _ in range(warmup):
            request_once(clients[case.who], url, headers_for(case), counter)
        samples, cpu = [], []
        for _ in range(n):
            elapsed, cpu_ms, _, row.status = request_once(clients[case.who], url, headers_for(case), counter)
            samples.append(elapsed)
            cpu.append(cpu_ms)
        row.p50, row.p95, row.max = statistics.median(samples), percentile(samples, 0.95), max(samples)
        row.cpu = statistics.median(cpu)
    return missing


# --------------------------------------------------------------------------------------------- explain

class StatementRecorder:
    """Keeps (statement, parameters) of everything the engine sends while `active`."""

    def __init__(self, engine: Engine) -> None:
        self.active, self.seen = False, []
        event.listen(engine, "before_cursor_execute", self._on_execute)

    def _on_execute(self, _conn, _cursor, statement, parameters, _context, _many) -> None:
        if self.active:
            self.seen.append((statement, parameters))


def explain_cases(app, fixtures: dict, min_ms: float) -> str:
    """EXPLAIN (ANALYZE, BUFFERS) of every statement each case sends; plans shown when >= min_ms."""
    from app.extensions import db

    with app.app_context():
        recorder, engine = StatementRecorder(db.engine), db.engine
    clients, out = clients_for(app, fixtures), []
    for case in cases(fixtures):
        url = url_for_case(app, case)
        if url is None:
            continue
        clients[case.who].get(url, headers=headers_for(case))  # warm
        recorder.active, recorder.seen = True, []
        clients[case.who].get(url, headers=headers_for(case))
        recorder.active = False
        out.append(f"=== {case.name}  {url}")
        out += [explain_one(engine, stmt, params, min_ms) for stmt, params in recorder.seen]
    return "\n".join(out)


def explain_one(engine: Engine, statement: str, parameters, min_ms: float) -> str:
    if not statement.lstrip().upper().startswith("SELECT"):
        return f"  (not a SELECT) {statement.split()[0]}"
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
        plan = [row[0] for row in cursor.fetchall()]
        raw.rollback()
    finally:
        raw.close()
    total = float(re.search(r"Execution Time: ([\d.]+)", plan[-1]).group(1))
    head = f"  {total:8.1f} ms  {' '.join(statement.split())[:150]}"
    return head if total < min_ms else "\n".join([head, *(f"      {line}" for line in plan)])


# --------------------------------------------------------------------------------------------- gunicorn

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def gunicorn_server(url: URL, instance: Path, workers: int = 2) -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "BENCH_LIFECYCLE_URL": url.render_as_string(hide_password=False),
           "LAUREL_INSTANCE_PATH": str(instance), "PYTHONPATH": str(ROOT)}
    binary = Path(sys.executable).with_name("gunicorn")
    proc = subprocess.Popen([str(binary), "-w", str(workers), "-b", f"127.0.0.1:{port}", "--log-level",
                             "warning", "tests.benchmarks.bench_lifecycle:wsgi_app()"],
                            cwd=ROOT, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base, proc)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def wait_until_up(base: str, proc: subprocess.Popen, timeout: float = 90) -> None:
    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("gunicorn exited")
        try:
            requests.get(f"{base}/login", timeout=30)
            return
        except requests.RequestException:
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not answer")


def http_session(base: str, who: str, fixtures: dict):
    import requests

    session = requests.Session()
    if who in ("admin", "learner"):
        token = CSRF_RE.search(session.get(f"{base}/login").text).group(1)
        response = session.post(f"{base}/login", allow_redirects=False,
                                data={"email": fixtures[who], "password": PASSWORD, "csrf_token": token})
        assert response.status_code == 302, f"gunicorn login as {who}: {response.status_code}"
    return session


def run_gunicorn(app, url: URL, instance: Path, fixtures: dict, n: int, clients: int = 4) -> dict[str, Row]:
    """Each case: `clients` threads each send n/clients requests at once; latency seen by the client."""
    rows: dict[str, Row] = {}
    with gunicorn_server(url, instance) as base:
        for case in cases(fixtures):
            path = url_for_case(app, case)
            if path is None:
                continue
            sessions = [http_session(base, case.who, fixtures) for _ in range(clients)]
            samples = concurrent_samples(sessions, base + path, headers_for(case), max(8, n // clients))
            rows[case.name] = Row(case.name, path, statistics.median(samples), percentile(samples, 0.95),
                                  max(samples))
    return rows


def concurrent_samples(sessions: list, url: str, headers: dict, per_client: int) -> list[float]:
    samples: list[float] = []
    lock = threading.Lock()

    def worker(session) -> None:
        for _ in range(2):  # warm-up: both workers, connections
            session.get(url, headers=headers)
        local = []
        for _ in range(per_client):
            started = time.perf_counter()
            session.get(url, headers=headers).content  # noqa: B018
            local.append((time.perf_counter() - started) * 1000)
        with lock:
            samples.extend(local)

    threads = [threading.Thread(target=worker, args=(s,)) for s in sessions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return samples


# --------------------------------------------------------------------------------------------- report

def constant(row: Row) -> str:
    values = [row.queries[k] for k in ("small", "full") if k in row.queries]
    if len(set(values)) > 1:
        return "NO (grows with data)"
    other = row.queries.get("other")
    if other is not None and values and other != values[0]:
        return "NO (varies with rows)"
    return "yes" if values else "?"


def table(rows: dict[str, Row], title: str, with_queries: bool = True) -> str:
    head = f"{'case':<27} {'p50 ms':>7} {'p95 ms':>7} {'max ms':>7} {'goal':>5}"
    if with_queries:
        head += f" {'cpu ms':>6}"
        head += f" {'SQL small':>9} {'SQL full':>8} {'other':>7} {'const':>6}  status"
    lines = [title, head, "-" * len(head)]
    for row in rows.values():
        goal = "ok" if row.p95 < GOAL_MS else "MISS"
        line = f"{row.name:<27} {row.p50:7.1f} {row.p95:7.1f} {row.max:7.1f} {goal:>5}"
        if with_queries:
            q = row.queries
            line += f" {row.cpu:6.1f}"
            big = q.get("other", "-")
            line += (f" {q.get('small', '-'):>9} {q.get('full', '-'):>8} {big:>7}"
                     f" {constant(row):>6}  {row.status or ''} {row.note}")
        lines.append(line.rstrip())
    return "\n".join(lines)


ANCHOR = "healthz (anchor)"


def figure_lines(spreads: dict[str, list[tuple[float, float, float]]], served: dict[str, Row]) -> list[str]:
    """FIGURE lines (tests/benchmarks/README.md): each page's p95 over the runs, against healthz's p95;
    the gunicorn phase as one figure, its slowest page."""
    anchor = statistics.median(p95 for _, p95, _ in spreads.get(ANCHOR, [(0, 0, 0)]))
    lines = []
    for name, samples in spreads.items():
        if name == ANCHOR:
            continue
        p95s = [p95 for _, p95, _ in samples]
        lines.append(f"FIGURE|page p95: {name}|{statistics.median(p95s):.1f}|{min(p95s):.1f}|{max(p95s):.1f}|"
                     f"ms|< {GOAL_MS:g}|healthz p95 ms|{anchor:.1f}")
    pages = {k: r for k, r in served.items() if k != ANCHOR}
    if pages:
        worst = max(pages.values(), key=lambda r: r.p95)
        floor = served[ANCHOR].p95 if ANCHOR in served else 0.0
        lines.append(f"FIGURE|gunicorn worst page p95 ({worst.name})|{worst.p95:.1f}|{worst.p95:.1f}|"
                     f"{worst.p95:.1f}|ms|< {GOAL_MS:g}|healthz p95 ms|{floor:.1f}")
    return lines


def load_average() -> str:
    return ", ".join(f"{value:.1f}" for value in os.getloadavg())


def write_report(text_out: str) -> None:
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(text_out + "\n")


# --------------------------------------------------------------------------------------------- main

def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=40, help="timed requests per case (default 40)")
    parser.add_argument("--warmup", type=int, default=5, help="untimed requests first (default 5)")
    parser.add_argument("--no-gunicorn", action="store_true", help="skip the gunicorn run")
    parser.add_argument("--runs", type=int, default=3, help="in-process timing rounds (default 3)")
    parser.add_argument("--learners", type=int, default=FULL_LEARNERS,
                        help=f"full data set: learners x5 certificates (default {FULL_LEARNERS}: 100,000; "
                             "200000 = 1M certificates)")
    parser.add_argument("--explain", type=float, metavar="MS", default=None,
                        help="instead of timing: EXPLAIN ANALYZE each statement, plans of those >= MS "
                             "(bench-results/lifecycle-explain.txt)")
    parser.add_argument("--keep", action="store_true",
                        help="reuse the full data set already seeded (skips the small-size statement count)")
    return parser.parse_args(argv)


def seeded_already(engine: Engine, learners: int) -> bool:
    with engine.connect() as conn:
        try:
            return conn.scalar(text("SELECT count(*) FROM certificates")) == learners * CERTS_PER_LEARNER
        except Exception:
            return False


def phase(label: str, func: Callable, *args):
    started = time.perf_counter()
    result = func(*args)
    print(f"  {label}: {time.perf_counter() - started:.1f} s", flush=True)
    return result


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    url, instance = bench_url(), Path(tempfile.mkdtemp(prefix="laurel-bl-"))
    now = datetime.now(UTC)
    print(f"database {url.render_as_string()}", flush=True)
    ensure_database(url)
    engine = create_engine(url)
    reuse = args.keep and seeded_already(engine, args.learners)
    app = make_app(url, instance)
    notes: list[str] = []
    try:
        if not reuse:
            reset_schema(engine)
            notes.append(phase("schema", build_schema, app))
        from app.extensions import db

        with app.app_context():
            counter = StatementCounter(db.engine)
        rows: dict[str, Row] = {}
        if not reuse:
            small = phase(f"seed small ({SMALL_LEARNERS} learners)", seed, engine, Sizes(SMALL_LEARNERS), now)
            print("    " + ", ".join(f"{k} {v:.1f}s" for k, v in small.items()), flush=True)
            count_statements(app, load_fixtures(engine, SMALL_LEARNERS), "small", rows, counter)
            full = phase(f"seed full ({args.learners} learners)", seed, engine, Sizes(args.learners), now)
            notes.append("seed full: " + ", ".join(f"{k} {v:.1f}s" for k, v in full.items())
                         + f" = {sum(full.values()):.1f} s (small: {sum(small.values()):.1f} s)")
        fixtures = load_fixtures(engine, args.learners)
        if args.explain is not None:
            plans = explain_cases(app, fixtures, args.explain)
            print(plans)
            RESULTS.parent.mkdir(exist_ok=True)
            RESULTS.with_name("lifecycle-explain.txt").write_text(plans + "\n")
            return 0
        count_statements(app, fixtures, "full", rows, counter)
        count_statements(app, fixtures, "other", rows, counter, variant=True)
        spreads: dict[str, list[tuple[float, float, float]]] = {}
        for number in range(1, args.runs + 1):
            notes += phase(f"time in-process, run {number}", time_cases, app, fixtures, rows, counter, args.n,
                           args.warmup)
            for name, row in rows.items():
                spreads.setdefault(name, []).append((row.p50, row.p95, row.max))
        notes = list(dict.fromkeys(notes))
        for name, samples in spreads.items():  # the table shows the median run of each figure
            medians = [statistics.median(column) for column in zip(*samples, strict=True)]
            rows[name].p50, rows[name].p95, rows[name].max = medians
        report = [table(rows, f"In-process (Flask test client), median of {args.runs} runs, n={args.n} "
                              f"after {args.warmup} warm-up, "
                              f"{args.learners} learners / {args.learners * CERTS_PER_LEARNER} certificates "
                              f"/ {args.learners * ENROLLMENTS_PER_LEARNER} enrollments")]
        print("\n" + report[0], flush=True)
        served_rows: dict[str, Row] = {}
        if not args.no_gunicorn:
            try:
                served = served_rows = phase("gunicorn", run_gunicorn, app, url, instance, fixtures, args.n)
            except Exception as exc:  # the in-process figures stand on their own
                notes.append(f"gunicorn run failed: {type(exc).__name__}: {str(exc)[:120]}")
            else:
                title = "gunicorn -w 2 on loopback, 4 concurrent clients (client-side latency)"
                report.append(table(served, title, with_queries=False))
        report.append("\n".join(["notes:", *(f"- {note}" for note in notes),
                                 f"- SQL = statements per request; small = {SMALL_LEARNERS} learners, "
                                 f"full = {args.learners}; lists use per_page={SMALL_PAGE}; other = "
                                 f"lists re-counted with per_page={BIG_PAGE}, the learner dashboard as a "
                                 f"learner with no certificates or enrollments (vs 5 and 15)",
                                 f"- load average at the end: {load_average()} on {os.cpu_count()} CPUs "
                                 f"(other work on the machine inflates the ms; cpu = this process only)"]))
        report.append("\n".join(figure_lines(spreads, served_rows)))
        output = "\n\n".join(report)
        print("\n" + output)
        write_report(output)
        misses = [row for row in rows.values() if row.p95 >= GOAL_MS]
        return 1 if misses else 0
    finally:
        engine.dispose()
        with app.app_context():
            from app.extensions import db

            db.engine.dispose()
        stop_embedded_redis(app, instance)
        shutil.rmtree(instance, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
