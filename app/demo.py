"""Demo data for `make run`: an organisation with people in a few departments, a course catalog,
certifications, and a year of enrollments, completions and certificates.

Seeded once: people if the demo admin is missing, the lifecycle data if course FA-101 is missing.
Everything goes through the services (audited, events emitted) with completion dates in the past, so
certificates are spread over the last 12 months: some expiring soon, one revoked, one renewal chain.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.database import utcnow
from app.extensions import db
from app.models import Certificate, Course, PrivacySettings, User
from app.services.accounts import departments
from app.services.accounts import users as accounts
from app.services.lifecycle import catalog, enrollment, revocation
from app.services.privacy import exports, policy

DEMO_PASSWORD = "laurel-demo"  # noqa: S105 - printed by `make run`; demo data only, never a default for real accounts
LOGINS = [
    ("admin", "admin@example.com", DEMO_PASSWORD),
    ("staff", "staff@example.com", DEMO_PASSWORD),
    ("manager", "manager@example.com", DEMO_PASSWORD),
    ("learner", "learner@example.com", DEMO_PASSWORD),
]

PEOPLE = [
    ("admin@example.com", "Ada Okafor", "admin", "Administration"),
    ("staff@example.com", "Sam Whitfield", "staff", "Nursing"),
    ("trainer@example.com", "Priya Raman", "staff", "Engineering"),
    ("manager@example.com", "Maya Lindqvist", "manager", "Health"),
    ("learner@example.com", "Lena Fischer", "learner", "Nursing"),
    ("jonas.berg@example.com", "Jonas Berg", "learner", "Nursing"),
    ("maria.garcia@example.com", "María García", "learner", "Nursing"),
    ("chen.wei@example.com", "Chen Wei", "learner", "Engineering"),
    ("amir.haddad@example.com", "Amir Haddad", "learner", "Engineering"),
    ("olga.ivanova@example.com", "Olga Ivanova", "learner", "Engineering"),
    ("kwame.mensah@example.com", "Kwame Mensah", "learner", "Operations"),
    ("sofia.rossi@example.com", "Sofia Rossi", "learner", "Operations"),
    ("yuki.tanaka@example.com", "Yuki Tanaka", "learner", "Operations"),
    ("noa.levi@example.com", "Noa Levi", "learner", "Teaching"),
    ("eleni.pappas@example.com", "Eleni Pappas", "learner", "Teaching"),
]

COURSES = [  # code, title, category, capacity
    ("FA-101", "First aid basics", "Safety", None),
    ("FA-102", "CPR and AED", "Safety", None),
    ("FS-100", "Fire safety awareness", "Safety", None),
    ("DP-110", "Data protection essentials", "Compliance", None),
    ("IC-210", "Infection control", "Clinical", 12),
    ("MH-201", "Manual handling", "Operations", None),
    ("LD-300", "Leading teams", "Leadership", 8),
    ("LD-310", "Coaching conversations", "Leadership", 8),
]

ISSUER = {"issuer_name": "Laurel Training Academy", "signatory_name": "Dr. Amara Nwosu",
          "signatory_title": "Head of Learning"}
CERTIFICATIONS = [  # name, courses, fields
    ("First Aid Level 2", ["FA-101", "FA-102"],
     {"min_score": 70, "validity_months": 24, "renewal_window_days": 90, "reminder_days": [90, 30, 7],
      "description": "Emergency first aid at work, CPR and use of an AED."}),
    ("Fire Safety Awareness", ["FS-100"],
     {"validity_months": 12, "renewal_window_days": 60, "reminder_days": [30, 7],
      "description": "Fire prevention, alarms and evacuation."}),
    ("Data Protection Essentials", ["DP-110"],
     {"min_score": 80, "validity_months": 12, "renewal_window_days": 30, "reminder_days": [30, 7],
      "description": "Handling personal data lawfully and safely."}),
    ("Infection Control Practitioner", ["IC-210"],
     {"min_score": 75, "validity_months": 24, "prerequisites": ["First Aid Level 2"],
      "description": "Infection prevention and control in care settings."}),
    ("Team Leader", ["LD-300", "LD-310"], {"status": "draft", "description": "Leading and coaching a team."}),
    ("Manual Handling (2019 syllabus)", ["MH-201"], {"status": "archived", "validity_months": 36}),
]

# Completions: (email prefix, course, score, days ago). Recorded oldest first, issuing as of that day.
COMPLETIONS = [
    ("kwame.mensah", "FS-100", None, 400), ("kwame.mensah", "FS-100", None, 20),  # expired, then renewed
    ("learner", "FA-101", 88, 330), ("learner", "FA-102", 91, 325), ("learner", "DP-110", 92, 345),
    ("learner", "IC-210", 84, 120), ("learner", "FS-100", None, 310),
    ("jonas.berg", "FA-101", 64, 300), ("jonas.berg", "FA-102", 77, 290),  # score too low: not issued
    ("maria.garcia", "FA-101", 95, 280), ("maria.garcia", "FA-102", 89, 270),
    ("maria.garcia", "FS-100", None, 335),
    ("chen.wei", "DP-110", 85, 352), ("chen.wei", "FS-100", None, 240), ("chen.wei", "FA-101", 73, 200),
    ("chen.wei", "FA-102", 81, 198),
    ("amir.haddad", "DP-110", 79, 210), ("amir.haddad", "FS-100", None, 180),
    ("olga.ivanova", "DP-110", 97, 150), ("olga.ivanova", "FA-101", 90, 60),
    ("olga.ivanova", "FA-102", 86, 58),
    ("sofia.rossi", "FS-100", None, 120), ("sofia.rossi", "MH-201", 70, 100),
    ("yuki.tanaka", "FA-101", 78, 90), ("yuki.tanaka", "FA-102", 74, 45), ("yuki.tanaka", "DP-110", 88, 30),
    ("noa.levi", "DP-110", 83, 14), ("noa.levi", "FS-100", None, 9),
    ("eleni.pappas", "FS-100", None, 5), ("eleni.pappas", "DP-110", 91, 2), ("amir.haddad", "FA-101", 82, 3),
]
# Open enrollments: (email prefix, course, status, progress)
ENROLLMENTS = [
    ("learner", "LD-300", "in_progress", 40), ("jonas.berg", "DP-110", "in_progress", 65),
    ("amir.haddad", "FA-102", "enrolled", 0), ("noa.levi", "FA-101", "in_progress", 30),
    ("eleni.pappas", "FA-101", "enrolled", 0), ("sofia.rossi", "DP-110", "withdrawn", 10),
    ("kwame.mensah", "IC-210", "in_progress", 55), ("yuki.tanaka", "LD-300", "enrolled", 0),
]


def seed() -> bool:
    """Create the demo data unless it is there already. Returns True when it created any."""
    created = False
    if accounts.find_by_email(PEOPLE[0][0]) is None:
        _seed_departments()
        for email, name, role, department in PEOPLE:
            # The demo staff read everything, as staff did before departments existed.
            accounts.create_user(email, name, role, department, actor="seed", password=DEMO_PASSWORD,
                                 reads_everything=role == "staff")
        manager = accounts.find_by_email("manager@example.com")
        departments.set_managers(departments.by_name("Health"), [manager], actor="seed")
        created = True
    if db.session.scalar(select(Course.id).where(Course.code == "FA-101")) is None:
        _seed_lifecycle()
        created = True
    if db.session.scalar(select(PrivacySettings.id)) is None:
        _seed_privacy()
        created = True
    return created


def _seed_privacy() -> None:
    """The default privacy policy saved (Admin › Privacy), and the demo learner's data export (built by
    the worker: Profile › Your data lists it, the link is in instance/mail/)."""
    policy.update(policy.current_values(), actor="seed")
    learner = accounts.find_by_email("learner@example.com")
    if learner is not None:
        exports.request_export(learner, actor=learner)


def _seed_departments() -> None:
    """A small tree: the Health faculty holds Nursing (its manager sees both), Engineering sits under
    Technology, Operations and Administration at the top."""
    health = departments.find_or_create("Health", actor="seed")
    departments.find_or_create("Nursing", actor="seed", parent=health)
    technology = departments.find_or_create("Technology", actor="seed")
    departments.find_or_create("Engineering", actor="seed", parent=technology)


def _seed_lifecycle() -> None:
    courses = {code: catalog.create_course({"code": code, "title": title, "category": category,
                                            "capacity": capacity, "description": f"{title}."}, actor="seed")
               for code, title, category, capacity in COURSES}
    by_name: dict[str, int] = {}
    for name, codes, fields in CERTIFICATIONS:
        fields = dict(fields)
        prerequisites = [by_name[n] for n in fields.pop("prerequisites", [])]
        cert = catalog.create_certification(
            {"name": name, "status": "active", **ISSUER, **fields, "prerequisite_ids": prerequisites,
             "course_ids": [courses[c].id for c in codes]}, actor="seed")
        by_name[name] = cert.id
    users = {u.email.split("@")[0]: u for u in db.session.scalars(select(User))}
    now = utcnow()
    for prefix, code, score, days_ago in sorted(COMPLETIONS, key=lambda c: -c[3]):
        when = now - timedelta(days=days_ago, hours=days_ago % 7)
        enrollment.record_completion(users[prefix], courses[code], score=score, completed_at=when,
                                     actor="seed", source="seed", now=when)
    for prefix, code, status, progress in ENROLLMENTS:
        row = enrollment.enroll(users[prefix], courses[code], actor="seed", source="seed")
        enrollment.update_enrollment(row, {"status": status, "progress": progress}, actor="seed")
    _revoke_one(users["amir.haddad"])


def _revoke_one(user: User) -> None:
    cert = db.session.scalar(select(Certificate).where(Certificate.user_id == user.id)
                             .order_by(Certificate.issued_at))
    if cert is not None:
        revocation.revoke(cert, "Assessment found to have been completed by someone else.", actor="seed")
