"""Fixtures: one database per run (PostgreSQL when DATABASE_URL/TEST_DATABASE_URL is set, else a
SQLite file), a real Redis (REDIS_URL, else the embedded one), a real SMTP server on loopback, and
a clean slate per test (tables emptied, Redis flushed)."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
from pathlib import Path

import pytest

# The instance folder (secret key, embedded Redis socket, local files) lives in a short temp path:
# unix socket paths must stay under ~100 characters.
_INSTANCE = Path(tempfile.mkdtemp(prefix="laurel-t-"))
os.environ["LAUREL_INSTANCE_PATH"] = str(_INSTANCE)
os.environ.pop("MAIL_SERVER", None)

from flask_login import FlaskLoginClient  # noqa: E402
from sqlalchemy import event, text  # noqa: E402
from sqlalchemy.exc import OperationalError  # noqa: E402
from werkzeug.security import generate_password_hash  # noqa: E402

from app import create_app  # noqa: E402
from app.extensions import db  # noqa: E402
from tests.support.smtp import SMTPServer  # noqa: E402
from tests.support.web import admin_token, anon_client  # noqa: E402,F401  (shared fixtures)

PASSWORD = "correct-horse-42"
# Fast hash for fixtures only: the real cost is exercised by the login tests that set passwords.
_FAST_HASH = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")


def _database_url() -> str:
    url = os.environ.get("TEST_DATABASE_URL") or os.environ.get("DATABASE_URL")
    return url or f"sqlite:///{_INSTANCE / 'test.db'}"


@pytest.fixture(scope="session")
def smtp_server():
    server = SMTPServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def app(smtp_server):
    from app.config import database_uri

    app = create_app({
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database_uri(_database_url(), _INSTANCE),
        "REDIS_URL": os.environ.get("REDIS_URL") or None,
        "MAIL_BACKEND": "smtp",
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": smtp_server.port,
        "MAIL_SUPPRESS_SEND": False,  # Flask-Mail suppresses under TESTING; the SMTP server is real
        "BASE_URL": "http://localhost",
        "SERVER_NAME": None,
        # A test that reads a live stream (/live/stream) to its end waits this long, not five minutes.
        "LIVE_STREAM_SECONDS": 5,
    })
    app.test_client_class = FlaskLoginClient
    with app.app_context():
        _fresh_schema(app)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    if not app.config.get("REDIS_URL"):
        from app import embedded_redis

        embedded_redis.stop(_INSTANCE)  # the embedded server this run started must not outlive it
    shutil.rmtree(_INSTANCE, ignore_errors=True)


def _fresh_schema(app) -> None:
    """Drop whatever a previous run left, then build the schema through the migrations."""
    from flask_migrate import upgrade

    db.drop_all()
    with db.engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    upgrade()


@pytest.fixture(autouse=True)
def _clean_state(request, app, smtp_server):
    """Every test starts with empty tables, an empty Redis and an empty mailbox."""
    with app.app_context():
        _empty_tables()
        from app.queue import get_redis

        get_redis().flushdb()
    smtp_server.clear()
    ctx = app.app_context()
    ctx.push()
    yield
    db.session.remove()
    ctx.pop()


def _empty_tables(attempts: int = 5) -> None:
    db.session.remove()
    for attempt in range(attempts):
        try:
            with db.engine.begin() as conn:
                if conn.dialect.name == "postgresql":
                    names = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
                    conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
                else:
                    for table in reversed(db.metadata.sorted_tables):
                        conn.execute(table.delete())
            return
        except OperationalError:
            # A browser test's page may still have a request in flight on the live server (a poll, a
            # preview) when the next test starts: PostgreSQL picks TRUNCATE as the deadlock's victim.
            if attempt == attempts - 1:
                raise
            time.sleep(0.5)


@pytest.fixture
def statements(app):
    """Every SQL statement the test's code runs from now on, in order (counted at the engine)."""
    seen: list[str] = []

    def listener(conn, cursor, statement, *args):
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", listener)
    yield seen
    event.remove(db.engine, "before_cursor_execute", listener)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def make_user():
    """Factory: make_user(role="learner", email=None, name=None, **fields) -> User (committed)."""
    from app.models import User

    counter = {"n": 0}

    def factory(role: str = "learner", email: str | None = None, name: str | None = None, **fields):
        from app.services.accounts import departments

        counter["n"] += 1
        n = counter["n"]
        # `department="Nursing"`: the department of that name (created when new), as imports do.
        department = fields.pop("department", None)
        if department:
            fields["department_ref"] = departments.find_or_create(department, actor="test")
        if role == "staff":  # staff as they were before departments: reading everyone (the migration's grant)
            fields.setdefault("reads_everything", True)
        user = User(email=(email or f"{role}{n}@example.com").lower(), name=name or f"{role.title()} {n}",
                    role=role, password_hash=_FAST_HASH, **fields)
        db.session.add(user)
        db.session.commit()
        return user

    return factory


@pytest.fixture
def admin(make_user):
    return make_user("admin", email="admin@example.com", name="Ada Admin")


@pytest.fixture
def staff(make_user):
    return make_user("staff", email="staff@example.com", name="Sam Staff")


@pytest.fixture
def learner(make_user):
    return make_user("learner", email="learner@example.com", name="Lena Learner", department="Nursing")


CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|"X-CSRFToken": "([^"]+)"')


def csrf_token_from(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1) or match.group(2)


def login(client, email: str, password: str = PASSWORD, remember: bool = False):
    page = client.get("/login")
    token = csrf_token_from(page.get_data(as_text=True))
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token,
                                       "remember": "y" if remember else ""})


@pytest.fixture
def login_as(app):
    """login_as(user) -> a test client logged in through the real login form."""

    def do_login(user, password: str = PASSWORD):
        client = app.test_client()
        response = login(client, user.email, password)
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        client.csrf_token = csrf_token_from(client.get("/profile").get_data(as_text=True))
        return client

    return do_login


def run_jobs(app, max_jobs: int | None = None) -> None:
    """Run every queued job with a real RQ worker (in this process), until the queues are empty."""
    from app.queue import QUEUES, get_queue
    from app.tasks.worker import AppSimpleWorker

    queues = [get_queue(name) for name in QUEUES]
    worker = AppSimpleWorker(queues, connection=queues[0].connection, app=app)
    worker.work(burst=True, max_jobs=max_jobs)


@pytest.fixture
def jobs(app):
    """jobs() runs the queues empty with a real RQ worker."""
    return lambda **kw: run_jobs(app, **kw)


@pytest.fixture
def allow_private(app, monkeypatch):
    """Let outgoing connections reach loopback peers (OUTGOING_ALLOW_PRIVATE, as in dev)."""
    monkeypatch.setitem(app.config, "OUTGOING_ALLOW_PRIVATE", True)
