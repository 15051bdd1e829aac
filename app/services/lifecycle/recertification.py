"""Recertification: when a certificate's renewal window opens, re-enrol its holder in the courses.

Renewal works as it always did (issuing.py): a certificate inside its renewal window (or expired) is
renewed by completions of the certification's courses made after the window opened; the new
certificate continues the chain. For a certification with `auto_reenrol`, the daily sweep puts the
holder back on those courses so the learner (and the LMS reports) see what is due: an enrollment that
was completed or withdrawn goes back to `enrolled` at 0 % (its completions stay: they are history and
no longer count for the renewal anyway), a missing one is created. Once per certificate: the
conditional UPDATE of `Certificate.reenrolled_at` is the claim, so two sweeps at once re-enrol once.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import joinedload

from app.database import utcnow
from app.extensions import db
from app.models import Certificate, Certification, Course, Enrollment, User
from app.services import audit
from app.services.lifecycle import enrollment as enrollments
from app.services.lifecycle import issuing
from app.services.lifecycle.certificates import verify_url
from app.services.messaging import outbox

SOURCE = "renewal"


def due(now: datetime) -> list[int]:
    """Ids of certificates whose renewal window is open, of an auto re-enrolling certification, not yet
    handled, still the holder's latest cycle, not revoked and not expired, of an active account."""
    return list(db.session.scalars(
        select(Certificate.id).join(Certification, Certification.id == Certificate.certification_id)
        .join(User, User.id == Certificate.user_id)
        .where(Certification.auto_reenrol.is_(True), Certification.status == "active", User.active.is_(True),
               Certificate.reenrolled_at.is_(None), Certificate.revoked_at.is_(None),
               Certificate.renewal_opens_at.is_not(None), Certificate.renewal_opens_at <= now,
               Certificate.expires_at > now, ~Certificate.superseded())
        .order_by(Certificate.renewal_opens_at, Certificate.id)))


def reenrol_due(now: datetime | None = None) -> int:
    """The daily step: re-enrol the holder of every due certificate, once. Returns how many."""
    now = now or utcnow()
    count = 0
    for cert_id in due(now):
        claimed = db.session.execute(
            update(Certificate).where(Certificate.id == cert_id, Certificate.reenrolled_at.is_(None))
            .values(reenrolled_at=now).execution_options(synchronize_session=False))
        if claimed.rowcount != 1:
            continue  # another sweep took it
        cert = db.session.get(Certificate, cert_id, populate_existing=True)
        _reenrol(cert, now)
        count += 1
    return count


def _reenrol(cert: Certificate, now: datetime) -> None:
    holder = cert.user
    issuing.lock_learner(holder)  # completions for this learner wait: no half-reset state is evaluated
    courses: list[Course] = list(cert.certification.courses)
    existing = {e.course_id: e for e in db.session.scalars(
        select(Enrollment).options(joinedload(Enrollment.course))
        .where(Enrollment.user_id == holder.id, Enrollment.course_id.in_([c.id for c in courses])))}
    touched = []
    for course in courses:
        row = existing.get(course.id)
        if row is None:
            row = Enrollment(user_id=holder.id, course_id=course.id, source=SOURCE, status="enrolled")
            row.user, row.course = holder, course
            db.session.add(row)
            db.session.flush()
            enrollments.announce_created(row, actor="system", source=SOURCE)
        elif row.status in ("completed", "withdrawn"):
            row.status, row.progress = "enrolled", 0
            db.session.flush()
            audit.record("system", "enrollment.reopened", "enrollment", row.id,
                         f"{holder.email} re-enrolled in {course.code} to renew {cert.serial}", source=SOURCE)
        else:
            continue  # already enrolled or in progress
        touched.append(course)
    audit.record("system", "certificate.reenrolled", "certificate", cert.id,
                 f"{cert.serial}: renewal window open, {holder.email} re-enrolled in "
                 f"{', '.join(c.code for c in touched) or 'no course (already enrolled)'}",
                 serial=cert.serial, course_ids=[c.id for c in touched])
    if holder.active and holder.reminder_emails:
        name = (cert.snapshot or {}).get("certification_name") or cert.certification.name
        outbox.queue_email(holder.email, "recertification_enrolled", user_id=holder.id,
                           dedupe_key=f"reenrol:{cert.id}", subject=f"Renew your {name} certificate",
                           context={"name": holder.name, "certification": name, "serial": cert.serial,
                                    "expires_at": cert.expires_at, "verify_url": verify_url(cert),
                                    "courses": [f"{c.code} · {c.title}" for c in courses]})
