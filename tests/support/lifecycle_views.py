"""Fixtures for the lifecycle pages: a small catalog built through the services, certificates in each
status, and helpers for htmx requests."""

from __future__ import annotations

from datetime import timedelta

import pytest
from dateutil.relativedelta import relativedelta

from app.database import utcnow
from app.extensions import db
from app.services.lifecycle import enrollment
from tests.support.catalog_fixtures import first_aid, make_certification, make_course  # noqa: F401

HX = {"HX-Request": "true"}


@pytest.fixture
def earn(first_aid):  # noqa: F811 (the fixture imported above)
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
