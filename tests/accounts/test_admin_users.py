"""People admin: list, search, filters, pagination, inline htmx edit, invite errors, CSV export, audit log."""

from __future__ import annotations

import csv
import io

from app.extensions import db
from app.models import User
from app.services.accounts import departments
from tests.support.web import htmx_headers


def test_list_search_filter_and_paginate(login_as, admin, make_user):
    for i in range(30):
        make_user("learner", email=f"person{i:02d}@example.com", name=f"Person {i:02d}",
                  department="Nursing" if i % 2 else "Engineering")
    make_user("staff", email="zed@example.com", name="Zed Staff", department="Teaching")
    client = login_as(admin)

    page = client.get("/admin/users").get_data(as_text=True)
    assert "1–25 of 32" in page and "Ada Admin" in page and "Zed Staff" not in page  # sorted by name
    page2 = client.get("/admin/users?page=2").get_data(as_text=True)
    assert "26–32 of 32" in page2 and "Zed Staff" in page2
    assert "Person 01" in client.get("/admin/users?per_page=5&page=1&q=person 0").get_data(as_text=True)

    found = client.get("/admin/users?q=ZED@example").get_data(as_text=True)  # email, any case
    assert "Zed Staff" in found and "Person 01" not in found
    staff_only = client.get("/admin/users?role=staff").get_data(as_text=True)
    assert "Zed Staff" in staff_only and "Person" not in staff_only.split("<tbody>")[1]
    nursing = client.get("/admin/users?department=Nursing").get_data(as_text=True)
    assert "Person 01" in nursing and "Person 02" not in nursing
    assert "No one matches" in client.get("/admin/users?q=nobody-at-all").get_data(as_text=True)
    assert client.get("/admin/users?page=99").status_code == 200  # past the end: empty, not an error

    fragment = client.get("/admin/users?q=zed", headers={"HX-Request": "true"})
    assert b"<html" not in fragment.data and b"Zed Staff" in fragment.data
    assert "HX-Request" in fragment.headers["Vary"]
    boosted = client.get("/admin/users", headers={"HX-Request": "true", "HX-Boosted": "true"})
    assert b"<html" in boosted.data


def test_inline_edit_swaps_the_row(login_as, admin, learner):
    client = login_as(admin)
    operations = departments.find_or_create("Operations", actor=admin)
    db.session.commit()
    edit = client.get(f"/admin/users/{learner.id}/edit", headers={"HX-Request": "true"})
    html = edit.get_data(as_text=True)
    assert edit.status_code == 200 and html.startswith(f'<tr id="user-{learner.id}"') and "<select" in html

    assert f'<option value="{operations.id}">Operations</option>' in html  # a select of the tree
    saved = client.post(f"/admin/users/{learner.id}", headers=htmx_headers(client),
                        data={"role": "staff", "department_id": str(operations.id), "active": "y"})
    row = saved.get_data(as_text=True)
    assert saved.status_code == 200 and row.startswith(f'<tr id="user-{learner.id}" class="row-saved"')
    assert "Staff" in row and "Operations" in row
    user = db.session.get(User, learner.id)
    assert (user.role, user.department, user.active) == ("staff", "Operations", True)

    cancel = client.get(f"/admin/users/{learner.id}/row", headers={"HX-Request": "true"})
    assert cancel.get_data(as_text=True).startswith(f'<tr id="user-{learner.id}">')
    audit = client.get("/admin/audit?action=user.updated").get_data(as_text=True)
    assert "learner@example.com" in audit


def test_inline_edit_validation_errors_stay_in_the_row(login_as, admin, learner):
    client = login_as(admin)
    bad_role = client.post(f"/admin/users/{learner.id}", headers=htmx_headers(client),
                           data={"role": "wizard", "department": "", "active": "y"})
    assert bad_role.status_code == 422
    html = bad_role.get_data(as_text=True)
    assert html.startswith(f'<tr id="user-{learner.id}"') and "is-invalid" in html
    assert "Not a valid choice" in html
    unknown = client.post(f"/admin/users/{learner.id}", headers=htmx_headers(client),
                          data={"role": "staff", "department_id": "987654", "active": "y"})
    assert unknown.status_code == 422 and b"invalid-feedback" in unknown.data
    too_long = client.post(f"/admin/users/{learner.id}", headers=htmx_headers(client),
                           data={"role": "staff", "department_id": "9" * 121, "active": "y"})
    assert too_long.status_code == 422 and b"invalid-feedback" in too_long.data
    assert db.session.get(User, learner.id).role == "learner"
    missing = client.post("/admin/users/987654", headers=htmx_headers(client), data={"role": "staff"})
    assert missing.status_code == 404


