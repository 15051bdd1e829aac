"""Training fixtures: a course with a certification that needs it, and a session factory."""

from __future__ import annotations

from datetime import timedelta

import pytest
from icalendar import Calendar

from app.database import utcnow
from app.extensions import db
from app.services.training import sessions
from tests.support.catalog_fixtures import make_certification, make_course  # noqa: F401 (fixtures)


@pytest.fixture
def course(make_course):  # noqa: F811 (the imported fixture)
    return make_course("FA-201", "First aid practical")


@pytest.fixture
def certification(make_certification, course):  # noqa: F811 (the imported fixture)
    return make_certification("First Aid Practical", [course])


@pytest.fixture
def make_session(course, admin):
    """make_session(capacity=2, starts_in=timedelta(days=3), **fields) -> TrainingSession (committed)."""

    def factory(capacity: int = 2, starts_in: timedelta = timedelta(days=3), hours: float = 2, **fields):
        start = (utcnow() + starts_in).replace(microsecond=0)
        values = {"course_id": course.id, "starts_at": start, "ends_at": start + timedelta(hours=hours),
                  "timezone": "Europe/Berlin", "location": "Training room 2", "capacity": capacity, **fields}
        session = sessions.create_session(values, actor=admin)
        db.session.commit()
        return session

    return factory


def invites(smtp_server, to: str) -> list[Calendar]:
    """The invite.ics attachments the real SMTP server received for `to`, parsed back, in order."""
    found = []
    for message in smtp_server.messages:
        if message["To"] != to:
            continue
        for part in message.iter_attachments():
            if part.get_filename() == "invite.ics":
                found.append(Calendar.from_ical(part.get_content() if isinstance(part.get_content(), str)
                                                else part.get_payload(decode=True)))
    return found


def event_of(calendar: Calendar):
    return next(component for component in calendar.walk("VEVENT"))
