"""Item 6 (regression): a completed enrollment never goes back to enrolled/in progress through an automated
source — incoming hooks (any scheme), the API without `reopen: true`, CSV upload, SQL source, drop folder,
Moodle sync. Only an explicit admin action reopens it (the console row, or the API with `reopen: true`)."""

from __future__ import annotations

import io
import json
import os
import re
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, func, select, text

from app.extensions import db
from app.models import Completion, Course, Enrollment, User
from app.models.integration import IncomingReceipt
from app.services.accounts import tokens
from app.services.errors import NotAllowed
from app.services.integrations import registry
from app.services.lifecycle import enrollment
from tests.integrations.test_incoming import post as post_standard
from tests.support.syncs import run_sync

DONE_AT = datetime(2026, 1, 20, 10, 0, tzinfo=UTC)


@pytest.fixture
def completed(catalog_one, learner) -> Enrollment:
    """The learner completed FA-101 (score 95) on DONE_AT."""
    _, course = catalog_one
    enrollment.record_completion(learner, course, score=95, completed_at=DONE_AT, actor="test")
    db.session.commit()
    return db.session.scalar(select(Enrollment))


def assert_still_completed(row: Enrollment) -> None:
    db.session.expire_all()
    row = db.session.get(Enrollment, row.id)
    assert (row.status, row.progress, row.score, row.completed_at) == ("completed", 100, 95, DONE_AT)
    assert db.session.scalar(select(func.count()).select_from(Completion)) == 1


# ------------------------------------------------------------------ incoming hooks


@pytest.mark.parametrize("status", ["in_progress", "enrolled"])
def test_incoming_upsert_late_message_is_ignored_not_applied(client, hook, completed, learner, status):
    integration, secret = hook
    body = json.dumps({"type": "enrollment.upsert", "data": {
        "email": learner.email, "course_code": "FA-101", "status": status, "progress": 40, "score": 50}})
    response = post_standard(client, integration, secret, body, msg_id="late-1")
    assert response.status_code == 200, response.json
    assert response.json["status"] == "ignored"  # 2xx: a sender must not retry an out-of-order message
    assert_still_completed(completed)
    assert db.session.scalar(select(func.count()).select_from(IncomingReceipt)) == 1
    again = post_standard(client, integration, secret, body, msg_id="late-1")
    assert again.status_code == 409


def test_incoming_upsert_withdrawn_or_progress_for_open_enrollments_still_applies(client, hook, learner):
    integration, secret = hook
    body = json.dumps({"type": "enrollment.upsert", "data": {
        "email": learner.email, "course_code": "FA-101", "status": "in_progress", "progress": 40}})
    assert post_standard(client, integration, secret, body, msg_id="m-1").json["status"] == "processed"
    db.session.expire_all()
    assert db.session.scalar(select(Enrollment.status)) == "in_progress"


def test_incoming_github_scheme_late_message_is_ignored(client, github_hook, completed, learner):
    from tests.hardening.test_incoming_replay import post_github

    integration, secret = github_hook
    body = json.dumps({"type": "enrollment.upsert", "data": {
        "email": learner.email, "course_code": "FA-101", "status": "in_progress", "progress": 10}})
    response = post_github(client, integration, secret, body, "gh-late")
    assert response.status_code == 200 and response.json["status"] == "ignored"
    assert_still_completed(completed)


# ------------------------------------------------------------------ REST API


@pytest.fixture
def admin_api(app, admin):
    _, secret = tokens.create_token(admin, "automation")
    db.session.commit()
    headers = {"Authorization": f"Bearer {secret}"}
    client = app.test_client()
    return lambda id_, body: client.patch(f"/api/v1/enrollments/{id_}", json=body, headers=headers)


@pytest.mark.parametrize("body", [{"status": "in_progress"}, {"status": "enrolled", "progress": 0},
                                  {"status": "in_progress", "reopen": False}])
def test_api_patch_cannot_move_a_completion_back_without_reopen(admin_api, completed, body):
    response = admin_api(completed.id, body)
    assert response.status_code == 409 and "reopen" in response.get_data(as_text=True)
    assert_still_completed(completed)


def test_api_reopen_must_be_a_boolean(admin_api, completed):
    response = admin_api(completed.id, {"status": "in_progress", "reopen": "yes"})
    assert response.status_code in (400, 422)
    assert_still_completed(completed)


def test_api_patch_with_reopen_true_is_the_explicit_admin_action(admin_api, completed):
    response = admin_api(completed.id, {"status": "in_progress", "progress": 30, "reopen": True})
    assert response.status_code == 200, response.json
    assert (response.json["status"], response.json["progress"]) == ("in_progress", 30)


def test_api_openapi_documents_reopen(client):
    schema = client.get("/api/v1/openapi.json").json
    assert schema["components"]["schemas"]["EnrollmentUpdate"]["properties"]["reopen"]["type"] == "boolean"


# ------------------------------------------------------------------ console (explicit admin action)


