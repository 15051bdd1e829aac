"""REST API v1 (`/api/v1`): the blueprint `bp` and the modules that add its routes.

JSON in and out; errors are RFC 9457 problem+json; bearer tokens (or a browser session) authenticate.
See docs/api.md for the guide and /api/v1/openapi.json for the contract.
"""

from __future__ import annotations

from app.api import certificates, certifications, courses, enrollments, misc, users  # noqa: F401 (routes)
from app.api.base import bp

__all__ = ["bp"]
