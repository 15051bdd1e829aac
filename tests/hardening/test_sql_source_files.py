"""Issue #11 item 1 (SQL source): no local files, no unsupported drivers, no libpq options that bypass the
address policy, and error texts that never carry row values (password hashes).

SQLite sources are refused in every spelling unless the file's real path is inside SQL_IMPORT_DIR (which
itself must be outside the code tree and instance/). Real SQLite files and a real PostgreSQL database.
"""

from __future__ import annotations

import sqlite3
import uuid

import pytest
from sqlalchemy import create_engine, select, text

from app import path_policy
from app.config import ConfigError, load_config
from app.connectors import sql_source
from app.extensions import db
from app.models.integration import IntegrationLog
from app.services.errors import ValidationError
from app.services.integrations import registry, syncs

HASH = "$pbkdf2-sha256$600000$c2FsdHNhbHQ$Zm9vYmFyYmF6cXV4cXV1eA"
QUERY = "SELECT pw AS email, 'FA-101' AS course_code FROM accounts"


def _sqlite_file(path) -> str:
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS accounts (pw TEXT)")
        conn.execute("INSERT INTO accounts VALUES (?)", (HASH,))
    return str(path)


@pytest.fixture
def import_dir(app, tmp_path, monkeypatch):
    folder = tmp_path / "imports"
    folder.mkdir()
    monkeypatch.setitem(app.config, "SQL_IMPORT_DIR", str(folder))
    return folder


def _save_error(url: str) -> str:
    with pytest.raises(ValidationError) as caught:
        registry.create("sql", {"name": "x", "database_url": url, "query": "SELECT 1"}, actor="test")
    db.session.rollback()
    return caught.value.errors["database_url"]


def _own_sqlite_path(app) -> str:
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    return uri.split("///", 1)[1] if uri.startswith("sqlite") else str(app.instance_path) + "/laurel.db"


# --------------------------------------------------------------------------- SQLite: every spelling


def test_sqlite_is_refused_in_every_spelling_without_an_import_dir(app, tmp_path):
    own = _own_sqlite_path(app)
    other = _sqlite_file(tmp_path / "other.db")
    for url in (
        "sqlite:///laurel.db",  # relative
        "sqlite:///instance/laurel.db",
        f"sqlite:///{own}",  # Laurel's own database, absolute
        f"sqlite+pysqlite:///{own}",
        f"sqlite:///file:{own}?uri=true",
        f"sqlite:///{tmp_path}/../{tmp_path.name}/other.db",
        f"sqlite:///{other}",
        "sqlite://",  # in memory
        "sqlite+aiosqlite:///x.db",
    ):
        message = _save_error(url)
        assert "SQLite" in message or "Unsupported" in message, (url, message)


def test_sqlite_outside_the_import_dir_is_refused_even_when_it_is_set(app, tmp_path, import_dir):
    own = _own_sqlite_path(app)
    outside = _sqlite_file(tmp_path / "outside.db")
    (import_dir / "link.db").symlink_to(outside)  # a symlink inside pointing outside
    for url in (
        f"sqlite:///{own}",
        f"sqlite:///{outside}",
        f"sqlite:///{import_dir}/../outside.db",
        f"sqlite:///{import_dir}/link.db",
        f"sqlite:///{import_dir}/missing.db",  # same words as "outside": no probing of files
        f"sqlite:///file:{import_dir}/a.db?mode=ro&uri=true",
        "sqlite:///imports/a.db",
    ):
        assert "SQL_IMPORT_DIR" in _save_error(url) or "absolute path" in _save_error(url), url
    assert db.session.scalars(registry.integration_query()).all() == []


def test_sqlite_inside_the_import_dir_works(import_dir):
    path = _sqlite_file(import_dir / "hr.db")
    integration, _ = registry.create(
        "sql", {"name": "HR", "database_url": f"sqlite:///{path}", "query": QUERY}, actor="test"
    )
    db.session.commit()
    assert syncs.test(integration)["ok"]


def test_sqlite_file_moved_out_of_reach_is_refused_at_connect_time(app, import_dir, monkeypatch):
    path = _sqlite_file(import_dir / "hr.db")
    integration, _ = registry.create(
        "sql", {"name": "HR", "database_url": f"sqlite:///{path}", "query": QUERY}, actor="test"
    )
    db.session.commit()
    monkeypatch.setitem(app.config, "SQL_IMPORT_DIR", None)
    result = syncs.test(integration)
    assert not result["ok"] and "SQL_IMPORT_DIR" in result["error"]


def test_import_dir_must_be_outside_instance_and_the_code_tree(tmp_path):
    instance = tmp_path / "instance"
    (instance / "imports").mkdir(parents=True)
    for folder in (instance / "imports", path_policy.CODE_TREE / "static", path_policy.CODE_TREE):
        with pytest.raises(ConfigError, match="SQL_IMPORT_DIR"):
            load_config(instance, {"SQL_IMPORT_DIR": str(folder)})
    (tmp_path / "ok").mkdir()
    assert load_config(instance, {"SQL_IMPORT_DIR": str(tmp_path / "ok")})["SQL_IMPORT_DIR"]
    assert load_config(instance, {})["SQL_IMPORT_DIR"] is None


# --------------------------------------------------------------------------- drivers and libpq options


