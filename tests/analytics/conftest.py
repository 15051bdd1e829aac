"""A small, hand-counted world for the analytics figures (see `world` for every number the tests expect).

Rows are inserted directly with fixed dates so each figure can be worked out by hand; "now" is NOW.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import pytest

from app.extensions import db
from app.models import (
    Certificate,
    Certification,
    Completion,
    Course,
    EngagementCounter,
    Enrollment,
    User,
    certification_courses,
)

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@dataclass
class World:
    users: dict[str, User] = field(default_factory=dict)
    courses: dict[str, Course] = field(default_factory=dict)
    certifications: dict[str, Certification] = field(default_factory=dict)
    certificates: dict[int, Certificate] = field(default_factory=dict)


def _certificate(world: World, n: int, user: str, cert: str, issued: datetime,
                 expires: datetime | None = None, opens: datetime | None = None,
                 revoked: datetime | None = None) -> None:
    row = Certificate(serial=f"LAU-TEST-{n:04d}", code=secrets.token_urlsafe(16),
                      user_id=world.users[user].id, certification_id=world.certifications[cert].id,
                      issued_at=issued, expires_at=expires, renewal_opens_at=opens, revoked_at=revoked,
                      revoke_reason="test" if revoked else None, snapshot={})
    db.session.add(row)
    world.certificates[n] = row


def _enrol(world: World, user: str, course: str, status: str, created: datetime,
           completed: datetime | None = None, score: float | None = None) -> None:
    enrollment = Enrollment(user_id=world.users[user].id, course_id=world.courses[course].id, status=status,
                            score=score, completed_at=completed, created_at=created,
                            progress=100 if completed else 10)
    db.session.add(enrollment)
    db.session.flush()
    if completed:
        db.session.add(Completion(enrollment_id=enrollment.id, user_id=enrollment.user_id,
                                  course_id=enrollment.course_id, completed_at=completed, score=score))


@pytest.fixture
def world(make_user) -> World:
    """People: ann, ben (Nursing), cat (Engineering), dan (no department); admin; staff.
    Courses: FA-101, FA-102 (Safety), DP-110 (Compliance), LD-300 (no category).
    Certifications: First Aid = FA-101 + FA-102; Data Protection = DP-110; Mixed = DP-110 + LD-300.

    Certificates (NOW = 2026-06-15 12:00 UTC)           status     expiry window
      1 ann First Aid        2026-01-10                 valid
      2 ben First Aid        2026-02-05                 expiring   30 (2026-07-01)
      3 cat First Aid        2025-05-20                 expired
      4 ann Data Protection  2026-03-15 (never expires) valid
      5 cat Data Protection  2026-03-20, revoked 04-01  revoked
      6 dan Mixed            2026-06-01                 expiring   60 (2026-08-10)
      7 ben Data Protection  2025-12-31 23:30           expiring   90 (2026-09-10)
      8 ann Mixed            2026-06-10                 valid
    """
    w = World()
    w.users["admin"] = make_user("admin", email="admin@example.com", name="Ada Admin",
                                 department="Administration")
    w.users["staff"] = make_user("staff", email="staff@example.com", name="Sam Staff")
    w.users["ann"] = make_user("learner", email="ann@example.com", name="Ann Archer", department="Nursing")
    w.users["ben"] = make_user("learner", email="ben@example.com", name="Ben Bose", department="Nursing")
    w.users["cat"] = make_user("learner", email="cat@example.com", name="Cat Chen", department="Engineering")
    w.users["dan"] = make_user("learner", email="dan@example.com", name="Dan Dahl")
    for code, category in (("FA-101", "Safety"), ("FA-102", "Safety"), ("DP-110", "Compliance"),
                           ("LD-300", None)):
        w.courses[code] = Course(code=code, title=f"Course {code}", category=category)
        db.session.add(w.courses[code])
    for name, codes in (("First Aid", ("FA-101", "FA-102")), ("Data Protection", ("DP-110",)),
                        ("Mixed", ("DP-110", "LD-300"))):
        w.certifications[name] = Certification(name=name, status="active")
        db.session.add(w.certifications[name])
        db.session.flush()
        db.session.execute(certification_courses.insert(), [
            {"certification_id": w.certifications[name].id, "course_id": w.courses[c].id} for c in codes])
    _certificate(w, 1, "ann", "First Aid", at(2026, 1, 10), at(2028, 1, 10), at(2027, 10, 12))
    _certificate(w, 2, "ben", "First Aid", at(2026, 2, 5), at(2026, 7, 1), at(2026, 4, 2))
    _certificate(w, 3, "cat", "First Aid", at(2025, 5, 20), at(2026, 5, 20), at(2026, 2, 19))
    _certificate(w, 4, "ann", "Data Protection", at(2026, 3, 15))
    _certificate(w, 5, "cat", "Data Protection", at(2026, 3, 20), revoked=at(2026, 4, 1))
    _certificate(w, 6, "dan", "Mixed", at(2026, 6, 1), at(2026, 8, 10), at(2026, 5, 12))
    _certificate(w, 7, "ben", "Data Protection", at(2025, 12, 31, 23, 30), at(2026, 9, 10), at(2026, 6, 12))
    _certificate(w, 8, "ann", "Mixed", at(2026, 6, 10), at(2027, 6, 10), at(2027, 3, 12))
    db.session.flush()
    # Enrolments (created dates) and completions with scores.
    _enrol(w, "ann", "FA-101", "completed", at(2025, 12, 1), at(2026, 1, 5), 90)
    _enrol(w, "ann", "FA-102", "completed", at(2025, 12, 1), at(2026, 1, 8), 80)
    _enrol(w, "ann", "DP-110", "completed", at(2026, 3, 1), at(2026, 3, 10), 70)
    _enrol(w, "ann", "LD-300", "completed", at(2026, 5, 1), at(2026, 6, 5), None)
    _enrol(w, "ben", "FA-101", "completed", at(2026, 1, 10), at(2026, 2, 1), 60)
    _enrol(w, "ben", "FA-102", "completed", at(2026, 1, 10), at(2026, 2, 3), 100)
    _enrol(w, "ben", "DP-110", "completed", at(2025, 12, 1), at(2025, 12, 20), 85)
    _enrol(w, "cat", "FA-101", "in_progress", at(2026, 4, 1))
    _enrol(w, "cat", "DP-110", "completed", at(2026, 3, 1), at(2026, 3, 18), 50)
    _enrol(w, "dan", "DP-110", "withdrawn", at(2026, 2, 1))
    _enrol(w, "dan", "LD-300", "enrolled", at(2026, 5, 20))
    # Engagement counters (certificate, kind, day, count).
    for n, kind, day, count in ((1, "view", date(2026, 1, 15), 5), (1, "download", date(2026, 1, 20), 2),
                                (2, "view", date(2026, 2, 10), 3), (4, "share", date(2026, 3, 16), 1),
                                (6, "linkedin", date(2026, 6, 2), 4), (3, "view", date(2025, 6, 1), 7)):
        db.session.add(EngagementCounter(certificate_id=w.certificates[n].id, kind=kind, day=day,
                                         count=count))
    db.session.commit()
    return w


@pytest.fixture
def frozen():
    """Travel to NOW for code that reads the clock itself (views, API)."""
    import time_machine

    with time_machine.travel(NOW) as traveller:
        yield traveller


@pytest.fixture(autouse=True)
def whole_page_inline(app, monkeypatch):
    """These tests read every figure off one page response: give the page all the time it needs (the lazy
    loading of figures past the budget has its own tests, in test_cache.py)."""
    monkeypatch.setitem(app.config, "ANALYTICS_INLINE_BUDGET_MS", 60_000)
