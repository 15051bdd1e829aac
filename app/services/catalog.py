"""The catalog: courses and certifications (programs), with their validation rules."""

from __future__ import annotations

from sqlalchemy import Select

from app.models import Certification, Course
from app.services import audit


def course_data(course: Course) -> dict:
    """Public shape of a course: {id, code, title, category, description, capacity, starts_on (ISO date),
    ends_on, archived}."""
    raise NotImplementedError


def course_query(search: str = "", category: str = "", include_archived: bool = False) -> Select:
    """A select of courses ordered by code; `search` matches code or title (case-insensitive)."""
    raise NotImplementedError


def categories() -> list[str]:
    """Distinct non-empty course categories, sorted."""
    raise NotImplementedError


def create_course(fields: dict, *, actor: audit.Actor) -> Course:
    """Create a course from {code, title, category, description, capacity, starts_on, ends_on}.

    Values may be strings (forms) or typed (API). Raises ValidationError with a field map.
    """
    raise NotImplementedError


def update_course(course: Course, fields: dict, *, actor: audit.Actor) -> Course:
    """Change only the keys given (partial update). Raises ValidationError."""
    raise NotImplementedError


def delete_course(course: Course, *, actor: audit.Actor) -> None:
    """Delete a course; NotAllowed when it has enrollments or is required by a certification."""
    raise NotImplementedError


def set_course_archived(course: Course, archived: bool, *, actor: audit.Actor) -> None:
    """Archive (no new enrollments) or restore a course."""
    raise NotImplementedError


def certification_data(cert: Certification) -> dict:
    """Public shape: {id, name, description, status, course_ids, min_score, prerequisite_ids,
    validity_months, renewal_window_days, reminder_days, issuer_name, signatory_name, signatory_title}."""
    raise NotImplementedError


def certification_query(search: str = "", status: str = "") -> Select:
    """A select of certifications ordered by name; `search` matches the name."""
    raise NotImplementedError


def create_certification(fields: dict, *, actor: audit.Actor) -> Certification:
    """Create a certification. `fields` keys as in certification_data (course_ids and prerequisite_ids are
    lists of ids; reminder_days a list or "90, 30, 7"). Emits certification.created."""
    raise NotImplementedError


def update_certification(cert: Certification, fields: dict, *, actor: audit.Actor) -> Certification:
    """Partial update (only given keys). Refuses prerequisite cycles. Emits certification.updated."""
    raise NotImplementedError


def delete_certification(cert: Certification, *, actor: audit.Actor) -> None:
    """Delete a certification; NotAllowed once certificates exist ("archive it instead")."""
    raise NotImplementedError
