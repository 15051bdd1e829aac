"""Issue #11 item 11 (dates): a completion dated before 2000-01-01 or in the future (beyond 5 minutes of
clock skew) is refused with a field error by one shared check (app.rules.completion_dates), in the
API, CSV import, incoming hooks and the Moodle and SQL syncs alike."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, func, select, text
from standardwebhooks import Webhook

from app.database import utcnow
from app.extensions import db
from app.models import Completion, Enrollment, User
from app.rules import completion_dates
from app.services.accounts import tokens
from app.services.errors import ValidationError
from app.services.integrations import registry
from app.services.lifecycle import enrollment, imports
from tests.support.catalog_fixtures import first_aid, make_certification, make_course  # noqa: F401
from tests.support.moodle_simulator import MoodleSimulator, small_site
from tests.support.syncs import active_sql_source, run_sync

TOO_EARLY = "1999-12-31T23:59:59Z"


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_the_bounds():
    now = utcnow()
    assert completion_dates.problem(datetime(2000, 1, 1, tzinfo=UTC)) is None
    assert "before 2000-01-01" in completion_dates.problem(datetime(1999, 12, 31, 23, 59, 59, tzinfo=UTC))
    assert completion_dates.problem(now + timedelta(minutes=4)) is None  # clock skew
    assert "in the future" in completion_dates.problem(now + timedelta(minutes=6))
    assert completion_dates.problem(datetime(1970, 1, 1)) is not None  # naive = UTC (an epoch zero)


def test_the_service_refuses_for_every_caller(first_aid, learner):  # noqa: F811
    _, fa101, _ = first_aid
    for when in (datetime(1999, 6, 1, tzinfo=UTC), utcnow() + timedelta(days=1)):
        with pytest.raises(ValidationError) as refused:
            enrollment.record_completion(learner, fa101, completed_at=when, actor="test")
        assert "completed_at" in refused.value.errors
    db.session.rollback()
    assert _count(Completion) == 0


# ---- API --------------------------------------------------------------------------------------------------


def _api(app, user, method: str, url: str, body: dict):
    _, secret = tokens.create_token(user, "dates")
    db.session.commit()
    headers = {"Authorization": f"Bearer {secret}"}
    return app.test_client().open(url, method=method, json=body, headers=headers)


@pytest.mark.parametrize("when", [TOO_EARLY, "future"])
def test_api_patch_and_post_answer_422(app, admin, learner, first_aid, when):  # noqa: F811
    _, fa101, fa102 = first_aid
    when = _iso(utcnow() + timedelta(hours=1)) if when == "future" else when
    row = enrollment.enroll(learner, fa101, actor="test")
    db.session.commit()
    patch = _api(app, admin, "PATCH", f"/api/v1/enrollments/{row.id}",
                 {"status": "completed", "completed_at": when})
    assert patch.status_code == 422 and "completed_at" in patch.get_json()["errors"], patch.get_json()
    post = _api(app, admin, "POST", "/api/v1/enrollments",
                {"user_id": learner.id, "course_id": fa102.id, "status": "completed", "completed_at": when})
    assert post.status_code == 422 and "completed_at" in post.get_json()["errors"], post.get_json()
    db.session.expire_all()
    assert _count(Completion) == 0 and _count(Enrollment) == 1 and row.status == "enrolled"


def test_api_accepts_a_little_clock_skew(app, admin, learner, first_aid):  # noqa: F811
    _, fa101, _ = first_aid
    row = enrollment.enroll(learner, fa101, actor="test")
    db.session.commit()
    when = _iso(utcnow() + timedelta(minutes=2))
    response = _api(app, admin, "PATCH", f"/api/v1/enrollments/{row.id}",
                    {"status": "completed", "completed_at": when})
    assert response.status_code == 200, response.get_json()


# ---- CSV import (upload page and service) -----------------------------------------------------------------


def test_csv_import_reports_both_bounds_with_their_lines(login_as, admin, first_aid):  # noqa: F811
    future = (utcnow() + timedelta(days=2)).date().isoformat()
    body = ("email,name,course_code,completed_at\n"
            f"a@example.com,Ann,FA-101,1999-12-31\n"
            f"b@example.com,Bob,FA-101,{future}\n"
            f"c@example.com,Cy,FA-101,2000-01-01\n").encode()
    preview = imports.parse(body)
    reasons = dict(preview.errors)
    assert sorted(reasons) == [2, 3] and "before 2000-01-01" in reasons[2] and "in the future" in reasons[3]
    client = login_as(admin)
    response = client.post("/import", data={"file": (io.BytesIO(body), "dates.csv")},
                           headers={"X-CSRFToken": client.csrf_token}, content_type="multipart/form-data")
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "before 2000-01-01" in html
    assert _count(User) == 1


# ---- incoming hook ----------------------------------------------------------------------------------------


def _hook(client, integration, secret, completed_at: str, msg_id: str):
    body = json.dumps({"type": "completion.record", "timestamp": "2026-01-15T09:31:00Z",
                       "data": {"email": "new.person@example.com", "name": "New Person",
                                "course_code": "FA-101", "completed_at": completed_at}})
    when = datetime.now(UTC)
    headers = {"webhook-id": msg_id, "webhook-timestamp": str(int(when.timestamp())),
               "webhook-signature": Webhook(secret).sign(msg_id, when, body),
               "Content-Type": "application/json"}
    return client.post(f"/hooks/in/{integration.incoming_token}", data=body.encode(), headers=headers)


def test_incoming_hook_answers_422_outside_the_bounds(client, first_aid):  # noqa: F811
    integration, secret = registry.create("incoming", {"name": "LMS", "create_users": True}, actor="test")
    registry.set_active(integration, True, actor="test")
    db.session.commit()
    early = _hook(client, integration, secret, TOO_EARLY, "m1")
    assert early.status_code == 422 and "before 2000-01-01" in early.json["fields"]["completed_at"]
    late = _hook(client, integration, secret, _iso(utcnow() + timedelta(hours=2)), "m2")
    assert late.status_code == 422 and "in the future" in late.json["fields"]["completed_at"]
    assert _count(Completion) == 0
    skewed = _hook(client, integration, secret, _iso(utcnow() + timedelta(minutes=3)), "m3")
    assert skewed.status_code == 200, skewed.json


# ---- Moodle and SQL syncs: the item fails with the reason, the run goes on ---------------------------------




def test_moodle_completion_before_2000_fails_only_its_item(allow_private, jobs):  # noqa: F811
    site = small_site()
    fire = next(c for c in site.courses.values() if c.shortname == "FIRE101")
    old = site.add_user("Olde", "Timer", email="olde@example.com")
    site.enrol(fire, old, lastcourseaccess=int(site.clock()) - 86400 * 10)
    site.complete(fire, old, 946684799, touch=False)  # 1999-12-31T23:59:59Z
    with MoodleSimulator(site) as sim:
        integration, _ = registry.create(
            "moodle", {"name": "Campus Moodle", "site_url": sim.url, "moodle_token": "full"}, actor="test")
        registry.set_active(integration, True, actor="test")
        db.session.commit()
        run = run_sync(integration, jobs)
    assert run.status == "partial"
    assert run.details["completions"]["failed"] == 1 and run.details["completions"]["created"] == 2
    olde = db.session.scalar(select(User).where(User.email == "olde@example.com"))
    assert db.session.scalar(select(func.count(Completion.id)).where(Completion.user_id == olde.id)) == 0
    messages = db.session.scalars(select(text("message")).select_from(text("integration_logs"))).all()
    assert any("before 2000-01-01" in m for m in messages), messages


def test_sql_row_before_2000_is_rejected_and_others_applied(sqlite_sources, tmp_path, first_aid, jobs):  # noqa: F811
    url = f"sqlite:///{tmp_path / 'lms.db'}"
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE lms (id INTEGER PRIMARY KEY, email TEXT, name TEXT, done TEXT)"))
        conn.execute(text("INSERT INTO lms VALUES (1, 'old@example.com', 'Old', '1999-05-01'), "
                          "(2, 'ann@example.com', 'Ann Archer', '2026-01-05')"))
    engine.dispose()
    query = "SELECT email, name, 'FA-101' AS course_code, done AS completed_at FROM lms ORDER BY id"
    integration = active_sql_source(url, query)
    run = run_sync(integration, jobs)
    assert run.status == "partial" and run.failed == 1
    assert db.session.scalar(select(User.id).where(User.email == "old@example.com")) is None
    assert _count(Completion) == 1
