"""Departments: the tree, cycles refused, delete only when empty, names case-insensitive, and the
migration that turned the old free-text `users.department` into rows."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, Department
from app.services.accounts import departments
from app.services.errors import NotAllowed, ValidationError


@pytest.fixture
def faculty_tree(admin):
    """Health (faculty) > Nursing (department) > Night shift (team); Law at the top."""
    health = departments.find_or_create("Health", actor=admin)
    nursing = departments.find_or_create("Nursing", actor=admin, parent=health)
    night = departments.find_or_create("Night shift", actor=admin, parent=nursing)
    law = departments.find_or_create("Law", actor=admin)
    db.session.commit()
    return health, nursing, night, law


def test_find_or_create_is_case_and_space_insensitive(admin):
    first = departments.find_or_create("  Nursing  Care ", actor=admin)
    again = departments.find_or_create("nursing care", actor=admin)
    assert first.id == again.id and first.name == "Nursing Care"
    assert departments.by_name("NURSING   care").id == first.id
    assert departments.by_name("") is None and departments.by_name("Law") is None
    assert db.session.scalar(select(AuditEvent.action).where(AuditEvent.subject_type == "department")) \
        == "department.created"


@pytest.mark.parametrize("bad", ["", "   ", "x" * 121, "a\x00b", "line\nbreak"])
def test_bad_names_are_refused(admin, bad):
    with pytest.raises(ValidationError):
        departments.find_or_create(bad, actor=admin)
    assert db.session.scalar(select(Department)) is None


def test_create_refuses_a_taken_name_and_rename_too(faculty_tree, admin):
    health, nursing, _, law = faculty_tree
    with pytest.raises(ValidationError):
        departments.create("LAW", actor=admin)
    with pytest.raises(ValidationError):
        departments.rename(nursing, "law", actor=admin)
    departments.rename(nursing, "Nursing & Midwifery", actor=admin)
    assert departments.by_name("nursing & midwifery").id == nursing.id
    departments.rename(law, "LAW", actor=admin)  # its own name in another case is fine
    assert law.name == "LAW"


def test_tree_orders_parents_before_children(faculty_tree):
    health, nursing, night, law = faculty_tree
    assert [(d.name, depth) for d, depth in departments.tree()] == [
        ("Health", 0), ("Nursing", 1), ("Night shift", 2), ("Law", 0)]
    assert departments.choices()[2] == (night.id, "\u2014 \u2014 Night shift")


def test_subtree_ids_in_one_query(faculty_tree, statements):
    health, nursing, night, law = (d.id for d in faculty_tree)
    statements.clear()
    assert departments.subtree_ids([health]) == {health, nursing, night}
    assert departments.subtree_ids([nursing, law]) == {nursing, night, law}
    assert departments.subtree_ids([]) == set()
    assert len(statements) == 2


def test_move_refuses_cycles(faculty_tree, admin):
    health, nursing, night, law = faculty_tree
    for parent in (health, nursing, night):
        with pytest.raises(ValidationError):
            departments.move(health, parent, actor=admin)
    departments.move(nursing, law, actor=admin)
    db.session.commit()
    assert departments.subtree_ids([law.id]) == {law.id, nursing.id, night.id}
    departments.move(nursing, None, actor=admin)
    assert nursing.parent_id is None


def test_delete_only_when_empty(faculty_tree, admin, make_user):
    health, nursing, night, law = faculty_tree
    person = make_user("learner")
    departments.assign(person, law, actor=admin)
    db.session.commit()
    with pytest.raises(NotAllowed, match="members"):
        departments.delete_department(law, actor=admin)
    with pytest.raises(NotAllowed, match="sub-departments"):
        departments.delete_department(nursing, actor=admin)
    departments.delete_department(night, actor=admin)
    departments.assign(person, None, actor=admin)
    departments.delete_department(law, actor=admin)
    db.session.commit()
    assert {d.name for d, _ in departments.tree()} == {"Health", "Nursing"}
    assert person.department_id is None


def test_assign_and_managers(faculty_tree, admin, make_user):
    health, nursing, night, law = faculty_tree
    person = make_user("learner")
    boss = make_user("manager")
    departments.assign(person, night, actor=admin)
    departments.set_managers(nursing, [boss], actor=admin)
    db.session.commit()
    assert person.department_ref.name == "Night shift"
    assert [d.name for d in boss.managed_departments] == ["Nursing"]
    assert [u.id for u in nursing.managers] == [boss.id]
    departments.set_managers(nursing, [], actor=admin)
    db.session.commit()
    assert boss.managed_departments == []


def test_migration_turns_strings_into_departments(app, tmp_path):
    """Upgrade a database at 0010 holding free-text departments: one row per distinct name (case and
    spacing ignored), users pointing at it, and staff granted "reads everything"."""
    from flask_migrate import upgrade
    from sqlalchemy import text

    from app import create_app

    url = f"sqlite:///{tmp_path / 'old.db'}"
    old = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": app.config["REDIS_URL"]})
    with old.app_context():
        upgrade(revision="0010_badges")
        people = [("a@x.org", "learner", "Nursing"), ("b@x.org", "learner", "nursing "),
                  ("c@x.org", "staff", "Law"), ("d@x.org", "learner", None), ("e@x.org", "admin", "  Law")]
        with db.engine.begin() as conn:
            for email, role, department in people:
                conn.execute(text("INSERT INTO users (email, name, role, department, active, "
                                  "session_version, reminder_emails, created_at) "
                                  "VALUES (:e, :e, :r, :d, 1, 1, 1, '2026-01-01 00:00:00')"),
                             {"e": email, "r": role, "d": department})
        upgrade(revision="0012_departments")
        with db.engine.connect() as conn:
            names = dict(conn.execute(text("SELECT name_key, id FROM departments")).all())
            users = {row[0]: row[1:] for row in conn.execute(text(
                "SELECT email, department_id, reads_everything FROM users"))}
        db.session.remove()
        db.engine.dispose()
    assert set(names) == {"nursing", "law"}
    assert users["a@x.org"][0] == users["b@x.org"][0] == names["nursing"]
    assert users["c@x.org"][0] == users["e@x.org"][0] == names["law"]
    assert users["d@x.org"][0] is None
    assert [email for email, (_, grant) in users.items() if grant] == ["c@x.org"]


def test_admin_departments_pages(login_as, admin, make_user):
    """Create, edit (a cycle is refused next to the field), managers, delete only when empty."""
    client = login_as(admin)
    csrf = {"csrf_token": client.csrf_token}
    first = client.post("/admin/departments", data={**csrf, "name": "Health", "parent_id": "0"})
    assert first.status_code == 302
    health = departments.by_name("health")
    created = client.post("/admin/departments", data={**csrf, "name": "Nursing", "parent_id": str(health.id)})
    assert created.status_code == 302
    nursing = departments.by_name("Nursing")
    assert nursing.parent_id == health.id
    taken = client.post("/admin/departments", data={**csrf, "name": "HEALTH", "parent_id": "0"})
    assert taken.status_code == 422 and "exists already" in taken.get_data(as_text=True)
    page = client.get("/admin/departments").get_data(as_text=True)
    assert "Health" in page and "Nursing" in page

    # Health cannot go under Nursing: not even offered, and refused when sent anyway.
    edit = client.get(f"/admin/departments/{health.id}").get_data(as_text=True)
    assert f'<option value="{nursing.id}">' not in edit
    cycle = client.post(f"/admin/departments/{health.id}", data={**csrf, "name": "Health",
                                                                 "parent_id": str(nursing.id)})
    assert cycle.status_code == 422
    renamed = client.post(f"/admin/departments/{nursing.id}", data={**csrf, "name": "Nursing & Care",
                                                                    "parent_id": "0"})
    assert renamed.status_code == 302
    db.session.expire_all()
    assert (nursing.name, nursing.parent_id) == ("Nursing & Care", None)

    boss, learner = make_user("manager"), make_user("learner", department="Health")
    managers = client.post(f"/admin/departments/{health.id}/managers",
                           data={**csrf, "manager_ids": [str(boss.id)]})
    assert managers.status_code == 302
    assert [u.id for u in departments.by_name("Health").managers] == [boss.id]
    not_a_manager = client.post(f"/admin/departments/{health.id}/managers",
                                data={**csrf, "manager_ids": [str(learner.id)]})
    assert not_a_manager.status_code == 422  # only managers and staff are offered

    refused = client.post(f"/admin/departments/{health.id}/delete", data=csrf, follow_redirects=True)
    assert "still has members" in refused.get_data(as_text=True)
    assert departments.by_name("Health") is not None
    assert client.post(f"/admin/departments/{nursing.id}/delete", data=csrf).status_code == 302
    assert departments.by_name("Nursing & Care") is None
    assert client.get("/admin/departments/987654").status_code == 404