def test_console_row_edit_reopens_on_purpose(login_as, admin, completed):
    client = login_as(admin)
    response = client.post(f"/enrollments/{completed.id}", data={
        "status": "in_progress", "progress": "20", "score": "", "csrf_token": client.csrf_token})
    assert response.status_code == 200
    db.session.expire_all()
    assert db.session.get(Enrollment, completed.id).status == "in_progress"


def test_service_refuses_without_reopen_for_any_other_caller(completed):
    with pytest.raises(NotAllowed, match="only an explicit admin action"):
        enrollment.update_enrollment(completed, {"status": "in_progress"}, actor="system", source="script")
    db.session.rollback()
    assert_still_completed(completed)


# ------------------------------------------------------------------ CSV upload, SQL source, drop folder

STALE_CSV = ("email,name,department,course_code,status,score,completed_at\n"
             "learner@example.com,,,FA-101,in_progress,40,\n")


def test_csv_upload_keeps_the_completion(login_as, admin, completed):
    client = login_as(admin)
    headers = {"X-CSRFToken": client.csrf_token}
    preview = client.post("/import", data={"file": (io.BytesIO(STALE_CSV.encode()), "late.csv")},
                          headers=headers, content_type="multipart/form-data")
    assert preview.status_code == 200
    token = re.search(r'name="token" value="([^"]+)"', preview.get_data(as_text=True)).group(1)
    done = client.post("/import/confirm", data={"token": token}, headers=headers)
    html = done.get_data(as_text=True)
    assert done.status_code == 200
    assert re.search(r"Rows unchanged <strong>1</strong>", html)
    assert re.search(r"Completed enrollments kept[^<]*<strong>1</strong>", html)
    assert_still_completed(completed)




def test_sql_source_keeps_the_completion(sqlite_sources, tmp_path, completed, jobs):
    url = f"sqlite:///{tmp_path / 'lms.db'}"
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE results (email TEXT, course_code TEXT, status TEXT, score INTEGER)"))
        conn.execute(text("INSERT INTO results VALUES ('learner@example.com', 'FA-101', 'in_progress', 40)"))
    engine.dispose()
    integration, _ = registry.create("sql", {
        "name": "LMS DB", "database_url": url,
        "query": "SELECT email, course_code, status, score FROM results"}, actor="test")
    registry.set_active(integration, True, actor="test")
    db.session.commit()
    run = run_sync(integration, jobs)
    assert (run.status, run.updated, run.failed, run.unchanged) == ("succeeded", 0, 0, 1), run.message
    assert_still_completed(completed)


def test_drop_folder_keeps_the_completion(tmp_path, completed, jobs):
    path = tmp_path / "late.csv"
    path.write_text(STALE_CSV)
    old = time.time() - 60
    os.utime(path, (old, old))  # settled
    integration, _ = registry.create(
        "file_drop", {"name": "Drop", "folder": str(tmp_path), "settle_seconds": "1"}, actor="test")
    registry.set_active(integration, True, actor="test")
    db.session.commit()
    run = run_sync(integration, jobs)
    assert run.details["files"] == {"done": 1}, run.details
    assert_still_completed(completed)


# ------------------------------------------------------------------ Moodle sync


def test_moodle_sync_of_an_older_completion_keeps_the_newer_state(allow_private, jobs):
    from app.services.accounts import users
    from tests.support.moodle_simulator import MoodleSimulator, small_site

    with MoodleSimulator(small_site()) as sim:
        integration, _ = registry.create(
            "moodle", {"name": "Campus Moodle", "site_url": sim.url, "moodle_token": "full"}, actor="test")
        registry.set_active(integration, True, actor="test")
        db.session.commit()
        run_sync(integration, jobs)
        fire = db.session.scalar(select(Course).where(Course.code == "FIRE101"))
        grace = next(u for u in sim.site.users.values() if u.firstname == "Grace")
        user = users.find_by_email(grace.email) or users.create_user(
            grace.email, "Grace Hopper", actor="test")
        newer = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
        enrollment.record_completion(user, fire, score=99, completed_at=newer, actor="test")
        db.session.commit()
        older = int((newer - timedelta(days=3)).timestamp())
        sim.site.complete(int(fire.external_id), grace.id, at=older)
        # Moodle reports it late (the learner visited now): the incremental sync picks the old time up.
        sim.site.enrolments[(int(fire.external_id), grace.id)].lastcourseaccess = int(time.time())
        run = run_sync(integration, jobs)
    assert run.status == "succeeded", run.message
    assert run.details["completions"] == {"created": 1}, run.details
    row = db.session.scalar(select(Enrollment).where(Enrollment.user_id == user.id,
                                                     Enrollment.course_id == fire.id))
    assert (row.status, row.score, row.completed_at) == ("completed", 99, newer)
    assert db.session.scalar(select(func.count()).select_from(Completion).where(
        Completion.user_id == user.id, Completion.course_id == fire.id)) == 2  # history kept, state not
    assert db.session.get(User, user.id).active
