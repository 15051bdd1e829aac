"""Incoming completion webhooks at /hooks/in/<token>: signed with `standardwebhooks`, refused cleanly."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from standardwebhooks import Webhook

from app.connectors import signing
from app.extensions import db
from app.models import Certificate, Completion, User
from app.models.integration import IncomingReceipt, IntegrationLog
from app.services.integrations import registry


@pytest.fixture
def hook(catalog_one):
    integration, secret = registry.create("incoming", {"name": "LMS", "create_users": True}, actor="test")
    registry.set_active(integration, True, actor="test")
    db.session.commit()
    return integration, secret


def body_for(**data) -> str:
    payload = {
        "email": "new.person@example.com",
        "name": "New Person",
        "course_code": "FA-101",
        "score": 88,
        "completed_at": "2026-01-15T09:30:00Z",
        **data,
    }
    return json.dumps({"type": "completion.record", "timestamp": "2026-01-15T09:31:00Z", "data": payload})


def post(
    client,
    integration,
    secret,
    body: str,
    msg_id: str = "msg_1",
    when: datetime | None = None,
    headers: dict | None = None,
):
    when = when or datetime.now(UTC)
    signed = {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(when.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, when, body),
        "Content-Type": "application/json",
    }
    return client.post(
        f"/hooks/in/{integration.incoming_token}", data=body.encode(), headers={**signed, **(headers or {})}
    )


def counts() -> tuple[int, int, int, int]:
    db.session.commit()
    return tuple(
        db.session.scalar(select(func.count()).select_from(model))
        for model in (User, Completion, Certificate, IncomingReceipt)
    )


def test_good_completion_creates_the_learner_and_issues_a_certificate(client, hook):
    integration, secret = hook
    response = post(client, integration, secret, body_for())
    assert response.status_code == 200, response.json
    assert response.json["status"] == "processed" and response.json["learner_created"] is True
    (serial,) = response.json["certificates_issued"]
    cert = db.session.scalar(select(Certificate).where(Certificate.serial == serial))
    assert cert.user.email == "new.person@example.com"
    assert counts() == (1, 1, 1, 1)
    assert db.session.scalar(
        select(IntegrationLog.message).where(
            IntegrationLog.level == "info", IntegrationLog.message.like("Accepted%")
        )
    )


def test_replayed_id_is_refused_and_changes_nothing(client, hook):
    integration, secret = hook
    assert post(client, integration, secret, body_for()).status_code == 200
    before = counts()
    again = post(client, integration, secret, body_for(score=99, completed_at="2026-01-20T00:00:00Z"))
    assert again.status_code == 409 and again.json["error"] == "duplicate"
    assert counts() == before


def test_bad_signature_is_refused(client, hook):
    integration, _ = hook
    response = post(client, integration, signing.generate_secret(), body_for())
    assert response.status_code == 401
    assert response.json == {
        "error": "invalid_signature",
        "detail": "no matching v1 signature (wrong secret or modified body)",
    }
    assert counts() == (0, 0, 0, 0)
    assert db.session.scalar(
        select(IntegrationLog.message).where(IntegrationLog.level == "warning")
    ).startswith("Refused (401 invalid_signature)")


def test_stale_timestamp_is_refused(client, hook):
    integration, secret = hook
    response = post(client, integration, secret, body_for(), when=datetime.now(UTC) - timedelta(minutes=6))
    assert response.status_code == 401 and response.json["error"] == "stale_timestamp"
    assert counts() == (0, 0, 0, 0)


def test_malformed_body_is_refused(client, hook):
    integration, secret = hook
    response = post(client, integration, secret, '{"type": "completion.record", "data": {')
    assert response.status_code == 400 and response.json["error"] == "malformed_json"
    wrong = post(
        client,
        integration,
        secret,
        json.dumps({"type": "completion.record", "data": {"score": 500}}),
        msg_id="msg_2",
    )
    assert wrong.status_code == 422
    assert set(wrong.json["fields"]) == {"email", "course_code", "score"}
    assert counts() == (0, 0, 0, 0)


def test_unknown_course_is_refused(client, hook):
    integration, secret = hook
    response = post(client, integration, secret, body_for(course_code="NOPE-1"))
    assert response.status_code == 422 and response.json["error"] == "unknown_course"
    assert counts() == (0, 0, 0, 0)


def test_unknown_learner_without_creation_is_refused(client, hook):
    integration, secret = hook
    registry.update(integration, {"create_users": False}, actor="test")
    db.session.commit()
    response = post(client, integration, secret, body_for())
    assert response.status_code == 422 and response.json["error"] == "unknown_learner"
    assert counts() == (0, 0, 0, 0)


def test_enrollment_upsert_and_unknown_token(client, hook, learner):
    integration, secret = hook
    body = json.dumps(
        {
            "type": "enrollment.upsert",
            "data": {
                "email": learner.email,
                "course_code": "fa-101",
                "status": "in_progress",
                "progress": 40,
            },
        }
    )
    response = post(client, integration, secret, body)
    assert response.status_code == 200, response.json
    assert client.post("/hooks/in/not-a-token", data=body).status_code == 404


def test_github_style_signature(client, hook):
    integration, secret = hook
    registry.update(integration, {"signature_scheme": "github"}, actor="test")
    db.session.commit()
    body = body_for().encode()
    ok = client.post(
        f"/hooks/in/{integration.incoming_token}",
        data=body,
        headers={"X-Hub-Signature-256": signing.sign_github(body, secret), "X-GitHub-Delivery": "gh-1"},
    )
    assert ok.status_code == 200, ok.json
    bad = client.post(
        f"/hooks/in/{integration.incoming_token}",
        data=body,
        headers={"X-Hub-Signature-256": "sha256=" + "0" * 64, "X-GitHub-Delivery": "gh-2"},
    )
    assert bad.status_code == 401


def test_inactive_hook_is_refused(client, hook):
    integration, secret = hook
    registry.set_active(integration, False, actor="test")
    db.session.commit()
    assert post(client, integration, secret, body_for()).status_code == 403
