"""Issue #11 item 10: no CSV input makes a reader raise. Oversized fields, lines and headers, NUL bytes,
invalid UTF-8 and BOMs become an error with its line number, in every place that reads CSV: the import
service, the upload page, the CSV drop folder, the S3 drop and the SQL source (its rows become CSV)."""

from __future__ import annotations

import io
import os
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from app.connectors import sql_source
from app.extensions import db
from app.models import Completion, Enrollment, User
from app.models.integration import SyncRun
from app.services.integrations import registry, syncs
from app.services.lifecycle import imports
from tests.integrations.conftest import bucket, s3_endpoint  # noqa: F401 (fixtures)
from tests.support import s3
from tests.support.catalog_fixtures import first_aid, make_certification, make_course  # noqa: F401
from tests.support.syncs import active_sql_source

HEADER = "email,name,department,course_code,status,score,completed_at\n"
GOOD_ROW = "ann@example.com,Ann Archer,Nursing,FA-101,completed,80,2026-01-15\n"

# (file body, the line the error must name, words the reason must contain)
BAD_FILES = {
    "200k_field": ((HEADER + GOOD_ROW + "bob@example.com," + "B" * 200_000 + ",,FA-101,,,\n").encode(),
                   3, "longer than"),
    "5mb_line": ((HEADER + GOOD_ROW + GOOD_ROW.replace("ann", "cy") + "x" * (5 * 1024 * 1024 - 400)
                  + "\n").encode(), 4, "longer than"),
    "150k_header": (("email,course_code," + "h" * 150_000 + "\n" + GOOD_ROW).encode(), 1, "header row"),
    "nul_bytes": ((HEADER + GOOD_ROW + "bob@example.com,Bo\x00b,,FA-101,,,\n").encode(), 3,
                  "NUL character"),
    "invalid_utf8": ((HEADER + GOOD_ROW).encode() + b"bob@example.com,B\xffb,,FA-101,,,\n", 3, "not UTF-8"),
    "two_boms": (("\ufeff\ufeff" + HEADER + GOOD_ROW).encode(), 1, "Missing column"),
    "open_quote": ((HEADER + GOOD_ROW + 'bob@example.com,"Bob,,FA-101,,,\n').encode(), 3, ""),
}


def _counts() -> tuple[int, int, int]:
    models = (User, Enrollment, Completion)
    return tuple(db.session.scalar(select(func.count()).select_from(m)) for m in models)


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_import_service_reports_the_line_and_never_raises(first_aid, case):  # noqa: F811
    body, line, words = BAD_FILES[case]
    preview = imports.parse(body)
    assert not preview.ok
    assert line in [n for n, _ in preview.errors], preview.errors
    reason = dict(preview.errors)[line]
    assert words in reason and len(reason) < 300  # the huge value is never echoed


def test_a_bom_is_accepted(first_aid):  # noqa: F811
    preview = imports.parse(("\ufeff" + HEADER + GOOD_ROW).encode())
    assert preview.ok and preview.errors == []


def test_a_long_unknown_value_is_not_echoed_whole(first_aid):  # noqa: F811
    preview = imports.parse((HEADER + "bob@example.com,Bob,,X" + "Y" * 5000 + ",,,\n").encode())
    [(line, reason)] = preview.errors
    assert line == 2 and "unknown course code" in reason and len(reason) < 200


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_upload_page_answers_422_with_the_line(login_as, admin, first_aid, case):  # noqa: F811
    body, line, _ = BAD_FILES[case]
    client = login_as(admin)
    before = _counts()
    # Encoded here, in memory: the test client would spool a large body to a temp file it never closes.
    upload = FileStorage(io.BytesIO(body), "people.csv", content_type="text/csv")
    boundary, encoded = encode_multipart({"file": upload})
    response = client.post("/import", data=encoded, headers={"X-CSRFToken": client.csrf_token},
                           content_type=f"multipart/form-data; boundary={boundary}")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert f'<td class="text-nowrap">{line}</td>' in html
    assert "Confirm and import" not in html and len(html) < 100_000
    assert _counts() == before


def _write_settled(folder: Path, name: str, data: bytes) -> None:
    path = folder / name
    path.write_bytes(data)
    old = time.time() - 60
    os.utime(path, (old, old))


def _run(integration, jobs) -> SyncRun:
    syncs.enqueue(integration, "manual")
    db.session.commit()
    jobs()
    db.session.commit()
    return db.session.scalars(select(SyncRun).order_by(SyncRun.id.desc())).first()


def test_csv_drop_folder_moves_unreadable_files_to_failed_with_the_line(tmp_path, first_aid, jobs):  # noqa: F811
    for case in ("200k_field", "invalid_utf8", "150k_header"):
        _write_settled(tmp_path, f"{case}.csv", BAD_FILES[case][0])
    _write_settled(tmp_path, "good.csv", (HEADER + GOOD_ROW).encode())
    integration, _ = registry.create("file_drop", {"name": "Drop", "folder": str(tmp_path),
                                                       "settle_seconds": "1"}, actor="test")
    registry.set_active(integration, True, actor="test")
    db.session.commit()
    run = _run(integration, jobs)
    assert run.status == "partial" and run.details["files"] == {"done": 1, "failed": 3}
    for case in ("200k_field", "invalid_utf8", "150k_header"):
        report = (tmp_path / "failed" / f"{case}.csv.errors.txt").read_text()
        assert f"line {BAD_FILES[case][1]}:" in report and len(report) < 1000
    assert db.session.scalar(select(func.count()).select_from(Completion)) == 1


def test_s3_drop_moves_unreadable_files_to_failed(s3_endpoint, bucket, first_aid, jobs):  # noqa: F811
    s3.client(s3_endpoint).put_object(Bucket=bucket, Key="incoming/big.csv", Body=BAD_FILES["200k_field"][0])
    integration, _ = registry.create(
        "file_drop",
        {"name": "Bucket drop", "location": "s3", "bucket": bucket, "prefix": "incoming/",
         "endpoint_url": s3_endpoint, "region": s3.REGION, "access_key_id": s3.KEY_ID,
         "secret_access_key": s3.SECRET, "settle_seconds": "0"}, actor="test")
    registry.set_active(integration, True, actor="test")
    db.session.commit()
    run = _run(integration, jobs)
    assert run.status == "partial" and run.details["files"] == {"failed": 1}
    report = s3.client(s3_endpoint).get_object(Bucket=bucket, Key="incoming/failed/big.csv.errors.txt")
    assert "line 3:" in report["Body"].read().decode()


def test_sql_source_refuses_a_huge_cell_per_row(sqlite_sources, tmp_path, first_aid, jobs):  # noqa: F811
    url = f"sqlite:///{tmp_path / 'lms.db'}"
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE lms (id INTEGER PRIMARY KEY, email TEXT, name TEXT, code TEXT)"))
        conn.execute(text("INSERT INTO lms VALUES (1, 'big@example.com', :big, 'FA-101'), "
                          "(2, 'ann@example.com', 'Ann Archer', 'FA-101')"), {"big": "B" * 200_000})
    engine.dispose()
    query = "SELECT email, name, code AS course_code, 'completed' AS status FROM lms ORDER BY id"
    integration = active_sql_source(url, query)
    run = _run(integration, jobs)
    assert run.status == "partial" and run.failed == 1  # the big row only; Ann's row is applied
    assert db.session.scalar(select(User.id).where(User.email == "ann@example.com")) is not None
    assert db.session.scalar(select(User.id).where(User.email == "big@example.com")) is None
    assert len(sql_source._cell("x" * 200_000)) == sql_source.MAX_CELL + 1