def test_last_admin_cannot_be_demoted_or_deactivated(login_as, admin, make_user):
    client = login_as(admin)
    demote = client.post(f"/admin/users/{admin.id}", headers=htmx_headers(client),
                         data={"role": "staff", "department": "", "active": "y"})
    assert demote.status_code == 422 and b"last active admin" in demote.data
    deactivate = client.post(f"/admin/users/{admin.id}", headers=htmx_headers(client),
                             data={"role": "admin", "department": ""})
    assert deactivate.status_code == 422 and b"last active admin" in deactivate.data
    user = db.session.get(User, admin.id)
    assert user.role == "admin" and user.active

    # A deactivated admin does not count as a second admin.
    make_user("admin", email="dormant@example.com", active=False)
    assert client.post(f"/admin/users/{admin.id}", headers=htmx_headers(client),
                       data={"role": "staff", "active": "y"}).status_code == 422
    other = make_user("admin", email="second@example.com")
    ok = client.post(f"/admin/users/{other.id}", headers=htmx_headers(client),
                     data={"role": "staff", "active": "y"})
    assert ok.status_code == 200


def _invite(client, **data):
    return client.post("/admin/users/invite", data={"csrf_token": client.csrf_token, **data})


def test_invite_form_errors(login_as, admin, learner, jobs, smtp_server):
    client = login_as(admin)
    assert client.get("/admin/users/invite").status_code == 200
    missing = _invite(client, email="", name="", role="learner")
    assert missing.status_code == 422 and missing.data.count(b"invalid-feedback") >= 2
    bad = _invite(client, email="not an email", name="X", role="learner")
    assert bad.status_code == 422 and b"Not a valid email address" in bad.data
    taken = _invite(client, email="LEARNER@example.com", name="Again", role="learner")
    assert taken.status_code == 422 and b"already exists" in taken.data
    role = _invite(client, email="ok@example.com", name="Ok", role="emperor")
    assert role.status_code == 422 and b"Not a valid choice" in role.data
    assert db.session.scalar(db.select(db.func.count()).select_from(User)) == 2
    jobs()
    assert smtp_server.messages == []  # nothing was queued by the refused invitations


def test_csv_export_escapes_formulas(login_as, admin, make_user):
    make_user("learner", email="evil@example.com", name="=HYPERLINK(\"http://x\")", department="+SUM(A1)")
    make_user("learner", email="plain@example.com", name="Plain Person", department="Nursing")
    client = login_as(admin)
    response = client.get("/admin/users/export.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [r["email"] for r in rows] == ["evil@example.com", "admin@example.com", "plain@example.com"]
    evil = rows[0]
    assert evil["name"] == "'=HYPERLINK(\"http://x\")" and evil["department"] == "'+SUM(A1)"
    assert rows[2]["department"] == "Nursing" and rows[2]["active"] == "True"
    filtered = client.get("/admin/users/export.csv?department=Nursing").get_data(as_text=True)
    assert "plain@example.com" in filtered and "evil@example.com" not in filtered


def test_audit_log_filters(login_as, admin, learner, staff):
    from app.services import audit
    from app.services.accounts import users

    users.update_user(learner, actor=admin, department="Teaching")
    users.update_user(staff, actor="cli", active=False)
    audit.record("system", "certificate.expired", "certificate", 7, "Certificate 7 expired")
    db.session.commit()
    client = login_as(admin)

    everything = client.get("/admin/audit").get_data(as_text=True)
    assert all(a in everything for a in ("user.updated", "user.deactivated", "certificate.expired"))
    by_action = client.get("/admin/audit?action=user.").get_data(as_text=True)
    assert "certificate.expired" not in by_action and "user.deactivated" in by_action
    by_actor = client.get("/admin/audit?actor=cli").get_data(as_text=True)
    assert "user.deactivated" in by_actor and "user.updated" not in by_actor
    by_subject = client.get(f"/admin/audit?subject_type=user&subject_id={learner.id}").get_data(as_text=True)
    assert "user.updated" in by_subject and "user.deactivated" not in by_subject
    fragment = client.get("/admin/audit?action=certificate", headers={"HX-Request": "true"})
    assert b"<html" not in fragment.data and b"certificate.expired" in fragment.data
    assert "No events match" in client.get("/admin/audit?action=nothing.").get_data(as_text=True)
