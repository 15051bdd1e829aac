"""Item 12: every streamed CSV export sends its last row, on SQLite and PostgreSQL.

Requests run as in a real server (`server_request`: no app context shared with the test), so the request's
session is closed between the view and the body, as it is in production. 1,200 rows cross the 1,000-row
fetch batch and the 16 KiB chunking.
"""

from __future__ import annotations

import csv
import io
import secrets
from datetime import timedelta

import pytest
from sqlalchemy import insert, select

from app.database import utcnow
from app.extensions import db
from app.models import Certificate, Certification, Completion, Course, Enrollment, User
from app.services.accounts import departments
from tests.conftest import _FAST_HASH

N = 1200


@pytest.fixture
def crowd(admin):
    """N learners, each enrolled in and completing one course and holding one certificate that expires
    within 30 days (so each analytics table has N rows)."""
    now = utcnow()
    course = Course(code="EX-1", title="Export course")
    cert = Certification(name="Export certification", status="active")
    db.session.add_all([course, cert])
    nursing = departments.find_or_create("Nursing", actor="test")
    db.session.commit()
    db.session.execute(insert(User), [
        {"email": f"learner{i:04d}@example.com", "name": f"Learner {i:04d}", "role": "learner",
         "password_hash": _FAST_HASH, "department_id": nursing.id} for i in range(N)])
    ids = db.session.scalars(select(User.id).where(User.role == "learner").order_by(User.id)).all()
    db.session.execute(insert(Enrollment), [
        {"user_id": uid, "course_id": course.id, "status": "completed", "progress": 100, "score": 90.0,
         "completed_at": now - timedelta(days=1)} for uid in ids])
    enrollments = dict(db.session.execute(select(Enrollment.user_id, Enrollment.id)).all())
    db.session.execute(insert(Completion), [
        {"enrollment_id": enrollments[uid], "user_id": uid, "course_id": course.id, "score": 90.0,
         "completed_at": now - timedelta(days=1)} for uid in ids])
    db.session.execute(insert(Certificate), [
        {"user_id": uid, "certification_id": cert.id, "code": secrets.token_urlsafe(16),
         "serial": f"LAU-EXP-{n:06d}", "issued_at": now - timedelta(days=300),
         "expires_at": now + timedelta(days=20), "snapshot": {}} for n, uid in enumerate(ids)])
    db.session.commit()
    return ids


def _rows(response) -> list[list[str]]:
    assert response.status_code == 200, response.status_code
    assert response.mimetype == "text/csv"
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


def _download(server_request, client, url: str) -> list[list[str]]:
    return server_request(lambda: _rows(client.get(url)))


def test_certificates_export_streams_every_row(crowd, staff, login_as, server_request):
    rows = _download(server_request, login_as(staff), "/certificates/export.csv")
    assert rows[0][0] == "serial" and len(rows) == 1 + N
    assert {r[0] for r in rows[1:]} == {f"LAU-EXP-{n:06d}" for n in range(N)}  # the last one included


def test_people_export_streams_every_row(crowd, admin, login_as, server_request):
    rows = _download(server_request, login_as(admin), "/admin/users/export.csv")
    assert rows[0][:2] == ["id", "email"] and len(rows) == 1 + N + 1  # the learners and the admin
    assert rows[-1][1] == "learner1199@example.com"  # ordered by name: "Learner 1199" is last


@pytest.mark.parametrize("name", ["top-performers", "recent-completions", "expiring"])
def test_analytics_table_exports_stream_every_row(crowd, admin, login_as, server_request, name):
    rows = _download(server_request, login_as(admin), f"/analytics/export/{name}.csv")
    assert len(rows) == 1 + N
    emails = {cell for row in rows[1:] for cell in row if cell.endswith("@example.com")}
    assert emails == {f"learner{i:04d}@example.com" for i in range(N)}


def test_analytics_chart_export_streams(crowd, admin, login_as, server_request):
    rows = _download(server_request, login_as(admin), "/analytics/export/by-certification.csv")
    assert rows[1][0] == "Export certification"
