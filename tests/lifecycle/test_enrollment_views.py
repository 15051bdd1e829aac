"""Enrollments: lists, the learner picker, enrolling (duplicates, capacity), inline completion issuing a
certificate, withdraw; the learner page with reasons and manual issue."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import Certificate, Enrollment
from app.services.lifecycle import enrollment
from tests.support.lifecycle_views import HX, post


def test_enrollment_lists_and_roles(login_as, admin, staff, learner, make_user, first_aid):
    _, fa101, fa102 = first_aid
    other = make_user("learner", name="Omar Other")
    enrollment.enroll(learner, fa101, actor="test")
    enrollment.enroll(other, fa102, actor="test")
    db.session.commit()
    page = login_as(admin).get("/enrollments")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and learner.name in html and "Omar Other" in html
    filtered = login_as(staff).get(f"/enrollments?course_id={fa102.id}", headers=HX).get_data(as_text=True)
    assert "Omar Other" in filtered and learner.name not in filtered
    per_course = login_as(admin).get(f"/courses/{fa101.id}/enrollments").get_data(as_text=True)
    assert learner.name in per_course and "Omar Other" not in per_course and "Enroll learners" in per_course
    staff_view = login_as(staff).get(f"/courses/{fa101.id}/enrollments").get_data(as_text=True)
    assert "Enroll learners" not in staff_view
    assert login_as(learner).get("/enrollments").status_code == 403
    assert login_as(learner).get(f"/courses/{fa101.id}/enrollments").status_code == 403


def test_learner_picker_search(login_as, admin, learner, make_user, first_aid):
    _, fa101, _ = first_aid
    make_user("learner", name="Bruno Bell", email="bruno@example.com")
    make_user("staff", name="Bruno Staff")
    enrollment.enroll(learner, fa101, actor="test")
    db.session.commit()
    client = login_as(admin)
    found = client.get(f"/courses/{fa101.id}/candidates?who=bruno", headers=HX).get_data(as_text=True)
    assert "Bruno Bell" in found and "Bruno Staff" not in found and 'name="user_ids"' in found
    everyone = client.get(f"/courses/{fa101.id}/candidates?who=", headers=HX).get_data(as_text=True)
    assert "already enrolled" in everyone
    none = client.get(f"/courses/{fa101.id}/candidates?who=zzz", headers=HX).get_data(as_text=True)
    assert "No learners match" in none


def test_enroll_many_with_duplicate_and_capacity(login_as, admin, learner, make_user, make_course):
    course = make_course("SMALL-1", capacity=2)
    a, b = make_user("learner", name="Anna A"), make_user("learner", name="Ben B")
    enrollment.enroll(learner, course, actor="test")
    db.session.commit()
    client = login_as(admin)
    response = post(client, f"/courses/{course.id}/enrollments", {"user_ids": [str(a.id), str(learner.id),
                                                                                 str(b.id)]})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and response.headers["HX-Trigger"] == "enrolled"
    assert "Enrolled 1 learner: <a" in html and ">Anna A</a>" in html
    assert f"{learner.name}: {learner.name} is already enrolled in SMALL-1." in html
    assert "Ben B: SMALL-1 is full (2 places)." in html
    assert 'id="enrollments-table" hx-swap-oob="true"' in html
    all_refused = post(client, f"/courses/{course.id}/enrollments", {"user_ids": [str(b.id)]})
    assert all_refused.status_code == 422 and "is full" in all_refused.get_data(as_text=True)
    nothing = post(client, f"/courses/{course.id}/enrollments", {})
    assert nothing.status_code == 422 and "Pick at least one learner." in nothing.get_data(as_text=True)


def test_inline_completion_issues_certificate(login_as, admin, learner, first_aid):
    cert, fa101, fa102 = first_aid
    enrollment.record_completion(learner, fa101, score=85, actor="test")
    e = enrollment.enroll(learner, fa102, actor="test")
    db.session.commit()
    client = login_as(admin)
    edit = client.get(f"/enrollments/{e.id}/edit", headers=HX).get_data(as_text=True)
    assert 'name="status"' in edit and 'name="score"' in edit
    bad = post(client, f"/enrollments/{e.id}", {"status": "completed", "progress": "100", "score": "150"})
    assert bad.status_code == 422 and 'aria-invalid="true"' in bad.get_data(as_text=True)
    assert db.session.scalar(select(Certificate)) is None

    done = post(client, f"/enrollments/{e.id}", {"status": "completed", "progress": "100", "score": "91"})
    html = done.get_data(as_text=True)
    issued = db.session.scalar(select(Certificate))
    assert done.status_code == 200 and issued is not None
    assert "Certificate issued: " in html and issued.serial in html and issued.serial.startswith("LAU-")
    progress = post(client, f"/enrollments/{e.id}", {"status": "completed", "progress": "100", "score": "95"})
    assert progress.status_code == 200 and "Certificate issued" not in progress.get_data(as_text=True)


def test_progress_edit_and_withdraw(login_as, admin, staff, learner, first_aid):
    _, fa101, _ = first_aid
    e = enrollment.enroll(learner, fa101, actor="test")
    db.session.commit()
    client = login_as(admin)
    response = post(client, f"/enrollments/{e.id}", {"status": "in_progress", "progress": "45", "score": ""})
    assert response.status_code == 200 and "pw-45" in response.get_data(as_text=True)
    assert post(login_as(staff), f"/enrollments/{e.id}/withdraw").status_code == 403
    withdrawn = post(client, f"/enrollments/{e.id}/withdraw")
    assert withdrawn.status_code == 200 and "withdrawn" in withdrawn.get_data(as_text=True)
    assert db.session.get(Enrollment, e.id).status == "withdrawn"
    assert "Withdraw</button>" not in client.get(f"/enrollments/{e.id}/row").get_data(as_text=True)


def test_learner_page_reasons_and_manual_issue(login_as, admin, staff, learner, first_aid):
    cert, fa101, _ = first_aid
    enrollment.record_completion(learner, fa101, score=64, actor="test")
    db.session.commit()
    page = login_as(staff).get(f"/learners/{learner.id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "missing FA-102" in html
    assert "score 64 in FA-101 is below the minimum 70" in html
    assert "Issue by hand" not in html
    assert login_as(learner).get(f"/learners/{learner.id}").status_code == 403

    client = login_as(admin)
    assert "Issue by hand" in client.get(f"/learners/{learner.id}").get_data(as_text=True)
    no_note = post(client, f"/learners/{learner.id}/issue", {"certification_id": str(cert.id), "note": ""},
                   htmx=False)
    assert no_note.status_code == 422 and "Write a note" in no_note.get_data(as_text=True)
    issued = post(client, f"/learners/{learner.id}/issue", {"certification_id": str(cert.id),
                                                           "note": "Passed the equivalent course abroad"},
                  htmx=False, follow_redirects=True)
    html = issued.get_data(as_text=True)
    certificate = db.session.scalar(select(Certificate))
    assert certificate.issue_note == "Passed the equivalent course abroad"
    assert f"Certificate issued: {certificate.serial}" in html
    again = post(client, f"/learners/{learner.id}/issue", {"certification_id": str(cert.id), "note": "again"},
                 htmx=False)
    assert again.status_code == 422 and f"already holds First Aid Level 2 ({certificate.serial})" in \
        again.get_data(as_text=True)
