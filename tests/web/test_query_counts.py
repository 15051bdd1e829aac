"""Pages flat in data size: every list and detail page in the navigation runs the SAME number of SQL
statements with 2 rows as with 20 (no N+1: eager loading, counters, set-based aggregates).

One data set grows from 2 to 20 of everything (learners, courses, certifications with courses and
prerequisites, enrollments, completions, certificates, audit events, notifications); each page is
requested twice (the first warms caches) and the second request's statements are counted with a
`before_cursor_execute` listener on the engine.

/analytics/ is not here: it computes figures while a time budget lasts (the rest load with htmx), so its
count depends on the machine's speed; its figures are cached (tests/analytics).
"""

from __future__ import annotations

from app.extensions import db
from app.services.lifecycle import catalog, enrollment, issuing

# (who, path template): {course}, {certification}, {certificate}, {learner} are filled from the data.
PAGES = [
    ("admin", "/"),
    ("admin", "/dashboard/tiles"),
    ("admin", "/courses"),
    ("admin", "/certifications"),
    ("admin", "/certifications/{certification}"),
    ("admin", "/enrollments"),
    ("admin", "/courses/{course}/enrollments"),
    ("admin", "/certificates"),
    ("admin", "/certificates/{certificate}"),
    ("admin", "/learners/{learner}"),
    ("admin", "/admin/users"),
    ("admin", "/admin/audit"),
    ("admin", "/admin/mail"),
    ("admin", "/admin/templates"),
    ("admin", "/integrations/"),
    ("admin", "/notifications"),
    ("learner", "/"),
    ("learner", "/me/certificates"),
    ("learner", "/notifications"),
]


class Data:
    """Grows to n of everything; `busy` is the learner who holds one of each (the detail pages)."""

    def __init__(self, make_user) -> None:
        self.make_user = make_user
        self.courses: list = []
        self.certifications: list = []
        self.learners: list = []
        self.busy = make_user("learner", email="busy@example.com", name="Busy Learner")

    def grow_to(self, n: int) -> None:
        while len(self.courses) < n:
            i = len(self.courses)
            first = catalog.create_course({"code": f"C-{i}a", "title": f"Course {i}a"}, actor="test")
            second = catalog.create_course({"code": f"C-{i}b", "title": f"Course {i}b"}, actor="test")
            db.session.flush()
            prerequisites = [self.certifications[-1].id] if self.certifications else []
            certification = catalog.create_certification(
                {"name": f"Certification {i}", "status": "active", "course_ids": [first.id, second.id],
                 "prerequisite_ids": prerequisites, "validity_months": 24}, actor="test")
            learner = self.make_user("learner", email=f"learner{i}@example.com", name=f"Learner {i}")
            db.session.flush()
            self.courses.append(first)
            self.certifications.append(certification)
            self.learners.append(learner)
            # Every learner in the first course; the busy learner in every course, with a certificate each.
            enrollment.enroll(learner, self.courses[0], actor="test")
            enrollment.enroll(self.busy, first, actor="test")
            enrollment.record_completion(self.busy, first, score=90, actor="test")
            issuing.issue(self.busy, certification, actor="test", note="query counts")
            issuing.issue(learner, self.certifications[0], actor="test", note="query counts")
            db.session.commit()

    def values(self) -> dict:
        from app.models import Certificate

        certificate = db.session.scalar(db.select(Certificate).where(Certificate.user_id == self.busy.id)
                                        .order_by(Certificate.id))
        return {"course": self.courses[0].id, "certification": self.certifications[-1].id,
                "certificate": certificate.id, "learner": self.busy.id}


def _counts(clients: dict, data: Data, statements: list) -> dict[str, tuple[int, int]]:
    values, counts = data.values(), {}
    for who, template in PAGES:
        path = template.format(**values)
        clients[who].get(path)  # warm: first-request caches, lazy imports
        statements.clear()
        status = clients[who].get(path).status_code
        counts[f"{who} {template}"] = (len(statements), status)
    return counts


def test_every_navigation_page_runs_a_constant_number_of_statements(login_as, admin, make_user, statements):
    data = Data(make_user)
    data.grow_to(2)
    clients = {"admin": login_as(admin), "learner": login_as(data.busy)}
    small = _counts(clients, data, statements)
    data.grow_to(20)
    big = _counts(clients, data, statements)
    assert {page: status for page, (_, status) in big.items() if status != 200} == {}
    grows = {page: (small[page][0], count) for page, (count, _) in big.items() if count != small[page][0]}
    assert grows == {}, f"statements per request grow with the data (2 rows -> 20 rows): {grows}"
