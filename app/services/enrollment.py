"""Enrollments and completions. A completion runs issuing.evaluate for the learner."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select

from app.models import Certificate, Course, Enrollment, User
from app.services import audit


def enrollment_data(enrollment: Enrollment) -> dict:
    """Public shape: {id, user_id, course_id, status, progress, score, completed_at (ISO 8601 UTC)}."""
    raise NotImplementedError


def enrollment_query(course_id: int | None = None, user_id: int | None = None, status: str = "",
                     search: str = "") -> Select:
    """A select of enrollments (joined to user for `search` on name/email), newest first."""
    raise NotImplementedError


def enroll(user: User, course: Course, *, actor: audit.Actor, source: str = "manual") -> Enrollment:
    """Enroll a learner. ValidationError for a duplicate, a full course or an archived course."""
    raise NotImplementedError


def enroll_many(user_ids: list[int], course: Course, *,
                actor: audit.Actor) -> tuple[list[Enrollment], dict[int, str]]:
    """Enroll several learners; returns (created enrollments, {user_id: error message})."""
    raise NotImplementedError


def update_enrollment(enrollment: Enrollment, fields: dict, *, actor: audit.Actor,
                      source: str = "manual") -> list[Certificate]:
    """Change status/progress/score/completed_at (only given keys). Becoming completed records a
    Completion and runs issuing.evaluate; returns the newly issued certificates."""
    raise NotImplementedError


def record_completion(user: User, course: Course, *, score: float | None = None,
                      completed_at: datetime | None = None, actor: audit.Actor,
                      source: str = "manual") -> list[Certificate]:
    """Record a completion from any source (CSV, API, webhook, Moodle), enrolling if needed.

    Idempotent: the same (enrollment, completed_at) twice is one Completion. Returns new certificates.
    """
    raise NotImplementedError


def withdraw(enrollment: Enrollment, *, actor: audit.Actor) -> None:
    """Set the enrollment to withdrawn (its completions no longer count)."""
    raise NotImplementedError
