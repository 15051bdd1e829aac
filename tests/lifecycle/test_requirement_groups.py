"""Requirement groups: "all of" and "any N of", minimum scores per group or per course, prerequisites,
the back-compatible `course_ids` / `min_score`, the Requirements page and the API shape."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Certificate
from app.services.errors import ValidationError
from app.services.lifecycle import catalog, enrollment, issuing
from tests.lifecycle.conftest import at


def complete(user, course, score=None, when=None):
    issued = enrollment.record_completion(user, course, score=score, completed_at=when or at(2026, 1, 5),
                                          actor="test")
    db.session.commit()
    return issued


def groups(*specs):
    """("all" | "any", count, min_score, [(course, course_min) or course])"""
    return [{"mode": mode, "count": count, "min_score": minimum,
             "courses": [{"course_id": c[0].id, "min_score": c[1]} if isinstance(c, tuple)
                         else {"course_id": c.id} for c in courses]}
            for mode, count, minimum, courses in specs]


@pytest.fixture
def five(make_course):
    return [make_course(f"C-{n}") for n in range(1, 6)]


def test_any_two_of_three_with_a_group_minimum(five, learner, make_certification):
    a, b, c = five[:3]
    cert = make_certification("Two of three", requirement_groups=groups(("any", 2, 70, [a, b, c])))
    assert cert.courses == [a, b, c] and cert.min_score is None
    assert complete(learner, a, 90) == []
    assert issuing.assess(learner, cert).reasons == ["needs 2 of C-1, C-2, C-3: 1 done"]
    assert complete(learner, b, 60) == []  # below the minimum: does not count, and the reason says why
    assert issuing.assess(learner, cert).reasons == [
        "needs 2 of C-1, C-2, C-3: 1 done (score 60 in C-2 is below the minimum 70)"]
    [issued] = complete(learner, c, 70)
    assert [row["code"] for row in issued.snapshot["courses"]] == ["C-1", "C-3"]


def test_a_course_minimum_overrides_the_group_minimum(five, learner, make_certification):
    a, b = five[:2]
    cert = make_certification("Strict on A", requirement_groups=groups(("all", None, 50, [(a, 90), b])))
    complete(learner, a, 80)
    complete(learner, b, 55)
    assert issuing.assess(learner, cert).reasons == ["score 80 in C-1 is below the minimum 90"]
    assert complete(learner, a, 91, at(2026, 1, 6)) != []


def test_mixed_groups_and_a_prerequisite(five, learner, make_certification):
    a, b, c, d, e = five
    base = make_certification("Base", [e])
    cert = make_certification("Mixed", requirement_groups=groups(("all", None, None, [a]),
                                                               ("any", 1, None, [b, c, d])),
                              prerequisite_ids=[base.id])
    complete(learner, a)
    complete(learner, c)
    assessment = issuing.assess(learner, cert)
    assert assessment.reasons == ["needs prerequisite 'Base'"]
    assert [(s.label, s.state) for s in assessment.steps] == [
        ("Hold Base", "next"), ("All of C-1", "done"), ("Any 1 of C-2, C-3, C-4", "done")]
    issued = complete(learner, e)  # Base issues, then Mixed in the same pass (prerequisites first)
    assert sorted(i.certification.name for i in issued) == ["Base", "Mixed"]


def test_all_of_is_the_rule_of_course_ids_and_min_score(five, learner, make_certification):
    a, b = five[:2]
    cert = make_certification("Legacy", [a, b], min_score=70)
    data = catalog.certification_data(cert)
    assert data["requirement_groups"] == [{"mode": "all", "count": None, "min_score": 70.0, "courses": [
        {"course_id": a.id, "min_score": None}, {"course_id": b.id, "min_score": None}]}]
    assert data["course_ids"] == [a.id, b.id] and data["min_score"] == 70
    complete(learner, a, 80)
    assert issuing.assess(learner, cert).reasons == ["missing C-2"]
    catalog.update_certification(cert, {"course_ids": [a.id]}, actor="test")  # old API: still one group
    db.session.commit()
    assert [len(g.items) for g in cert.requirement_groups] == [1]
    assert issuing.evaluate(learner) != []


def test_old_fields_refused_when_groups_say_more(five, make_certification):
    a, b = five[:2]
    cert = make_certification("Any", requirement_groups=groups(("any", 1, None, [a, b])))
    with pytest.raises(ValidationError) as refused:
        catalog.update_certification(cert, {"course_ids": [a.id]}, actor="test")
    assert "Requirements page" in refused.value.errors["course_ids"]
    db.session.rollback()


@pytest.mark.parametrize(("value", "message"), [
    ("nope", "list of requirement groups"),
    ([{"mode": "some", "courses": [1]}], "mode must be"),
    ([{"mode": "any", "courses": [{"course_id": 1}]}], "how many"),
    ([{"mode": "any", "count": 5, "courses": [{"course_id": 1}]}], "(1 to 1)"),
    ([{"courses": [{"course_id": 999999}]}], "Unknown course"),
    ([{"courses": [{"course_id": 2147483648}]}], "Group 1"),
    ([{"courses": [{"course_id": 1}]}, {"courses": [{"course_id": 1}]}], "one group only"),
    ([{"courses": [{"course_id": 1, "min_score": 101}]}], "Group 1"),
    ([{"courses": ["x"] * 101}], "at most 100"),
    ([{"courses": []}] * 21, "At most 20"),
])
def test_bad_groups_are_a_clear_422(five, make_certification, value, message):
    cert = make_certification("Target", [five[0]])
    def real(course):  # course id 1 in the table: the fixture's first course
        return {"course_id": five[0].id} if course == {"course_id": 1} else course

    if isinstance(value, list):
        value = [{**g, "courses": [real(c) for c in g["courses"]]} if isinstance(g, dict) else g
                 for g in value]
    with pytest.raises(ValidationError) as refused:
        catalog.update_certification(cert, {"requirement_groups": value}, actor="test")
    assert message in refused.value.errors["requirement_groups"]
    db.session.rollback()
    assert [len(g.items) for g in db.session.get(type(cert), cert.id).requirement_groups] == [1]


def test_an_active_certification_needs_a_course(make_certification):
    with pytest.raises(ValidationError) as refused:
        catalog.create_certification({"name": "Empty", "status": "active", "requirement_groups": []},
                                     actor="test")
    assert "at least one required course" in refused.value.errors["requirement_groups"]
    db.session.rollback()


def test_bulk_evaluation_gives_the_same_as_one_by_one(five, make_user, make_certification):
    a, b, c = five[:3]
    cert = make_certification("Two of three", status="draft",
                              requirement_groups=groups(("any", 2, 70, [a, b, c])))
    people = [make_user() for _ in range(6)]
    scores = [(90, 80, None), (90, 60, None), (60, 60, 90), (None, None, None), (75, None, 70), (70, 70, 70)]
    for person, row in zip(people, scores, strict=True):
        for course, score in zip((a, b, c), row, strict=True):
            if score is not None:
                enrollment.record_completion(person, course, score=score, completed_at=at(2026, 1, 5),
                                             actor="test")  # a draft: nothing issues yet
    catalog.update_certification(cert, {"status": "active"}, actor="test")
    db.session.commit()
    one_by_one = {p.id for p in people if issuing.assess(p, cert).met}
    issuing.lock_learners([p.id for p in people])
    with issuing.rules_snapshot():
        issued = issuing.evaluate_many(people)
    db.session.commit()
    assert {i.user_id for i in issued} == one_by_one == {people[n].id for n in (0, 4, 5)}
    assert db.session.scalar(select(func.count(Certificate.id))) == 3


def test_requirements_page_saves_groups_without_javascript(five, admin, login_as, make_certification):
    a, b, c = five[:3]
    cert = make_certification("Paged", [a])
    client = login_as(admin)
    page = client.get(f"/certifications/{cert.id}/requirements")
    assert page.status_code == 200 and 'name="groups-1-course_ids"' in page.get_data(as_text=True)
    form = {"csrf_token": client.csrf_token, "groups-0-mode": "all", "groups-0-course_ids": [str(a.id)],
            "groups-1-mode": "any", "groups-1-count": "1", "groups-1-min_score": "60",
            "groups-1-course_ids": [str(b.id), str(c.id)], "groups-1-minimums": "C-3: 80",
            "evidence_required": "y", "evidence_instructions": "A photo", "assessor_ids": [str(admin.id)]}
    saved = client.post(f"/certifications/{cert.id}/requirements", data=form)
    assert saved.status_code == 302, saved.get_data(as_text=True)[:2000]
    db.session.expire_all()
    assert catalog.certification_data(cert)["requirement_groups"][1] == {
        "mode": "any", "count": 1, "min_score": 60.0,
        "courses": [{"course_id": b.id, "min_score": None}, {"course_id": c.id, "min_score": 80.0}]}
    assert cert.evidence_required and cert.assessors == [admin]
    detail = client.get(f"/certifications/{cert.id}").get_data(as_text=True)
    assert "Any 1 of" in detail and "C-3 (≥ 80)" in detail
    bad = client.post(f"/certifications/{cert.id}/requirements",
                      data={**form, "groups-1-minimums": "ZZ: 5"})
    assert bad.status_code == 422 and "Group 2" in bad.get_data(as_text=True)


def test_api_takes_groups_and_old_fields(five, admin, app):
    a, b = five[:2]
    from app.services.accounts import tokens

    client = app.test_client()
    _, token = tokens.create_token(admin, "t", actor=admin)
    db.session.commit()
    headers = {"Authorization": f"Bearer {token}"}
    made = client.post("/api/v1/certifications", headers=headers, json={
        "name": "API any", "status": "active",
        "requirement_groups": [{"mode": "any", "count": 1,
                                "courses": [{"course_id": a.id}, {"course_id": b.id}]}]})
    assert made.status_code == 201, made.get_json()
    assert made.get_json()["requirement_groups"][0]["count"] == 1
    legacy = client.post("/api/v1/certifications", headers=headers, json={
        "name": "API legacy", "status": "active", "course_ids": [a.id], "min_score": 50})
    assert legacy.get_json()["requirement_groups"] == [
        {"mode": "all", "count": None, "min_score": 50.0,
         "courses": [{"course_id": a.id, "min_score": None}]}]