@pytest.mark.parametrize("url", [
    "mysql://root:pw@93.184.215.14/db",
    "mysql+pymysql://root:pw@93.184.215.14/db",
    "mssql+pyodbc://sa:pw@93.184.215.14/db",
    "oracle://u:p@93.184.215.14/db",
    "postgresql+psycopg2://u:p@93.184.215.14/db",
    "postgresql+pg8000://u:p@93.184.215.14/db",
    "redis://93.184.215.14/0",
    "not a url",
])
def test_unsupported_databases_are_refused(url):
    message = _save_error(url)
    assert "Unsupported" in message or "not valid" in message


@pytest.mark.parametrize("url", [
    "postgresql://u:p@93.184.215.14/db?host=/var/run/postgresql",  # unix socket via the query
    "postgresql://u:p@93.184.215.14/db?hostaddr=127.0.0.1",  # bypass the checked address
    "postgresql://u:p@93.184.215.14/db?service=laurel",  # pg_service.conf on this server
    "postgresql://u:p@93.184.215.14/db?sslkey=/etc/ssl/private/key.pem",  # reads a local file
    "postgresql://u:p@93.184.215.14/db?passfile=/root/.pgpass",
    "postgresql://u:p@/db",  # no host: the local socket
    "postgresql://u:p@93.184.215.14,127.0.0.1/db",  # libpq host list
])
def test_libpq_options_that_bypass_the_policy_are_refused(url):
    message = _save_error(url)
    assert "not allowed" in message or "single network host" in message


def test_a_public_postgresql_host_is_accepted_and_pinned():
    target = sql_source.check_url("postgresql://u:p@93.184.215.14:6543/db?sslmode=require",
                                  allow_private=False, import_dir=None)
    assert target.connect_args["hostaddr"] == "93.184.215.14"


# --------------------------------------------------------------------------- no row values in error texts


def test_sqlite_source_errors_never_echo_row_values(import_dir, catalog_one, jobs):
    path = _sqlite_file(import_dir / "hr.db")
    integration, _ = registry.create(
        "sql", {"name": "HR", "database_url": f"sqlite:///{path}", "query": QUERY}, actor="test"
    )
    registry.set_active(integration, True, actor="test")
    db.session.commit()
    result = syncs.test(integration)
    assert result["errors"] and HASH not in str(result) and "pbkdf2" not in str(result)
    syncs.enqueue(integration, "manual")
    db.session.commit()
    jobs()
    logged = " ".join(db.session.scalars(select(IntegrationLog.message)).all())
    assert "rejected" in logged and "pbkdf2" not in logged


@pytest.fixture
def pg_source(app, allow_private):
    """A scratch PostgreSQL database holding a password hash (skipped without a server)."""
    base = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    name = f"laurel_src_{uuid.uuid4().hex[:8]}"
    try:
        admin = create_engine(base, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 2})
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception:
        pytest.skip("no PostgreSQL server for a source database")
    url = f"postgresql://postgres@127.0.0.1:5432/{name}"
    source = create_engine(sql_source.normalise_url(url))
    with source.begin() as conn:
        conn.execute(text("CREATE TABLE accounts (pw TEXT)"))
        conn.execute(text("INSERT INTO accounts VALUES (:pw)"), {"pw": HASH})
    source.dispose()
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_postgresql_query_errors_never_echo_row_values(pg_source):
    integration, _ = registry.create("sql", {
        "name": "HR", "database_url": pg_source,
        "query": "SELECT CAST(pw AS integer) AS email, 'FA-101' AS course_code FROM accounts"}, actor="test")
    db.session.commit()
    result = syncs.test(integration)
    assert not result["ok"] and "invalid input syntax" in result["error"]
    assert "pbkdf2" not in result["error"]
    query = 'SELECT "nope" AS email FROM accounts'
    missing = registry.update(integration, {"query": query}, actor="test")
    db.session.commit()
    assert '"nope"' in syncs.test(missing)["error"]  # names the admin typed stay readable


def test_query_error_masks_quoted_values_but_keeps_the_query_s_names():
    error = Exception('invalid input syntax for type integer: "$pbkdf2$abc" near "pw"\nDETAIL: x')
    assert sql_source.query_error(error, 'SELECT CAST("pw" AS integer)') == (
        'invalid input syntax for type integer: "…" near "pw"'
    )


# --------------------------------------------------------------------------- Laurel's own database


def test_laurels_own_database_is_never_a_source_even_where_private_is_allowed(app, allow_private):
    own = app.config["SQLALCHEMY_DATABASE_URI"]
    if not own.startswith("postgresql"):
        pytest.skip("PostgreSQL run only (the SQLite case is below)")
    from sqlalchemy.engine import make_url

    url = make_url(own)
    for spelling in (own, url.set(host="localhost").render_as_string(hide_password=False)):
        assert "own database" in _save_error(spelling)


def test_laurels_own_sqlite_file_is_never_a_source(tmp_path):
    own = _sqlite_file(tmp_path / "laurel.db")
    (tmp_path / "alias.db").symlink_to(own)
    for url in (f"sqlite:///{own}", f"sqlite:///{tmp_path}/alias.db"):
        with pytest.raises(sql_source.SourceError, match="own database"):
            sql_source.check_url(url, allow_private=True, import_dir=tmp_path.resolve(),
                                 own_database=f"sqlite:///{own}")
