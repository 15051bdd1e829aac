"""The set-based import (issue 16) does what applying the rows one by one did: the same certificates,
events, audit entries, notifications and jobs for a 1,000-row file; and a bad row in the middle of a
big file is reported with its line number while nothing changes unless the admin confirms."""

from __future__ import annotations

import io
from collections import Counter
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent, Certificate, Completion, Enrollment, Notification, User
from app.queue import get_queue
from app.services import audit, events
from app.services.accounts import users as accounts
from app.services.lifecycle import enrollment, imports
from tests.support.lifecycle_views import post

HEADER = "email,name,department,course_code,status,score,completed_at"
LEARNERS = 250  # x 4 courses = 1,000 rows


def _catalog(first_aid, make_course, make_certification) -> None:
    """First Aid (FA-101 + FA-102, min score 70) as the prerequisite of Advanced (AD-1 + AD-2)."""
    courses = [make_course("AD-1"), make_course("AD-2")]
    make_certification("Advanced", courses, prerequisite_ids=[first_aid[0].id], validity_months=12)


def _file(bad_line: int | None = None) -> bytes:
    base = datetime(2026, 1, 5, tzinfo=UTC)
    lines = [HEADER]
    for i in range(LEARNERS):
        email = "learner@example.com" if i == 0 else f"person{i:04d}@example.com"  # one existing learner
        for n, code in enumerate(("FA-101", "FA-102", "AD-1", "AD-2")):
            score = 60 if (code == "FA-102" and i % 7 == 0) else 70 + (i + n) % 30  # some miss First Aid
            when = base + timedelta(hours=i, minutes=n)
            lines.append(f"{email},Person {i},Nursing,{code},completed,{score},{when:%Y-%m-%dT%H:%M:%SZ}")
    if bad_line is not None:
        lines[bad_line - 1] = "person0100@example.com,Person 100,Nursing,FA-101,completed,80,31/01/2026"
    return ("\n".join(lines) + "\n").encode()


def _outcome(seen: list[events.Event]) -> dict:
    """What an import did, in terms that do not depend on row ids or the order of independent rows."""
    certs = db.session.execute(select(User.email, Certificate.certification_id, Certificate.cycle)
                               .join(User, User.id == Certificate.user_id)).all()
    jobs = db.session.info.get("laurel_pending_jobs", [])
    email = dict(db.session.execute(select(User.id, User.email)).all())  # ids differ between runs (PG)
    return {
        "certificates": sorted(certs),
        "events": Counter(e.type for e in seen),
        "completed events": sorted((email[e.data["user_id"]], e.data["course_id"], e.data["status"])
                                   for e in seen if e.type == "enrollment.completed"),
        "created events": sorted((email[e.data["user_id"]], e.data["course_id"], e.data["status"])
                                 for e in seen if e.type == "enrollment.created"),
        "audit": Counter(db.session.scalars(select(AuditEvent.action).where(
            AuditEvent.action != "import.applied"))),
        "notifications": db.session.scalar(select(func.count(Notification.id))),
        "jobs": Counter((j.func, j.queue) for j in jobs),
        "rows": tuple(db.session.scalar(select(func.count(m.id))) for m in (User, Enrollment, Completion)),
    }


def _row_by_row(preview: imports.ImportPreview, actor) -> None:
    """The pre-issue-16 way: each row through the single-completion service, one after the other."""
    users: dict[str, User] = {}
    courses = {c.code: c for c in db.session.scalars(select(imports.Course))}
    for row in preview.rows:
        user = users.get(row.email) or accounts.find_by_email(row.email)
        if user is None:
            user = accounts.create_user(row.email, row.name, "learner", row.department, actor=actor)
        users[row.email] = user
        enrollment.record_completion(user, courses[row.course_code], score=row.score,
                                     completed_at=row.completed_at, actor=actor, source="csv")


def test_bulk_import_matches_row_by_row(first_aid, make_course, make_certification, learner, admin,
                                        captured_events):
    _catalog(first_aid, make_course, make_certification)
    preview = imports.parse(_file())
    assert preview.ok and len(preview.rows) == 4 * LEARNERS
    captured_events.clear()  # the catalog's own events

    _row_by_row(preview, admin)
    db.session.flush()
    expected = _outcome(captured_events)
    db.session.rollback()  # the reference run is never committed
    captured_events.clear()

    result = imports.apply(preview, actor=admin)
    db.session.flush()
    got = _outcome(captured_events)
    assert got == expected
    first_aid_count = LEARNERS - len(range(0, LEARNERS, 7))
    assert result.certificates_issued == len(got["certificates"]) == 2 * first_aid_count
    assert result.users_created == LEARNERS - 1 and result.completions_recorded == 4 * LEARNERS
    assert got["jobs"][("app.tasks.render.render_certificate", "render")] == 2 * first_aid_count
    db.session.commit()
    # Past BULK_MIN jobs they reach Redis in pipelines after the commit: every one, under its own id.
    issued = db.session.scalars(select(Certificate.id)).all()
    assert {f"pdf-{i}-0-1" for i in issued} <= set(get_queue("render").job_ids)

    again = imports.apply(imports.parse(_file()), actor=admin)  # re-import: nothing changes
    assert again == imports.ImportResult(unchanged=4 * LEARNERS)


def test_a_bad_row_in_the_middle_is_reported_and_nothing_changes(login_as, admin, learner, first_aid,
                                                                  make_course, make_certification):
    _catalog(first_aid, make_course, make_certification)
    models = (User, Enrollment, Completion, Certificate, AuditEvent, Notification)
    client = login_as(admin)  # (the login is audited: count after it)
    before = [db.session.scalar(select(func.count(m.id))) for m in models]
    response = post(client, "/import", {"file": (io.BytesIO(_file(bad_line=501)), "big.csv")}, htmx=False,
                    content_type="multipart/form-data")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "<td class=\"text-nowrap\">501</td>" in page and "unparseable date &#39;31/01/2026&#39;" in page
    assert 'name="token"' not in page  # nothing to confirm
    db.session.expire_all()
    assert [db.session.scalar(select(func.count(m.id))) for m in models] == before

    # The same file without the bad row, previewed but never confirmed: nothing changes either.
    response = post(client, "/import", {"file": (io.BytesIO(_file()), "big.csv")}, htmx=False,
                    content_type="multipart/form-data")
    assert response.status_code == 200 and 'name="token"' in response.get_data(as_text=True)
    db.session.expire_all()
    assert [db.session.scalar(select(func.count(m.id))) for m in models] == before


def test_audit_batch_writes_nothing_when_the_block_fails(admin):
    before = db.session.scalar(select(func.count(AuditEvent.id)))
    try:
        with audit.batch():
            audit.record(admin, "test.batched", "test", 1, "queued")
            raise RuntimeError("stop")
    except RuntimeError:
        pass
    db.session.flush()
    assert db.session.scalar(select(func.count(AuditEvent.id))) == before
    with audit.batch():
        assert audit.record(admin, "test.batched", "test", 1, "queued") is None
    batched = select(func.count(AuditEvent.id)).where(AuditEvent.action == "test.batched")
    assert db.session.scalar(batched) == 1
