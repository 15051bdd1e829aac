"""Dashboard figures, computed with SQL aggregates."""

from __future__ import annotations

from datetime import datetime

from app.models import AuditEvent, Certificate


def dashboard_tiles(now: datetime | None = None) -> dict:
    """{certificates_valid (valid + expiring), active_certifications, learners (active learner accounts),
    completion_rate (completed / non-withdrawn enrollments, percent, one decimal), issued_this_month,
    expiring_30_days (valid or expiring, expiring within 30 days)}."""
    raise NotImplementedError


def recent_activity(limit: int = 15) -> list[AuditEvent]:
    """Latest lifecycle audit events (certificates, enrollments, catalog), newest first."""
    raise NotImplementedError


def expiring_soon(days: int = 30, limit: int = 10, now: datetime | None = None) -> list[Certificate]:
    """Non-revoked certificates expiring within `days`, soonest first (user and certification loaded)."""
    raise NotImplementedError
