"""Catalog and enrollment rules: validation maps, deletion refusals, duplicates and capacity."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent, Certification, Course, Enrollment
from app.services.errors import NotAllowed, ValidationError
from app.services.lifecycle import catalog, enrollment, issuing


def errors_of(func_, *args, **kwargs) -> dict:
    with pytest.raises(ValidationError) as info:
        func_(*args, **kwargs)
    db.session.rollback()
    return info.value.errors


def test_course_validation(make_course):
    make_course("FA-101")
    errors = errors_of(catalog.create_course, {"code": "fa-101", "title": "", "capacity": "0",
                                               "starts_on": "2026-05-01", "ends_on": "soon"}, actor="test")
    assert set(errors) == {"code", "title", "capacity", "ends_on"}
    errors = errors_of(catalog.create_course, {"code": "X", "title": "X", "starts_on": "2026-05-01",
                                               "ends_on": "2026-04-01"}, actor="test")
    assert errors == {"ends_on": "The end date is before the start date."}


def test_course_partial_update_search_and_archive(make_course):
    course = make_course("FA-101", "First aid", category="Safety")
    make_course("DP-110", "Data protection", category="Compliance")
    catalog.update_course(course, {"title": "First aid basics"}, actor="test")
    assert (course.code, course.title, course.category) == ("FA-101", "First aid basics", "Safety")
    assert catalog.categories() == ["Compliance", "Safety"]
    assert [c.code for c in db.session.scalars(catalog.course_query(search="AID"))] == ["FA-101"]
    assert [c.code for c in db.session.scalars(catalog.course_query(search="%"))] == []
    catalog.set_course_archived(course, True, actor="test")
    assert [c.code for c in db.session.scalars(catalog.course_query())] == ["DP-110"]
    assert len(db.session.scalars(catalog.course_query(include_archived=True)).all()) == 2
    assert catalog.course_data(course)["archived"] is True


def test_course_with_enrollments_cannot_be_deleted(make_course, learner):
    course = make_course("FA-101")
    enrollment.enroll(learner, course, actor="test")
    with pytest.raises(NotAllowed, match="archive it instead"):
        catalog.delete_course(course, actor="test")
    empty = make_course("XX-1")
    catalog.delete_course(empty, actor="test")
    db.session.commit()
    assert db.session.scalar(select(func.count(Course.id))) == 1
    assert db.session.scalar(select(AuditEvent.action).where(AuditEvent.action == "course.deleted"))


def test_certification_validation(make_course, make_certification):
    course = make_course("FA-101")
    make_certification("First Aid", [course])
    errors = errors_of(catalog.create_certification, {
        "name": "first aid", "status": "live", "min_score": "101", "validity_months": "-1",
        "reminder_days": "90, soon", "course_ids": [course.id, 999], "prerequisite_ids": "abc"}, actor="test")
    assert set(errors) == {"name", "status", "min_score", "validity_months", "reminder_days", "course_ids",
                           "prerequisite_ids"}
    assert "999" in errors["course_ids"]
    cert = catalog.create_certification({"name": "CPR", "reminder_days": "7; 30,90 ,30",
                                         "course_ids": str(course.id)}, actor="test")
    data = catalog.certification_data(cert)
    assert data["reminder_days"] == [90, 30, 7] and data["status"] == "draft"
    assert data["renewal_window_days"] == 90 and data["course_ids"] == [course.id]
    errors = errors_of(catalog.create_certification, {"name": "Empty", "status": "active"}, actor="test")
    assert errors == {"course_ids": "An active certification needs at least one required course."}


def test_prerequisite_cycles_are_refused(make_course, make_certification, captured_events):
    course = make_course("C-1")
    a = make_certification("A", [course])
    b = make_certification("B", [course], prerequisite_ids=[a.id])
    c = make_certification("C", [course], prerequisite_ids=[b.id])
    assert "cycle" in errors_of(catalog.update_certification, a, {"prerequisite_ids": [c.id]},
                                actor="test")["prerequisite_ids"]
    assert "own prerequisite" in errors_of(catalog.update_certification, a, {"prerequisite_ids": [a.id]},
                                           actor="test")["prerequisite_ids"]
    a = db.session.get(Certification, a.id)
    catalog.update_certification(a, {"description": "now described"}, actor="test")
    assert captured_events[-1].type == "certification.updated"
    assert captured_events[-1].data["description"] == "now described"
    with pytest.raises(NotAllowed, match="prerequisite of B"):
        catalog.delete_certification(a, actor="test")


def test_certification_with_certificates_cannot_be_deleted(first_aid, learner):
    cert, fa101, fa102 = first_aid
    issuing.issue(learner, cert, actor="test", note="migrated")
    with pytest.raises(NotAllowed, match="archive it instead"):
        catalog.delete_certification(cert, actor="test")
    catalog.update_certification(cert, {"status": "archived"}, actor="test")
    assert cert.status == "archived"


def test_enroll_duplicate_capacity_archived(make_course, make_user):
    course = make_course("LD-300", capacity=2)
    a, b, c = (make_user() for _ in range(3))
    enrollment.enroll(a, course, actor="test")
    db.session.commit()
    assert "already enrolled" in errors_of(enrollment.enroll, a, course, actor="test")["user_id"]
    created, errors = enrollment.enroll_many([a.id, b.id, c.id, 9999], course, actor="test")
    assert [e.user_id for e in created] == [b.id]
    assert set(errors) == {a.id, c.id, 9999} and "full" in errors[c.id]
    db.session.commit()
    row = db.session.scalar(select(Enrollment).where(Enrollment.user_id == a.id))
    enrollment.withdraw(row, actor="test")
    enrollment.enroll(c, course, actor="test")  # a withdrawal frees a place
    assert "full" in errors_of(enrollment.enroll, a, course, actor="test")["course_id"]  # re-open: full
    archived = make_course("OLD-1")
    catalog.set_course_archived(archived, True, actor="test")
    assert "archived" in errors_of(enrollment.enroll, a, archived, actor="test")["course_id"]


def test_update_enrollment_validation_and_completion(first_aid, learner):
    cert, fa101, fa102 = first_aid
    row = enrollment.enroll(learner, fa101, actor="test")
    db.session.commit()
    errors = errors_of(enrollment.update_enrollment, row, {"status": "done", "progress": 150, "score": "x",
                                                           "completed_at": "yesterday"}, actor="test")
    assert set(errors) == {"status", "progress", "score", "completed_at"}
    assert enrollment.update_enrollment(row, {"status": "in_progress", "progress": "40"}, actor="test") == []
    assert enrollment.enrollment_data(row)["progress"] == 40
    enrollment.update_enrollment(row, {"status": "completed", "score": "82"}, actor="test")
    assert row.progress == 100 and row.completed_at is not None and len(row.completions) == 1
    other = enrollment.enroll(learner, fa102, actor="test")
    [issued] = enrollment.update_enrollment(other, {"status": "completed", "score": 75,
                                                    "completed_at": "2026-01-02T10:00:00Z"}, actor="test")
    assert issued.snapshot["courses"][1]["completed_at"].startswith("2026-01-02T10:00:00")
    assert enrollment.enrollment_data(other)["completed_at"] == "2026-01-02T10:00:00+00:00"
    found = db.session.scalars(enrollment.enrollment_query(search="lena"))
    assert [e.id for e in found] == [other.id, row.id]
    assert db.session.scalars(enrollment.enrollment_query(status="withdrawn")).all() == []


def test_a_rolled_back_change_leaves_nothing(make_course, learner):
    """Services never commit: even the SAVEPOINTs they use stay inside the caller's transaction."""
    course, other = make_course("FA-101"), make_course("FA-102")
    enrollment.enroll(learner, course, actor="test")
    enrollment.record_completion(learner, other, score=50, actor="test")
    db.session.rollback()
    assert db.session.scalar(select(func.count(Enrollment.id))) == 0
