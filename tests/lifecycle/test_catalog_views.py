"""Courses and certifications pages: lists, inline create/edit with 422 errors in place, delete or archive."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import Certification, Course
from app.services.lifecycle import enrollment
from tests.support.lifecycle_views import HX, post


def test_course_list_roles_search_and_fragment(login_as, admin, staff, learner, make_course):
    make_course("FA-101", "First aid basics", category="Safety")
    make_course("PY-201", "Python for analysts", category="Data")
    page = login_as(admin).get("/courses")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "FA-101" in html and "PY-201" in html and "New course" in html
    staff_html = login_as(staff).get("/courses").get_data(as_text=True)
    assert "FA-101" in staff_html and "New course" not in staff_html and "Edit" not in staff_html
    assert login_as(learner).get("/courses").status_code == 403

    fragment = login_as(admin).get("/courses?q=python", headers=HX)
    text = fragment.get_data(as_text=True)
    assert "PY-201" in text and "FA-101" not in text and "<nav class=\"navbar" not in text
    assert "HX-Request" in fragment.headers["Vary"]
    by_category = login_as(admin).get("/courses?category=Safety").get_data(as_text=True)
    assert "FA-101" in by_category and "PY-201" not in by_category


def test_course_pagination(login_as, admin, make_course):
    for n in range(30):
        make_course(f"C-{n:03d}")
    client = login_as(admin)
    first = client.get("/courses").get_data(as_text=True)
    assert "C-000" in first and "C-029" not in first and 'hx-push-url="true"' in first
    second = client.get("/courses?page=2", headers=HX).get_data(as_text=True)
    assert "C-029" in second and "C-000" not in second


def test_course_inline_create_and_errors_in_place(login_as, admin, make_course):
    make_course("FA-101")
    client = login_as(admin)
    created = post(client, "/courses", {"code": "FA-102", "title": "CPR and AED", "category": "Safety",
                                        "capacity": "12"})
    html = created.get_data(as_text=True)
    assert created.status_code == 200
    assert 'id="course-create"' in html and 'hx-swap-oob="true"' in html and "Course FA-102 created" in html
    assert db.session.scalar(select(Course).where(Course.code == "FA-102")).capacity == 12

    duplicate = post(client, "/courses", {"code": "fa-101", "title": "Again"})
    assert duplicate.status_code == 422
    assert duplicate.headers["HX-Retarget"] == "#course-create"
    text = duplicate.get_data(as_text=True)
    assert "Another course already uses this code." in text and 'aria-invalid="true"' in text
    missing = post(client, "/courses", {"code": "", "title": "", "capacity": "many"})
    text = missing.get_data(as_text=True)
    assert missing.status_code == 422 and "Enter a course code." in text and "Enter a title." in text
    bad_dates = post(client, "/courses", {"code": "X-1", "title": "X", "starts_on": "2026-05-01",
                                          "ends_on": "2026-04-01"})
    assert bad_dates.status_code == 422 and "The end date is before the start date." in bad_dates.get_data(
        as_text=True)


def test_course_inline_edit(login_as, admin, make_course):
    course = make_course("FA-101", "First aid")
    client = login_as(admin)
    edit = client.get(f"/courses/{course.id}/edit", headers=HX).get_data(as_text=True)
    assert f'id="course-{course.id}"' in edit and 'value="FA-101"' in edit
    bad = post(client, f"/courses/{course.id}", {"code": "FA-101", "title": ""})
    assert bad.status_code == 422 and "Enter a title." in bad.get_data(as_text=True)
    ok = post(client, f"/courses/{course.id}", {"code": "FA-101", "title": "First aid basics",
                                                 "category": "Safety"})
    assert ok.status_code == 200 and "row-saved" in ok.get_data(as_text=True)
    db.session.refresh(course)
    assert course.title == "First aid basics" and course.category == "Safety"
    assert "First aid basics" in client.get(f"/courses/{course.id}/row").get_data(as_text=True)


def test_course_delete_or_archive(login_as, admin, staff, learner, make_course):
    spare, busy = make_course("SPARE-1"), make_course("BUSY-1")
    enrollment.enroll(learner, busy, actor="test")
    db.session.commit()
    assert post(login_as(staff), f"/courses/{spare.id}/delete").status_code == 403
    client = login_as(admin)
    deleted = post(client, f"/courses/{spare.id}/delete")
    assert deleted.status_code == 200 and deleted.get_data(as_text=True) == ""
    assert db.session.get(Course, spare.id) is None

    refused = post(client, f"/courses/{busy.id}/delete")
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert "has enrollments: archive it instead" in html and ">Archive</button>" in html
    archived = post(client, f"/courses/{busy.id}/archive", {"archived": "1"})
    assert archived.status_code == 200 and "archived" in archived.get_data(as_text=True)
    db.session.refresh(busy)
    assert busy.archived
    assert "BUSY-1" not in client.get("/courses").get_data(as_text=True)
    assert "BUSY-1" in client.get("/courses?archived=1").get_data(as_text=True)
    assert post(client, "/courses/987654/delete").status_code == 404


def _cert_form(**overrides) -> dict:
    data = {"name": "Fire Warden", "status": "active", "min_score": "", "validity_months": "12",
            "renewal_window_days": "60", "reminder_days": "60, 14", "issuer_name": "Laurel Academy",
            "signatory_name": "Dr. Jane Roe", "signatory_title": "Director", "description": "Evacuations"}
    data.update(overrides)
    return data


def test_certification_list_and_inline_create(login_as, admin, staff, learner, make_course):
    course = make_course("FW-1", "Fire safety")
    client = login_as(admin)
    page = client.get("/certifications")
    assert page.status_code == 200 and "New certification" in page.get_data(as_text=True)
    assert login_as(learner).get("/certifications").status_code == 403
    assert "New certification" not in login_as(staff).get("/certifications").get_data(as_text=True)

    created = post(client, "/certifications", {**_cert_form(), "course_ids": [str(course.id)]})
    assert created.status_code == 200, created.get_data(as_text=True)
    assert ">Fire Warden</a> created" in created.get_data(as_text=True)
    cert = db.session.scalar(select(Certification).where(Certification.name == "Fire Warden"))
    assert [c.code for c in cert.courses] == ["FW-1"] and cert.reminder_days == [60, 14]
    assert cert.validity_months == 12 and cert.renewal_window_days == 60 and cert.status == "active"


def test_certification_errors_in_place(login_as, admin, make_course, make_certification):
    course = make_course("FW-1")
    make_certification("Fire Warden", [course])
    client = login_as(admin)
    no_courses = post(client, "/certifications", _cert_form(name="Other"))
    html = no_courses.get_data(as_text=True)
    assert no_courses.status_code == 422 and no_courses.headers["HX-Retarget"] == "#certification-create"
    assert "An active certification needs at least one required course." in html
    duplicate = post(client, "/certifications", {**_cert_form(), "course_ids": [str(course.id)]})
    assert "Another certification already has this name." in duplicate.get_data(as_text=True)
    bad_days = post(client, "/certifications", {**_cert_form(name="X", reminder_days="90, soon"),
                                                "course_ids": [str(course.id)]})
    assert bad_days.status_code == 422 and "is not a number of days" in bad_days.get_data(as_text=True)
    bad_score = post(client, "/certifications", {**_cert_form(name="Y", min_score="120"),
                                                 "course_ids": [str(course.id)]})
    assert bad_score.status_code == 422 and 'id="min_score-new-error"' in bad_score.get_data(as_text=True)


def test_certification_inline_edit_and_prerequisite_cycle(login_as, admin, make_course, make_certification):
    course = make_course("FW-1")
    basic = make_certification("Basic", [course])
    advanced = make_certification("Advanced", [course], prerequisite_ids=[basic.id])
    client = login_as(admin)
    edit = client.get(f"/certifications/{basic.id}/edit", headers=HX).get_data(as_text=True)
    assert 'name="course_ids"' in edit and "90, 30, 7" in edit
    cycle = post(client, f"/certifications/{basic.id}", {**_cert_form(name="Basic"),
                                                         "course_ids": [str(course.id)],
                                                         "prerequisite_ids": [str(advanced.id)]})
    assert cycle.status_code == 422 and "would be a cycle" in cycle.get_data(as_text=True)
    ok = post(client, f"/certifications/{basic.id}", {**_cert_form(name="Basic 2", min_score="75"),
                                                      "course_ids": [str(course.id)]})
    assert ok.status_code == 200 and "Basic 2" in ok.get_data(as_text=True)
    db.session.refresh(basic)
    assert basic.name == "Basic 2" and basic.min_score == 75


def test_certification_delete_refused_once_issued_then_archive(login_as, admin, learner, first_aid, earn):
    cert, _, _ = first_aid
    earn(learner)
    client = login_as(admin)
    refused = post(client, f"/certifications/{cert.id}/delete")
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "has issued certificates: archive it instead" in html
    assert ">Archive</button>" in html
    archived = post(client, f"/certifications/{cert.id}/archive")
    assert archived.status_code == 200
    db.session.refresh(cert)
    assert cert.status == "archived"


def test_certification_delete_when_unused(login_as, admin, make_certification):
    draft = make_certification("Draft one", status="draft")
    response = post(login_as(admin), f"/certifications/{draft.id}/delete")
    assert response.status_code == 200 and db.session.get(Certification, draft.id) is None


def test_certification_detail_lists_certificates(login_as, staff, learner, first_aid, earn):
    cert, _, _ = first_aid
    issued = earn(learner)
    page = login_as(staff).get(f"/certifications/{cert.id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and issued.serial in html and learner.name in html
    assert "FA-101" in html and "24 months" in html
