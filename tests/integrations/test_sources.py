"""SQL source against a real second database (SQLite; PostgreSQL when reachable) and the CSV drop folder."""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text

from app.connectors import sql_source
from app.extensions import db
from app.models import Certificate, Completion, User
from app.services.integrations import registry, syncs
from tests.support.syncs import run_sync

QUERY = (
    "SELECT learner_email AS email, learner_name AS name, course AS course_code, state AS status, "
    "mark AS score, finished AS completed_at FROM lms_results ORDER BY id"
)
ROWS = [
    (1, "ann@example.com", "Ann Archer", "FA-101", "completed", 91, "2026-01-10T08:00:00Z"),
    (2, "bob@example.com", "Bob Baker", "FA-101", "in_progress", None, None),
    (3, "cy@example.com", "Cy Cole", "NOPE-9", "completed", 70, "2026-01-11T08:00:00Z"),
]


def _fill(url: str) -> None:
    engine = create_engine(sql_source.normalise_url(url))
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS lms_results"))
        conn.execute(
            text(
                "CREATE TABLE lms_results (id INTEGER PRIMARY KEY, learner_email VARCHAR(200), "
                "learner_name VARCHAR(200), course VARCHAR(40), state VARCHAR(20), mark INTEGER, "
                "finished VARCHAR(40))"
            )
        )
        for row in ROWS:
            conn.execute(
                text("INSERT INTO lms_results VALUES (:a, :b, :c, :d, :e, :f, :g)"),
                dict(zip("abcdefg", row, strict=True)),
            )
    engine.dispose()


def _postgres_source() -> str | None:
    base = os.environ.get("TEST_SOURCE_PG_URL") or "postgresql://postgres@127.0.0.1:5432/postgres"
    name = f"laurel_src_{uuid.uuid4().hex[:8]}"
    try:
        admin = create_engine(
            sql_source.normalise_url(base), isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 2}
        )
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
    except Exception:  # no server here: the SQLite case still runs
        return None
    return base.rsplit("/", 1)[0] + "/" + name


@pytest.fixture(params=["sqlite", "postgresql"])
def source_url(request, tmp_path, app, monkeypatch):
    # The source lives on loopback / in a temp folder: allowed only through the two server settings.
    monkeypatch.setitem(app.config, "OUTGOING_ALLOW_PRIVATE", True)
    monkeypatch.setitem(app.config, "SQL_IMPORT_DIR", str(tmp_path))
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'lms.db'}"
    else:
        url = _postgres_source()
        if url is None:
            pytest.skip("no PostgreSQL server for a second database")
    _fill(url)
    yield url
    if request.param == "postgresql":
        admin = create_engine(
            sql_source.normalise_url(url.rsplit("/", 1)[0] + "/postgres"), isolation_level="AUTOCOMMIT"
        )
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))
        admin.dispose()




def test_sql_source_imports_like_a_csv_file_and_rerun_changes_nothing(source_url, catalog_one, jobs):
    integration, _ = registry.create(
        "sql", {"name": "HR DB", "database_url": source_url, "query": QUERY}, actor="test"
    )
    registry.set_active(integration, True, actor="test")
    db.session.commit()
    assert syncs.test(integration)["ok"]
    run = run_sync(integration, jobs)
    assert run.status == "partial" and run.failed == 1  # NOPE-9 is not a course
    ann = db.session.scalar(select(User).where(User.email == "ann@example.com"))
    assert db.session.scalar(select(Certificate).where(Certificate.user_id == ann.id)) is not None
    assert db.session.scalar(select(func.count()).select_from(Completion)) == 1
    again = run_sync(integration, jobs)
    assert (again.created, again.updated, again.failed) == (0, 0, 1)
    assert again.unchanged == 2
    assert db.session.scalar(select(func.count()).select_from(Completion)) == 1


def test_sql_source_is_read_only(tmp_path):
    url = f"sqlite:///{tmp_path / 'lms.db'}"
    _fill(url)
    where = {"allow_private": False, "import_dir": tmp_path.resolve()}
    with pytest.raises(sql_source.SourceError, match="readonly|read-only"):
        sql_source.fetch_rows(url, "DELETE FROM lms_results", **where)
    assert len(sql_source.fetch_rows(url, QUERY, **where)) == 3
    with pytest.raises(sql_source.SourceError, match="course_code"):
        sql_source.fetch_rows(url, "SELECT learner_email AS email FROM lms_results", **where)


def test_sql_url_is_encrypted_and_query_must_select(catalog_one):
    integration, _ = registry.create(
        "sql",
        {"name": "HR", "database_url": "postgresql://ro:pa55word@93.184.215.14/hr", "query": QUERY},
        actor="test",
    )
    db.session.commit()
    raw = db.session.execute(text("SELECT credentials_encrypted FROM integrations")).scalar()
    assert "pa55word" not in raw
    from app.services.errors import ValidationError

    with pytest.raises(ValidationError):
        registry.update(integration, {"query": "DELETE FROM users"}, actor="test")


def write(folder: Path, name: str, content: str) -> Path:
    path = folder / name
    path.write_text(content)
    old = time.time() - 60
    os.utime(path, (old, old))  # settled
    return path


def test_file_drop_moves_files_to_done_and_failed(tmp_path, catalog_one, jobs):
    write(
        tmp_path,
        "good.csv",
        "email,name,course_code,status,score,completed_at\n"
        "dee@example.com,Dee Drop,FA-101,completed,80,2026-02-01\n",
    )
    write(tmp_path, "bad.csv", "email,name,course_code\nnot-an-email,X,FA-101\neve@example.com,Eve,NOPE\n")
    (tmp_path / "notes.txt").write_text("ignored")
    integration, _ = registry.create(
        "file_drop", {"name": "Drop", "folder": str(tmp_path), "settle_seconds": "1"}, actor="test"
    )
    registry.set_active(integration, True, actor="test")
    db.session.commit()
    assert "2 CSV file(s) waiting" in syncs.test(integration)["message"]
    run = run_sync(integration, jobs)
    assert run.details["files"] == {"done": 1, "failed": 1}
    assert (tmp_path / "done" / "good.csv").exists() and (tmp_path / "failed" / "bad.csv").exists()
    report = (tmp_path / "failed" / "bad.csv.errors.txt").read_text()
    assert "line 2:" in report and "line 3:" in report and "unknown course code 'NOPE'" in report
    assert not (tmp_path / "good.csv").exists() and (tmp_path / "notes.txt").exists()
    assert db.session.scalar(select(User.email).where(User.email == "eve@example.com")) is None
    dee = db.session.scalar(select(User).where(User.email == "dee@example.com"))
    assert db.session.scalar(select(Certificate).where(Certificate.user_id == dee.id)) is not None
    assert run_sync(integration, jobs).message == "0 file(s) processed"


def test_file_drop_missing_folder_fails_the_run(tmp_path, jobs):
    integration, _ = registry.create(
        "file_drop", {"name": "Drop", "folder": str(tmp_path / "nope")}, actor="test"
    )
    db.session.commit()
    run = run_sync(integration, jobs)
    assert run.status == "failed" and "does not exist" in run.message
