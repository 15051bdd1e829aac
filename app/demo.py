"""Demo data for `make run`: an organisation with people in a few departments, a course catalog,
certifications, and a year of enrollments, completions and certificates.

Seeded once: people if the demo admin is missing, the lifecycle data if course FA-101 is missing,
training sessions if there are none.
Everything goes through the services (audited, events emitted) with completion dates in the past, so
certificates are spread over the last 12 months: some expiring soon, one revoked, one renewal chain.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.database import utcnow
from app.extensions import db
from app.models import (
    Certificate,
    Certification,
    Course,
    PrivacySettings,
    Requirement,
    SessionRegistration,
    TrainingSession,
    User,
)
from app.models.template import CertificateTemplate
from app.services.accounts import departments
from app.services.accounts import users as accounts
from app.services.compliance import requirements
from app.services.documents import designer_layout
from app.services.lifecycle import catalog, corrections, enrollment, evidence, issuing, revocation
from app.services.payments import fees, ledger
from app.services.privacy import exports, policy
from app.services.training import registrations, sessions

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
     {"validity_months": 12, "renewal_window_days": 60, "reminder_days": [30, 7], "auto_reenrol": True,
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
    if db.session.scalar(select(CertificateTemplate.id).limit(1)) is None:
        _seed_template()
        created = True
    if db.session.scalar(select(TrainingSession.id).limit(1)) is None:
        _seed_training()
        created = True
    if db.session.scalar(select(Certification.id).where(Certification.name == PAID_CERTIFICATION)) is None:
        _seed_fees()
        created = True
    if db.session.scalar(select(Requirement.id).limit(1)) is None:
        _seed_compliance()
        created = True
    if db.session.scalar(select(PrivacySettings.id)) is None:
        _seed_privacy()
        created = True
    return created


def _seed_template() -> None:
    """A designer template (drawn by the fast renderer) for the first certification, so Admin ›
    Templates and its "PDF renderer" line have something to show."""
    template = designer_layout.create_from_starter("classic", actor="seed")
    first = db.session.scalar(select(Certification).order_by(Certification.id).limit(1))
    if first is not None:
        first.template_id = template.id


PAID_CERTIFICATION = "Paediatric Life Support"


def _seed_fees() -> None:
    """A certification with a fee (docs/payments.md): Olga paid by invoice and holds it; Lena sees the fee
    on her path (online payment is off until an admin enters Stripe keys)."""
    course = catalog.create_course({"code": "PLS-400", "title": "Paediatric life support",
                                    "category": "Clinical",
                                    "description": "Paediatric life support."}, actor="seed")
    cert = catalog.create_certification(
        {"name": PAID_CERTIFICATION, "status": "active", **ISSUER, "validity_months": 24,
         "course_ids": [course.id], "description": "Resuscitation of infants and children."},
        actor="seed")
    fees.set_fee(cert, {"amount": "149.00", "currency": "EUR", "tax_note": "VAT exempt (training)"},
                 actor="seed")
    olga = db.session.scalar(select(User).where(User.email == "olga.ivanova@example.com"))
    if olga is not None:
        ledger.mark_paid(olga, cert, "INV-2026-0117", actor="seed")
        enrollment.record_completion(olga, course, score=93, completed_at=utcnow() - timedelta(days=1),
                                     actor="seed", source="seed")


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
    _seed_corrections(users)
    _seed_evidence(courses, users)


def _seed_corrections(users: dict[str, User]) -> None:
    """One certificate corrected (its verify page says so) and one correction request waiting."""
    def first_of(user: User) -> Certificate | None:
        return db.session.scalar(select(Certificate).where(Certificate.user_id == user.id,
                                                           Certificate.revoked_at.is_(None))
                                 .order_by(Certificate.issued_at))

    chen = first_of(users["chen.wei"])
    if chen is not None:
        corrections.reissue(chen, {"holder_name": "Wei Chen"}, "Name order as in the passport.",
                            actor=accounts.find_by_email("admin@example.com"))
    lena = first_of(users["learner"])
    if lena is not None:
        corrections.request_correction(lena, {"holder_name": "Lena M. Fischer"},
                                       "My certificates show my middle initial.", user=users["learner"])



def _seed_evidence(courses: dict[str, Course], users: dict[str, User]) -> None:
    """A certification with an "any N of" group and evidence reviewed by Sam (staff); Lena has done the
    courses and waits for the review, Chen's first try was rejected."""
    groups = [{"mode": "all", "courses": [{"course_id": courses["FS-100"].id}]},
              {"mode": "any", "count": 1, "min_score": 70,
               "courses": [{"course_id": courses[c].id} for c in ("FA-101", "MH-201", "DP-110")]}]
    cert = catalog.create_certification(
        {"name": "Workplace Safety Champion", "status": "active", **ISSUER, "validity_months": 24,
         "description": "Fire safety, one more safety course, and a safety walk you lead.",
         "requirement_groups": groups, "evidence_required": True, "assessor_ids": [users["staff"].id],
         "evidence_instructions": "Upload the checklist of a safety walk you led (PDF or photo), "
                                  "or describe it."},
        actor="seed")
    checklist = b"Safety walk, ward 3\n- exits: 2 blocked, cleared\n- extinguishers: checked\n"
    evidence.submit(users["learner"], cert, "I led the safety walk of ward 3 on Monday: two blocked exits "
                    "reported and cleared.", [evidence.Upload("safety-walk.txt", checklist)],
                    actor=users["learner"])
    first = evidence.submit(users["chen.wei"], cert, "Walk done.", [], actor=users["chen.wei"])
    evidence.review(first, "reject", "Please add the checklist or say what you found.", actor=users["staff"])


