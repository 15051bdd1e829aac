"""Fixtures for the lifecycle pages: a small catalog built through the services, certificates in each
status, and helpers for htmx requests."""

from __future__ import annotations

from datetime import timedelta

import pytest
from dateutil.relativedelta import relativedelta

from app.database import utcnow
from app.extensions import db
from app.services import catalog, enrollment

HX = {"HX-Request": "true"}


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


@pytest.fixture
def earn(first_aid):
    """earn(user, age=timedelta(0)) -> the First Aid certificate, issued `age` ago through completions."""

    def do(user, age: timedelta | relativedelta = timedelta(0)):
        _, fa101, fa102 = first_aid
        when = utcnow() - age
        enrollment.record_completion(user, fa101, score=80, completed_at=when - timedelta(hours=2),
                                     actor="test", now=when)
        issued = enrollment.record_completion(user, fa102, score=90, completed_at=when - timedelta(hours=1),
                                              actor="test", now=when)
        db.session.commit()
        assert len(issued) == 1
        return issued[0]

    return do


def post(client, url: str, data: dict | None = None, htmx: bool = True, **kwargs):
    """A POST with the client's CSRF token (as a header, like htmx sends it)."""
    headers = {"X-CSRFToken": client.csrf_token, **(HX if htmx else {})}
    return client.post(url, data=data or {}, headers=headers, **kwargs)
