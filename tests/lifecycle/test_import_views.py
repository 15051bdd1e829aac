"""CSV import through the pages: preview lists every bad row and applies nothing; a clean file is
previewed, confirmed and applied once; the sample downloads; only the uploader can confirm."""

from __future__ import annotations

import io
import re

from sqlalchemy import func, select

from app.extensions import db
from app.models import Certificate, Enrollment, User
from tests.support.lifecycle_views import post

GOOD = b"""email,name,department,course_code,status,score,completed_at
new.person@example.com,New Person,Nursing,FA-101,completed,80,2026-01-15
new.person@example.com,New Person,Nursing,FA-102,completed,90,2026-01-16
learner@example.com,,,FA-101,in_progress,,
"""
BAD = b"""email,name,department,course_code,status,score,completed_at
not-an-email,X,,FA-101,completed,80,2026-01-15
ok@example.com,Ok Person,,NOPE-1,completed,80,2026-01-15
ok@example.com,Ok Person,,FA-101,finished,80,2026-01-15
ok2@example.com,Ok Two,,FA-102,completed,180,2026-01-15
ok3@example.com,Ok Three,,FA-102,completed,80,2999-01-01
"""


def _upload(client, data: bytes, name: str = "people.csv"):
    return post(client, "/import", {"file": (io.BytesIO(data), name)}, htmx=False,
                content_type="multipart/form-data")


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_page_sample_and_roles(login_as, admin, staff):
    client = login_as(admin)
    page = client.get("/import").get_data(as_text=True)
    assert "course_code" in page and "completed_at" in page and "/import/sample.csv" in page
    sample = client.get("/import/sample.csv")
    assert sample.status_code == 200 and sample.mimetype == "text/csv"
    assert sample.get_data(as_text=True).startswith("email,name,department,course_code")
    assert login_as(staff).get("/import").status_code == 403


def test_bad_rows_listed_with_line_numbers_nothing_applied(login_as, admin, learner, first_aid):
    users_before = _count(User)
    response = _upload(login_as(admin), BAD)
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "5 bad rows: nothing was imported" in html
    for line, reason in [(2, "bad email"), (3, "unknown course code"), (4, "bad status"),
                         (5, "is not a number from 0 to 100"), (6, "is in the future")]:
        assert re.search(rf"<td class=\"text-nowrap\">{line}</td><td>[^<]*{reason}", html), (line, reason)
    assert "Confirm and import" not in html
    assert _count(User) == users_before and _count(Enrollment) == 0


def test_preview_then_confirm_applies_once(login_as, admin, learner, first_aid):
    client = login_as(admin)
    preview = _upload(client, GOOD)
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "3 rows ready" in html and "Confirm and import" in html
    assert _count(Enrollment) == 0
    token = re.search(r'name="token" value="([^"]+)"', html).group(1)
    done = post(client, "/import/confirm", {"token": token}, htmx=False)
    text = done.get_data(as_text=True)
    assert done.status_code == 200 and "3 rows applied" in text
    assert re.search(r"Learners created <strong>1</strong>", text)
    assert re.search(r"Certificates issued <strong>1</strong>", text)
    assert _count(Enrollment) == 3 and _count(Certificate) == 1
    # The stored upload is gone once applied: the same confirm cannot run twice.
    again = post(client, "/import/confirm", {"token": token}, htmx=False)
    assert again.status_code == 302 and _count(Enrollment) == 3
    # Re-importing the same file changes nothing.
    token = re.search(r'name="token" value="([^"]+)"', _upload(client, GOOD).get_data(as_text=True)).group(1)
    text = post(client, "/import/confirm", {"token": token}, htmx=False).get_data(as_text=True)
    assert re.search(r"Rows unchanged <strong>3</strong>", text) and _count(Certificate) == 1


def test_only_the_uploader_can_confirm(login_as, admin, learner, make_user, first_aid):
    preview = _upload(login_as(admin), GOOD).get_data(as_text=True)
    token = re.search(r'name="token" value="([^"]+)"', preview).group(1)
    other_admin = login_as(make_user("admin"))
    assert post(other_admin, "/import/confirm", {"token": token}, htmx=False).status_code == 302
    assert post(other_admin, "/import/confirm", {"token": "../../etc/passwd"}, htmx=False).status_code == 302
    assert _count(Enrollment) == 0


def test_missing_file_is_an_error_in_place(login_as, admin):
    response = post(login_as(admin), "/import", {}, htmx=False)
    assert response.status_code == 422 and "Choose a CSV file." in response.get_data(as_text=True)
