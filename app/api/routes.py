"""REST API v1 (`/api/v1`): the blueprint `bp` and the modules that add its routes.

JSON in and out; errors are RFC 9457 problem+json; bearer tokens (or a browser session) authenticate.
See docs/api.md for the guide and /api/v1/openapi.json for the contract.
"""

from __future__ import annotations

from app.api import (  # noqa: F401 (each module adds its routes to `bp`)
    analytics,
    certificates,
    certifications,
    compliance,
    corrections,
    courses,
    credentials,
    deliveries,
    enrollments,
    evidence,
    integrations,
    misc,
    payments,
    pdf_copies,
    pdfs,
    sessions,
    users,
    verify,
)
from app.api.base import bp

__all__ = ["bp"]
