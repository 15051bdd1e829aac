"""Who is told: required notices, escalations (learner, manager, admin: each once) and the weekly digest,
through the outbox and the real SMTP server; the daily job run twice sends nothing twice."""

from __future__ import annotations

from sqlalchemy import func, select

from app.extensions import db
from app.models import ComplianceNotice, Enrollment, OutboxEmail
from app.services.compliance import digest, notices, requirements
from app.tasks.daily import run_steps
from tests.compliance.conftest import NOW


def _compliance_mail():
    return db.session.scalars(select(OutboxEmail).where(OutboxEmail.template.like("compliance_%"))
                              .order_by(OutboxEmail.id)).all()


def test_required_notice_once_with_the_path(world, smtp_server, jobs):
    assert notices.send_required_notices(NOW) == 7  # Xander, Mia, Otto, Olga, Elias, Nora (FS), Rex
    db.session.commit()
    assert notices.send_required_notices(NOW) == 0
    jobs()
    messages = smtp_server.wait_for(7)
    mia = next(m for m in messages if m["To"] == "mia@example.com")
    assert mia["Subject"] == "You are required to hold First Aid"
    body = mia.get_body(("plain",)).get_content()
    assert "by 19 Jun 2026" in body and "First Aid course" in body and "http" in body


def test_escalations_each_step_once(world, smtp_server, jobs):
    assert notices.send_escalations(NOW) == 12  # 4 overdue assignments x 3 steps
    db.session.commit()
    assert notices.send_escalations(NOW) == 0
    mail = _compliance_mail()
    to = sorted((m.to, m.subject) for m in mail)
    learners = [t for t in to if t[1].startswith("Overdue: you")]
    assert sorted(t[0] for t in learners) == ["elias@example.com", "nora@example.com", "olga@example.com",
                                              "otto@example.com"]
    # Nursing's people go to their manager; Hospital has none, so the admins get the manager step too.
    assert sum(1 for t in to if t[0] == "manny@example.com") == 2
    assert sum(1 for t in to if t[0] == "admin@example.com") == 2 + 4
    jobs()
    assert len(smtp_server.wait_for(12)) == 12
    steps = db.session.execute(select(ComplianceNotice.step, func.count()).group_by(ComplianceNotice.step))
    assert dict(steps.all()) == {"learner": 4, "manager": 4, "admin": 4}


def test_escalation_delays_per_requirement(world):
    requirements.update(world.requirements["R2"], {"escalate_manager_days": "", "escalate_admin_days": 365},
                        actor=world.admin)
    db.session.commit()
    notices.send_escalations(NOW)
    db.session.commit()
    nora = world.people["Nora"].id
    steps = set(db.session.scalars(select(ComplianceNotice.step).where(
        ComplianceNotice.user_id == nora, ComplianceNotice.requirement_id == world.requirements["R2"].id)))
    assert steps == {"learner"}  # manager step off, admin step not yet (due 2026-04-01 + 365 days)


def test_daily_job_twice_sends_nothing_twice(world, smtp_server, jobs):
    first = run_steps(NOW)
    assert (first["required_notices"], first["escalations"], first["compliance_digests"]) == (7, 12, 2)
    second = run_steps(NOW)
    assert (second["required_notices"], second["escalations"], second["compliance_digests"]) == (0, 0, 0)
    jobs()
    subjects = [m["Subject"] for m in smtp_server.wait_for(21)]
    assert sum(1 for s in subjects if s.startswith("Compliance this week")) == 2
    assert len([m for m in _compliance_mail()]) == 7 + 12 + 2


def test_digest_manager_sees_only_their_people(world):
    ctx = digest.context(digest.matrix.Filters(), NOW, world.manager)
    names = {c.name for c in ctx["overdue"]} | {c.name for c in ctx["expiring"]}
    assert names == {"Olga", "Nora", "Eve"}
    assert ctx["summary"].overall.total == 6
    org = digest.context(digest.matrix.Filters(unmanaged=True), NOW, None)
    assert org["summary"].overall.total == 7  # Hospital (4) and Finance (3): no manager at or above them


def test_auto_enrol_in_the_courses(world):
    requirements.update(world.requirements["R1"], {"auto_enrol": True}, actor=world.admin)
    db.session.commit()
    notices.send_required_notices(NOW, world.requirements["R1"].id)
    db.session.commit()
    enrolled = db.session.scalar(select(func.count()).select_from(Enrollment).where(
        Enrollment.source == "requirement"))
    assert enrolled == 5  # Xander, Mia, Otto, Olga, Elias
