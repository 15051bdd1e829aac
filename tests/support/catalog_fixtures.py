"""Catalog fixtures shared by the lifecycle test packages (import them into a conftest).

make_course / make_certification build rows through the services, as the app does; first_aid is the
issue's example certification.
"""

from __future__ import annotations

import pytest

from app.extensions import db
from app.services.lifecycle import catalog


@pytest.fixture
def make_course():
    def factory(code: str, title: str | None = None, **fields):
        course = catalog.create_course({"code": code, "title": title or f"Course {code}", **fields},
                                       actor="test")
        db.session.commit()
        return course

    return factory


@pytest.fixture
def make_certification():
    def factory(name: str, courses=(), status: str = "active", **fields):
        cert = catalog.create_certification(
            {"name": name, "status": status, "course_ids": [c.id for c in courses], **fields}, actor="test")
        db.session.commit()
        return cert

    return factory


@pytest.fixture
def first_aid(make_course, make_certification):
    """First Aid Level 2 = FA-101 + FA-102, min score 70, valid 24 months, renewal window 90 days."""
    fa101 = make_course("FA-101", "First aid basics", category="Safety")
    fa102 = make_course("FA-102", "CPR and AED", category="Safety")
    cert = make_certification("First Aid Level 2", [fa101, fa102], min_score=70, validity_months=24,
                              renewal_window_days=90, reminder_days="90, 30, 7", issuer_name="Laurel Academy",
                              signatory_name="Dr. Jane Roe", signatory_title="Director")
    return cert, fa101, fa102
