"""Compliance jobs: tell the people a requirement just saved applies to (and enrol them), and enrol one
person in a Moodle course. The daily run (app/tasks/daily.py) covers anyone these miss: both idempotent."""

from __future__ import annotations

from app.database import utcnow
from app.extensions import db
from app.models import Course, Requirement, User
from app.services.compliance import notices
from app.services.integrations import moodle


def apply_requirement(requirement_id: int) -> dict:
    if db.session.get(Requirement, requirement_id) is None:
        return {"skipped": "requirement deleted"}
    sent = notices.send_required_notices(utcnow(), requirement_id)
    db.session.commit()
    return {"notified": sent}


def enrol_in_moodle(course_id: int, user_id: int) -> dict:
    course, user = db.session.get(Course, course_id), db.session.get(User, user_id)
    if course is None or user is None:
        return {"skipped": "course or person deleted"}
    outcome = moodle.enrol_learner(course, user)
    db.session.commit()  # the integration log line
    return {"moodle": outcome}
