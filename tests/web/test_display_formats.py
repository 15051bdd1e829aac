"""Issue 12 "consistency": no page shows a raw ISO date/time, a 12-hour time or a score like "88.0".

Every HTML page without path parameters, and the detail pages of seeded objects, are rendered as the
admin (and the learner pages as a learner) on the demo data; the visible text (tags, scripts, <code>
and <pre> examples removed; attributes such as <time datetime> and date-input values are machine formats
and stay ISO) must use the formats of app/rules/display.py.
"""

from __future__ import annotations

import re
from html import unescape

from sqlalchemy import select

from app import demo
from app.extensions import db
from app.models import Certificate, Certification, Course, Enrollment, User
from app.services.messaging import notifications

RAW_ISO = re.compile(r"(?<![\w-])\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2})?)?(?![\w-])")
TRAILING_ZERO = re.compile(r"(?<![\d.])\d+\.0(?![\d.])")
TWELVE_HOUR = re.compile(r"\b\d{1,2}:\d{2}(?::\d{2})?\s?(?:AM|PM|am|pm)\b")
SKIPPED = re.compile(r"<(script|style|code|pre|textarea)\b.*?</\1>", re.S | re.I)
NOT_PAGES = ("static", "api.", "hooks.", "accounts.logout", "verify.lookup_json")


def visible_text(html: str) -> str:
    text = SKIPPED.sub(" ", html)
    text = re.sub(r"<[^>]+>", " ", text)
    return unescape(text)


def problems(html: str) -> list[str]:
    text = visible_text(html)
    found = [*RAW_ISO.findall(text), *TRAILING_ZERO.findall(text), *TWELVE_HOUR.findall(text)]
    return sorted(set(found))


def _pages(app) -> list[str]:
    urls = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.arguments or rule.endpoint.startswith(NOT_PAGES):
            continue
        urls.append(rule.rule)
    first = {model: db.session.scalar(select(model.id).order_by(model.id)) for model in
             (Certificate, Certification, Course, Enrollment, User)}
    revoked = db.session.scalar(select(Certificate).where(Certificate.revoked_at.is_not(None)))
    urls += [f"/certificates/{first[Certificate]}", f"/certificates/{revoked.id}",
             f"/certifications/{first[Certification]}", f"/courses/{first[Course]}/enrollments",
             f"/learners/{first[User]}", f"/verify/{revoked.code}",
             f"/enrollments/{first[Enrollment]}/row", f"/enrollments/{first[Enrollment]}/edit",
             f"/certifications/{first[Certification]}/edit"]
    return urls


def test_no_page_shows_raw_iso_dates_or_x_dot_zero_scores(app, login_as):
    demo.seed()
    db.session.commit()
    admin = db.session.scalar(select(User).where(User.role == "admin").order_by(User.id))
    learner = db.session.scalar(select(User).where(User.email.like("learner@%")))
    cert = db.session.scalar(select(Certificate).where(Certificate.user_id == learner.id)) or \
        db.session.scalar(select(Certificate))
    notifications.create(learner.id, "info", "A note", "Body", "/")
    db.session.commit()
    checked, bad = 0, {}
    for who, urls in ((admin, _pages(app)), (learner, ["/", "/my/certificates", "/notifications",
                                                       f"/verify/{cert.code}", "/profile"])):
        client = login_as(who, password=demo.DEMO_PASSWORD)
        for url in urls:
            answer = client.get(url)
            if answer.status_code != 200 or answer.mimetype != "text/html":
                continue
            checked += 1
            found = problems(answer.get_data(as_text=True))
            if found:
                bad[url] = found
    assert checked >= 20, checked
    assert not bad, bad


def test_the_checker_catches_what_it_should():
    assert problems("<td>2026-12-02</td><td>88.0</td><td>2:05 PM</td>") == ["2026-12-02", "2:05 PM", "88.0"]
    assert problems('<time datetime="2026-12-02T14:05:00">2 Dec 2026, 14:05 UTC</time> 88.5 '
                    '<code>2026-03-01</code> LAU-2026-000123 htmx 2.0.8') == []
