"""Certificate fixtures shared by the sharing, messaging and lifecycle test packages (import them into a
conftest): `certification` (First Aid Level 2), `issue(user, when=...)`, `captured_events`, and the
`at` / `of_type` helpers."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.extensions import db
from app.services.lifecycle import catalog, issuing


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def certification():
    """First Aid Level 2: 24 months, renewal window 90 days, reminders 90, 30 and 7 days before expiry."""
    course = catalog.create_course({"code": "FA-101", "title": "First aid basics"}, actor="test")
    db.session.flush()
    cert = catalog.create_certification(
        {"name": "First Aid Level 2", "status": "active", "course_ids": [course.id], "validity_months": 24,
         "renewal_window_days": 90, "reminder_days": "90, 30, 7", "issuer_name": "Laurel Academy"},
        actor="test")
    db.session.commit()
    return cert


@pytest.fixture
def issue(certification):
    """issue(user, when=at(...), renewed_from=None) -> Certificate (committed)."""

    def factory(user, when: datetime | None = None, renewed_from=None, certification_=None):
        row = issuing.issue(user, certification_ or certification, actor="test", note="test issue",
                            renewed_from=renewed_from, now=when or at(2026, 1, 10, 9))
        db.session.commit()
        return row

    return factory


_seen: list = []


def _collect(event) -> None:
    _seen.append(event)


@pytest.fixture
def captured_events():
    """Every lifecycle event emitted during the test, in order."""
    from app.services import events

    events.subscribe("*")(_collect)
    _seen.clear()
    yield _seen
    _seen.clear()


def of_type(seen: list, event_type: str) -> list:
    return [e for e in seen if e.type == event_type]
