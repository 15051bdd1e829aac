"""A person with activity in every domain the erasure and the export must cover."""

from __future__ import annotations

import pytest

from app.extensions import db
from app.models import Passkey, PublicProfile, TotpFactor, UserIdentity
from app.services import audit, events
from app.services.accounts import tokens, users
from app.services.integrations import registry
from app.services.integrations.settings import EVENT_TYPES
from app.services.lifecycle import catalog, enrollment
from app.services.sharing import engagement, shares
from tests.support.certificates import at, captured_events, certification, issue  # noqa: F401
from tests.support.receiver import Receiver

NAME = "Zoë Quistgaard-Erasable"
EMAIL = "zoe.quistgaard@example.com"
SSO_EMAIL = "zq@idp.example.org"


@pytest.fixture
def receiver(app, monkeypatch):
    monkeypatch.setitem(app.config, "OUTGOING_ALLOW_PRIVATE", True)
    with Receiver() as rx:
        yield rx


@pytest.fixture
def webhook(receiver):
    """Every event goes to a real HTTP receiver (payloads of user.created etc. carry the person)."""
    hook, _ = registry.create("generic_webhook", {"name": "Out", "url": receiver.url,
                                                  "event_types": list(EVENT_TYPES)}, actor="test")
    registry.set_active(hook, True, actor="test")
    db.session.commit()
    return hook


@pytest.fixture
def course():
    course = catalog.create_course({"code": "FA-201", "title": "First aid advanced"}, actor="test")
    catalog.create_certification(
        {"name": "First Aid Level 3", "status": "active", "course_ids": [course.id], "validity_months": 24,
         "renewal_window_days": 90, "reminder_days": "30", "issuer_name": "Laurel Academy"}, actor="test")
    db.session.commit()
    return course


@pytest.fixture
def busy_person(make_user, admin, course, login_as, jobs):
    """The person, with an enrollment and completion, a certificate with its PDF (rendered by the real
    job) and its issued mail, a public share and one by email, engagement, a live session, an API token,
    an SSO link, second factors, a public profile, audit rows as actor and as subject, bell notifications."""
    person = make_user("learner", email=EMAIL, name=NAME, department="Nursing")
    enrollment.record_completion(person, course, score=91, completed_at=at(2026, 1, 9), actor=admin)
    db.session.commit()
    jobs()
    cert = person_cert(person)
    assert cert.pdf_key, cert.pdf_error
    client = login_as(person)  # a session row with IP and device
    assert client.get("/profile").status_code == 200
    shares.set_public(cert, True, actor=person)
    shares.share_by_email(cert, "friend@example.org", f"From {NAME}", actor=person)
    engagement.record(cert.id, "view")
    tokens.create_token(person, "My laptop", actor=person)
    db.session.add_all([
        UserIdentity(user_id=person.id, provider_key="oidc:abc", subject="sub-123", email=SSO_EMAIL),
        TotpFactor(user_id=person.id, secret_encrypted="not-a-real-secret"),
        Passkey(user_id=person.id, name="Phone", credential_id="cred-1", public_key=b"k", user_handle="h-1"),
        PublicProfile(user_id=person.id, handle="zoeq", headline=f"{NAME}, nurse"),
    ])
    events.emit("user.created", users.user_data(person))  # a webhook payload with name and email
    audit.record(admin, "user.updated", "user", person.id, f"{NAME} <{EMAIL}> moved to Nursing",
                 email=EMAIL, name=NAME)
    db.session.commit()
    jobs()  # mail and webhook deliveries
    person.client = client
    return person


def person_cert(person):
    from sqlalchemy import select

    from app.models import Certificate
    return db.session.scalar(select(Certificate).where(Certificate.user_id == person.id))