def _seed_compliance() -> None:
    """Requirements that put someone in every matrix state: First Aid for Health and below (valid, missing,
    exempt), Fire Safety for nurses by a date already past (expiring, overdue), Data Protection for three
    named people (expiring, expired: a paper certificate from the old system, missing)."""
    now = utcnow()
    certs = {c.name: c for c in db.session.scalars(select(Certification))}
    users = {u.email.split("@")[0]: u for u in db.session.scalars(select(User))}
    for prefix in ("learner", "jonas.berg", "maria.garcia"):
        users[prefix].job_title = "Nurse"
    issuing.issue(users["sofia.rossi"], certs["Data Protection Essentials"], actor="seed",
                  note="Paper certificate from the previous system.", now=now - timedelta(days=380))
    health = departments.by_name("Health")
    created = [
        requirements.create({"certification_id": certs["First Aid Level 2"].id, "scope": "department",
                             "department_id": health.id, "due_days": 30}, actor="seed"),
        requirements.create({"certification_id": certs["Fire Safety Awareness"].id, "scope": "job_title",
                             "job_title": "Nurse", "due_on": (now - timedelta(days=14)).date()},
                            actor="seed"),
        requirements.create({"certification_id": certs["Data Protection Essentials"].id, "scope": "people",
                             "user_ids": [users[p].id for p in ("sofia.rossi", "chen.wei", "kwame.mensah")]},
                            actor="seed"),
    ]
    for row in created:
        row.created_at = now - timedelta(days=60)
    requirements.exempt(users["jonas.berg"], certs["First Aid Level 2"],
                        {"reason": "Medical: cannot perform CPR; reassessed yearly.",
                         "expires_on": (now + timedelta(days=180)).date()}, actor="seed")


def _revoke_one(user: User) -> None:
    cert = db.session.scalar(select(Certificate).where(Certificate.user_id == user.id)
                             .order_by(Certificate.issued_at))
    if cert is not None:
        revocation.revoke(cert, "Assessment found to have been completed by someone else.", actor="seed")


def _seed_training() -> None:
    """Manual handling practicals (attending one completes MH-201): one tomorrow in Berlin with a trainer,
    a full online one next week with a waitlist, and last week's with attendance taken."""
    users = {u.email.split("@")[0]: u for u in db.session.scalars(select(User))}
    course = db.session.scalar(select(Course).where(Course.code == "MH-201"))
    if course is None:
        return
    sessions.set_attendance_rule(course.id, "one", actor="seed")
    day = utcnow().replace(hour=8, minute=0, second=0, microsecond=0)
    tomorrow = sessions.create_session({
        "course_id": course.id, "title": "Manual handling practical", "starts_at": day + timedelta(days=1),
        "ends_at": day + timedelta(days=1, hours=3), "timezone": "Europe/Berlin",
        "location": "Training room 2, Main building", "trainer_id": users["trainer"].id, "capacity": 8,
        "registration_deadline": day + timedelta(hours=12)}, actor="seed")
    online = sessions.create_session({
        "course_id": course.id, "title": "Manual handling refresher (online)",
        "starts_at": day + timedelta(days=7, hours=5),
        "ends_at": day + timedelta(days=7, hours=6, minutes=30),
        "timezone": "Europe/London", "online_url": "https://meet.example.com/manual-handling",
        "trainer_id": users["trainer"].id, "capacity": 2}, actor="seed")
    for who in ("learner", "jonas.berg", "kwame.mensah"):
        registrations.register(users[who], tomorrow, actor="seed")
    for who in ("sofia.rossi", "yuki.tanaka", "amir.haddad", "noa.levi"):
        registrations.register(users[who], online, actor="seed")  # the last two wait
    past = sessions.create_session({
        "course_id": course.id, "title": "Manual handling practical", "starts_at": day - timedelta(days=6),
        "ends_at": day - timedelta(days=6, hours=-3), "timezone": "Europe/Berlin",
        "location": "Training room 2, Main building", "trainer_id": users["trainer"].id, "capacity": 8},
        actor="seed")
    for who, attended in (("sofia.rossi", "present"), ("maria.garcia", "absent"), ("chen.wei", "excused")):
        db.session.add(SessionRegistration(session_id=past.id, user_id=users[who].id, status="registered",
                                           queued_at=past.starts_at - timedelta(days=5), attendance=attended,
                                           checked_in_via="trainer", attendance_marked_at=past.ends_at,
                                           reminded_at=past.starts_at - timedelta(days=1)))
    db.session.flush()
