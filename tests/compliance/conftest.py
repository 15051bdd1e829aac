"""The hand-built compliance fixture: two department branches, three requirements (by department with its
sub-department, by job title, by named people) and people in every state. NOW is a Monday.

    Hospital (Vera valid, Mia newcomer missing, Otto overdue, Elias exemption expired -> overdue,
    └─ Nursing (Eve expiring, Xander expired, Olga long expired -> overdue, Ezra exempt,
                Nora: First Aid valid, Fire Safety overdue; manager: Manny)
    Finance (Finn "nurse": Fire Safety valid; Pia: Safeguarding valid; Rex: revoked -> missing)
    Ian (Hospital, inactive) is in no cell.

    R1 First Aid (24 months, window 90 days) for Hospital and below, due 30 days after joining.
    R2 Fire Safety (12 months, window 30) for job title "Nurse", due 2026-03-31.
    R3 Safeguarding (never expires) for Pia and Rex, no due date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from sqlalchemy import delete

from app.extensions import db
from app.models import OutboxEmail, User
from app.queue import QUEUES, get_queue
from app.services.accounts import departments
from app.services.compliance import requirements
from app.services.lifecycle import catalog, issuing, revocation

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@dataclass
class World:
    people: dict[str, User]
    certifications: dict[str, object]
    requirements: dict[str, object]
    departments: dict[str, object]
    admin: User
    manager: User


def _person(make_user, name: str, dept, joined=at(2025, 1, 1), **fields) -> User:
    return make_user("learner", email=f"{name.lower()}@example.com", name=name, department_ref=dept,
                     created_at=joined, **fields)


@pytest.fixture
def world(make_user, admin) -> World:
    hospital = departments.find_or_create("Hospital", actor="test")
    nursing = departments.find_or_create("Nursing", actor="test", parent=hospital)
    finance = departments.find_or_create("Finance", actor="test")
    db.session.commit()
    certs = {}
    for code, name, months, window in (("FA-1", "First Aid", 24, 90), ("FS-1", "Fire Safety", 12, 30),
                                       ("SG-1", "Safeguarding", None, 90)):
        course = catalog.create_course({"code": code, "title": f"{name} course"}, actor="test")
        db.session.flush()
        certs[name] = catalog.create_certification(
            {"name": name, "status": "active", "course_ids": [course.id], "validity_months": months,
             "renewal_window_days": window, "reminder_days": "7" if months else ""}, actor="test")
    db.session.commit()
    p = {}
    for name in ("Vera", "Otto", "Elias"):
        p[name] = _person(make_user, name, hospital)
    p["Mia"] = _person(make_user, "Mia", hospital, joined=at(2026, 5, 20))
    p["Ian"] = _person(make_user, "Ian", hospital, active=False)
    for name in ("Eve", "Xander", "Olga", "Ezra"):
        p[name] = _person(make_user, name, nursing)
    p["Nora"] = _person(make_user, "Nora", nursing, job_title="Nurse")
    p["Finn"] = _person(make_user, "Finn", finance, job_title="nurse")
    p["Pia"] = _person(make_user, "Pia", finance)
    p["Rex"] = _person(make_user, "Rex", finance)
    manager = make_user("manager", email="manny@example.com", name="Manny Manager")
    departments.set_managers(nursing, [manager], actor="test")
    db.session.commit()

    def issue(name: str, cert: str, when: datetime):
        row = issuing.issue(p[name], certs[cert], actor="test", note="fixture", now=when)
        db.session.flush()
        return row

    fa, fs, sg = "First Aid", "Fire Safety", "Safeguarding"
    issue("Vera", fa, at(2025, 12, 1))
    issue("Eve", fa, at(2024, 7, 1))        # expires 2026-07-01: inside the 90-day window
    issue("Xander", fa, at(2024, 5, 20))    # expired 2026-05-20; due again 30 days later
    issue("Olga", fa, at(2023, 1, 10))      # expired 2025-01-10
    issue("Nora", fa, at(2026, 1, 15))
    issue("Ian", fa, at(2026, 1, 15))
    issue("Finn", fs, at(2026, 2, 1))
    issue("Pia", sg, at(2026, 1, 5))
    revocation.revoke(issue("Rex", sg, at(2026, 1, 5)), "Issued by mistake", actor="test")
    db.session.commit()
    reqs = {
        "R1": requirements.create({"certification_id": certs[fa].id, "scope": "department",
                                   "department_id": hospital.id, "due_days": 30}, actor=admin),
        "R2": requirements.create({"certification_id": certs[fs].id, "scope": "job_title",
                                   "job_title": "Nurse", "due_on": "2026-03-31"}, actor=admin),
        "R3": requirements.create({"certification_id": certs[sg].id, "scope": "people",
                                   "user_ids": [p["Pia"].id, p["Rex"].id]}, actor=admin),
    }
    for row in reqs.values():
        row.created_at = at(2026, 1, 1)
    requirements.exempt(p["Ezra"], certs[fa], {"reason": "Medical: cannot do CPR"}, actor=admin)
    requirements.exempt(p["Elias"], certs[fa], {"reason": "Was on leave", "expires_on": "2026-05-01"},
                        actor=admin)
    db.session.commit()
    # The fixture's own mail (certificates issued) and jobs (PDFs; the apply jobs would run at today's
    # date, not NOW) are not what these tests look at: the tests call the steps with NOW.
    for name in QUEUES:
        get_queue(name).empty()
    db.session.execute(delete(OutboxEmail))
    db.session.commit()
    return World(p, certs, reqs, {"Hospital": hospital, "Nursing": nursing, "Finance": finance}, admin,
                 manager)
