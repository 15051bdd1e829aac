"""Compliance pages, CSV and API: what each role sees, filters, drill-down, and hostile input."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Exemption, Requirement


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_admin_matrix_filters_and_drill_down(world, login_as):
    client = login_as(world.admin)
    page = client.get("/compliance")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for name in ("Vera", "Rex", "Finn", "Nora"):
        assert name in html
    assert "Ian" not in html  # deactivated: in no cell
    nursing = client.get(f"/compliance?department={world.departments['Nursing'].id}").get_data(as_text=True)
    assert "Olga" in nursing and "Vera" not in nursing and "Finn" not in nursing
    exempt = client.get("/compliance?state=exempt").get_data(as_text=True)
    assert "Ezra" in exempt and "Medical: cannot do CPR" in exempt and "Otto" not in exempt
    person = client.get(f"/learners/{world.people['Nora'].id}").get_data(as_text=True)
    assert 'data-testid="person-requirements"' in person and "Fire Safety" in person


def test_csv_honours_filters(world, login_as):
    client = login_as(world.admin)
    rows = list(csv.reader(io.StringIO(client.get("/compliance/export.csv").get_data(as_text=True))))
    assert rows[0][:3] == ["user_id", "name", "email"] and len(rows) == 14
    fa = world.certifications["First Aid"].id
    rows = list(csv.DictReader(io.StringIO(
        client.get(f"/compliance/export.csv?certification={fa}&state=exempt").get_data(as_text=True))))
    assert [(r["name"], r["state"], r["exemption_reason"]) for r in rows] == [
        ("Ezra", "exempt", "Medical: cannot do CPR")]


def test_manager_sees_only_their_departments(world, login_as):
    client = login_as(world.manager)
    html = client.get("/compliance").get_data(as_text=True)
    assert "Olga" in html and "Vera" not in html and "Finn" not in html
    assert client.get(f"/compliance?department={world.departments['Hospital'].id}").status_code == 404
    assert client.get(f"/compliance?department={world.departments['Finance'].id}").status_code == 404
    rows = list(csv.DictReader(io.StringIO(client.get("/compliance/export.csv").get_data(as_text=True))))
    assert {r["name"] for r in rows} == {"Eve", "Xander", "Olga", "Ezra", "Nora"}
    api = client.get("/api/v1/compliance/summary").get_json()
    assert api["overall"]["total"] == 6
    finance = world.departments["Finance"].id
    assert client.get(f"/api/v1/compliance?department_id={finance}").status_code == 404
    assert client.get("/compliance/requirements").status_code == 403
    fa = world.certifications["First Aid"].id
    assert client.get(f"/compliance/exemptions/{world.people['Olga'].id}/{fa}").status_code == 403


def test_api_pages_and_summary(world, login_as):
    client = login_as(world.admin)
    first = client.get("/api/v1/compliance?per_page=5").get_json()
    assert first["total"] == 13 and len(first["items"]) == 5 and first["next"]
    assert set(first["items"][0]) >= {"user_id", "certification", "state", "due_at", "days_left"}
    last = client.get("/api/v1/compliance?per_page=5&page=3").get_json()
    assert len(last["items"]) == 3 and last["next"] is None
    beyond = client.get("/api/v1/compliance?per_page=5&page=9").get_json()
    assert beyond["items"] == [] and beyond["total"] == 13
    summary = client.get("/api/v1/compliance/summary").get_json()
    assert summary["overall"]["total"] == 13
    assert {c["name"]: c["total"] for c in summary["certifications"]} == {
        "First Aid": 9, "Fire Safety": 2, "Safeguarding": 2}
    for bad in ("state=nope", "department_id=0", "department_id=99999999999999", "certification_id=-1",
                "per_page=100000"):
        assert client.get(f"/api/v1/compliance?{bad}").status_code in (400, 422), bad
    assert client.get("/api/v1/compliance?certification_id=999999").status_code == 404


def test_requirement_crud_through_the_pages(world, login_as):
    client = login_as(world.admin)
    assert world.certifications["Safeguarding"].name in client.get("/compliance/requirements").get_data(
        as_text=True)
    form = {"csrf_token": client.csrf_token, "certification_id": world.certifications["Safeguarding"].id,
            "scope": "department", "department_id": world.departments["Finance"].id,
            "include_subdepartments": "y", "due_days": "45", "escalate_learner_days": "0",
            "escalate_manager_days": "7", "escalate_admin_days": "14"}
    before = _count(Requirement)
    assert client.post("/compliance/requirements/new", data=form).status_code == 302
    assert _count(Requirement) == before + 1
    row = db.session.scalars(select(Requirement).order_by(Requirement.id.desc())).first()
    assert row.due_days == 45 and row.department_id == world.departments["Finance"].id
    edit = {**form, "scope": "job_title", "job_title": "  Lab   technician ", "due_days": ""}
    assert client.post(f"/compliance/requirements/{row.id}", data=edit).status_code == 302
    db.session.expire_all()
    row = db.session.get(Requirement, row.id)
    assert (row.scope, row.job_title, row.job_title_key, row.department_id, row.due_days) == (
        "job_title", "Lab technician", "lab technician", None, None)
    assert client.post(f"/compliance/requirements/{row.id}/delete",
                       data={"csrf_token": client.csrf_token}).status_code == 302
    assert _count(Requirement) == before


@pytest.mark.parametrize("change", [
    {"due_days": "-1"}, {"due_days": "99999999999999999999"}, {"due_days": "3651"}, {"due_days": "1e3"},
    {"escalate_manager_days": "366"}, {"due_on": "1999-12-31"}, {"due_on": "2026-02-30"},
    {"certification_id": "999999"}, {"certification_id": "99999999999999999999"},
    {"department_id": "999999"}, {"scope": "everyone"},
    {"scope": "job_title", "job_title": "Nurse\x00"}, {"scope": "job_title", "job_title": "Nu\u2028rse"},
    {"scope": "job_title", "job_title": "x" * 121}, {"scope": "job_title", "job_title": "   "},
    {"scope": "people", "user_ids": ["999999"]}, {"scope": "people"},
])
def test_hostile_requirement_input_changes_nothing(world, login_as, change):
    client = login_as(world.admin)
    form = {"csrf_token": client.csrf_token, "certification_id": world.certifications["First Aid"].id,
            "scope": "department", "department_id": world.departments["Finance"].id, "due_days": "30",
            **change}
    before = _count(Requirement)
    response = client.post("/compliance/requirements/new", data=form)
    assert response.status_code in (400, 422), response.status_code
    assert _count(Requirement) == before


def test_exemption_from_the_cell_and_hostile_input(world, login_as):
    client = login_as(world.admin)
    otto, fa = world.people["Otto"].id, world.certifications["First Aid"].id
    url = f"/compliance/exemptions/{otto}/{fa}"
    assert client.get(url).status_code == 200
    before = _count(Exemption)
    for bad in ({"reason": ""}, {"reason": "x" * 1001}, {"reason": "ok", "expires_on": "2101-01-01"},
                {"reason": "bad\x07bell"}, {"reason": "ok", "expires_on": "tomorrow"}):
        assert client.post(url, data={"csrf_token": client.csrf_token, **bad}).status_code == 422, bad
    assert _count(Exemption) == before
    assert client.post(url, data={"csrf_token": client.csrf_token, "reason": "Part-time: office only",
                                  "expires_on": "2099-01-01"}).status_code == 302
    assert _count(Exemption) == before + 1
    assert "Part-time: office only" in client.get("/compliance?state=exempt").get_data(as_text=True)
    assert client.post(f"{url}/lift", data={"csrf_token": client.csrf_token}).status_code == 302
    assert _count(Exemption) == before
    assert client.get(f"/compliance/exemptions/999999/{fa}").status_code == 404
    assert client.get(f"/compliance/exemptions/{otto}/999999").status_code == 404
    assert client.get(f"/compliance/exemptions/{otto}/99999999999999999999").status_code == 404


def test_job_title_on_the_person(world, login_as):
    client = login_as(world.admin)
    token_headers = {"X-CSRFToken": client.csrf_token, "Content-Type": "application/json"}
    vera = world.people["Vera"].id
    response = client.patch(f"/api/v1/users/{vera}", json={"job_title": "Nurse"}, headers=token_headers)
    assert response.status_code == 200 and response.get_json()["job_title"] == "Nurse"
    bad = client.patch(f"/api/v1/users/{vera}", json={"job_title": "a\x00b"}, headers=token_headers)
    assert bad.status_code == 422
    cells = client.get("/api/v1/compliance?per_page=200").get_json()["items"]
    assert ("Vera", "Fire Safety") in {(c["name"], c["certification"]) for c in cells}
