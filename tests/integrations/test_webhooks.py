"""Outgoing webhooks end to end: lifecycle change -> RQ job -> real receiver, checked by standardwebhooks."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, text
from standardwebhooks import Webhook

from app.database import utcnow
from app.extensions import db
from app.models import Completion
from app.models.integration import Integration, IntegrationLog, WebhookDelivery, WebhookEvent
from app.services.errors import ValidationError
from app.services.integrations import registry, webhooks
from app.services.lifecycle import enrollment
from app.tasks.sweep import recover_stuck_work
from tests.integrations.conftest import run_scheduled
from tests.support.receiver import Reply


def verified(secret: str, recorded) -> dict:
    """Verify one received request with the reference library; return the parsed payload."""
    return Webhook(secret).verify(recorded.body, dict(recorded.headers))


def complete(learner, course) -> None:
    enrollment.record_completion(
        learner, course, score=90, completed_at=utcnow() - timedelta(hours=1), actor="test"
    )
    db.session.commit()


def fresh() -> None:
    """End the test's read transaction: the worker committed in its own session."""
    db.session.commit()
    db.session.expire_all()


def delivery() -> WebhookDelivery:
    fresh()
    return db.session.scalars(select(WebhookDelivery)).one()


def test_issued_certificate_is_delivered_signed(receiver, make_webhook, catalog_one, learner, jobs):
    cert, course = catalog_one
    integration, secret = make_webhook(
        receiver.url_for("/hook"), events=["certificate.issued", "enrollment.completed"]
    )
    complete(learner, course)
    jobs()
    received = receiver.wait_for(2)
    payloads = {p["type"]: p for p in (verified(secret, r) for r in received)}
    issued = payloads["certificate.issued"]
    assert issued["data"]["certification"] == {"id": cert.id, "name": "First Aid"}
    assert issued["data"]["user"]["email"] == learner.email
    assert issued["data"]["serial"].startswith("LAU-")
    assert issued["timestamp"].endswith("Z")
    assert payloads["enrollment.completed"]["data"]["course"]["code"] == "FA-101"
    rows = db.session.scalars(select(WebhookDelivery)).all()
    assert {r.status for r in rows} == {"delivered"}
    assert all(r.request_headers["webhook-id"] == r.event_id for r in rows)
    assert {r.headers["webhook-id"] for r in received} == {r.event_id for r in rows}
    assert db.session.get(Integration, integration.id).last_success_at is not None


def test_500_then_200_is_delivered_on_retry_with_the_same_id(
    app, receiver, make_webhook, catalog_one, learner, jobs
):
    _, course = catalog_one
    _, secret = make_webhook(receiver.url_for("/hook"))
    receiver.script(500, 200)
    complete(learner, course)
    jobs()
    row = delivery()
    assert (row.status, row.attempt, row.response_status) == ("failed", 1, 500)
    assert (
        timedelta(seconds=3) < row.next_attempt_at - row.last_attempt_at < timedelta(seconds=7)
    )  # 5 s +-20%
    assert run_scheduled(app, seconds_ahead=10) == 1
    jobs()
    first, second = receiver.wait_for(2)
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert verified(secret, first) == verified(secret, second)
    row = delivery()
    assert (row.status, row.attempt, row.response_status) == ("delivered", 2, 200)
    assert db.session.get(Integration, row.integration_id).failing_since is None


def test_retry_after_is_honoured(receiver, make_webhook, catalog_one, learner, jobs):
    _, course = catalog_one
    make_webhook(receiver.url_for("/hook"))
    receiver.script(Reply(429, headers={"Retry-After": "120"}))
    complete(learner, course)
    jobs()
    row = delivery()
    assert row.status == "failed"
    assert row.next_attempt_at - row.last_attempt_at >= timedelta(seconds=119)


def test_410_disables_the_endpoint_and_tells_the_admins(
    receiver, make_webhook, catalog_one, learner, admin, jobs, smtp_server
):
    _, course = catalog_one
    integration, _ = make_webhook(receiver.url_for("/hook"))
    receiver.script(410)
    complete(learner, course)
    jobs()
    fresh()
    integration = db.session.get(Integration, integration.id)
    assert not integration.active and "410" in integration.disabled_reason
    assert delivery().status == "gave_up"
    assert admin_mail(smtp_server, admin)


def admin_mail(smtp_server, admin, timeout: float = 10):
    """The "integration disabled" mail to the admin (the learner may get a certificate mail too)."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [m for m in smtp_server.messages if m["To"] == admin.email and "disabled" in m["Subject"]]
        if found:
            return found[0]
        time.sleep(0.05)
    raise AssertionError("no 'integration disabled' mail to the admin")


def test_failing_for_five_days_disables(
    receiver, make_webhook, catalog_one, learner, admin, jobs, smtp_server
):
    _, course = catalog_one
    integration, _ = make_webhook(receiver.url_for("/hook"))
    integration.failing_since = utcnow() - timedelta(days=5, minutes=1)
    db.session.commit()
    receiver.script(503)
    complete(learner, course)
    jobs()
    fresh()
    integration = db.session.get(Integration, integration.id)
    assert not integration.active and "5 days" in integration.disabled_reason
    assert "5 days" in admin_mail(smtp_server, admin).get_body(("plain",)).get_content()


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/hook",
        "http://10.1.2.3/hook",
        "http://169.254.169.254/latest",
        "http://[::1]:9/hook",
        "http://2130706433/hook",
    ],
)
def test_private_targets_are_refused_by_default(url):
    with pytest.raises(ValidationError) as caught:
        registry.create(
            "generic_webhook", {"name": "x", "url": url, "event_types": ["ping"]}, actor="test"
        )
    assert "non-public" in caught.value.errors["url"]


def test_delivery_to_loopback_is_refused_at_send_time(
    app, receiver, make_webhook, catalog_one, learner, jobs, monkeypatch
):
    _, course = catalog_one
    make_webhook(receiver.url_for("/hook"))
    monkeypatch.setitem(app.config, "OUTGOING_ALLOW_PRIVATE", False)  # e.g. the setting was turned off later
    complete(learner, course)
    jobs()
    row = delivery()
    assert row.status == "failed" and row.last_error.startswith("Refused")
    assert receiver.requests == []


def test_redeliver_one_and_replay_failed_since(
    app, receiver, make_webhook, catalog_one, learner, make_user, jobs
):
    _, course = catalog_one
    integration, secret = make_webhook(receiver.url_for("/hook"), events=["enrollment.completed"])
    receiver.default = Reply(500)
    complete(learner, course)
    complete(make_user("learner"), course)
    jobs()
    fresh()
    assert {r.status for r in db.session.scalars(select(WebhookDelivery))} == {"failed"}
    receiver.default = Reply(200)
    since = utcnow() - timedelta(minutes=5)
    assert webhooks.replay_failed(db.session.get(Integration, integration.id), since, actor="test") == 2
    db.session.commit()
    jobs()
    fresh()
    assert {r.status for r in db.session.scalars(select(WebhookDelivery))} == {"delivered"}
    row = db.session.scalars(select(WebhookDelivery)).first()
    webhooks.redeliver(row, actor="test")
    db.session.commit()
    jobs()
    last = receiver.requests[-1]
    assert (
        last.headers["webhook-id"] == row.event_id
        and verified(secret, last)["type"] == "enrollment.completed"
    )
    assert delivery_count_for(row.event_id) == 1


def delivery_count_for(event_id: str) -> int:
    return len(db.session.scalars(select(WebhookDelivery).where(WebhookDelivery.event_id == event_id)).all())


def test_lost_jobs_are_recovered_by_the_sweep(app, receiver, make_webhook, catalog_one, learner, jobs):
    from app.queue import get_redis

    _, course = catalog_one
    make_webhook(receiver.url_for("/hook"))
    complete(learner, course)
    get_redis().flushdb()  # Redis lost the job
    row = delivery()
    row.next_attempt_at = utcnow() - timedelta(minutes=5)
    db.session.commit()
    assert recover_stuck_work()["webhooks"] == 1
    jobs()
    assert delivery().status == "delivered" and len(receiver.wait_for(1)) == 1


def test_oauth2_client_credentials_token_is_fetched_once_and_sent(
    receiver, make_webhook, catalog_one, learner, make_user, jobs
):
    from app.connectors.oauth2 import DEFAULT_CACHE

    DEFAULT_CACHE.clear()
    _, course = catalog_one
    token_url = receiver.token_endpoint("/oauth/token", client_id="laurel", client_secret="s3cr3t-client")
    make_webhook(
        receiver.url_for("/hook"),
        events=["enrollment.completed"],
        auth_type="oauth2",
        token_url=token_url,
        client_id="laurel",
        client_secret="s3cr3t-client",
        scope="hooks",
    )
    complete(learner, course)
    complete(make_user("learner"), course)
    jobs()
    hooks = [r for r in receiver.wait_for(3) if r.route == "/hook"]
    assert [r.headers["Authorization"] for r in hooks] == ["Bearer token-1", "Bearer token-1"]
    assert receiver.token_calls == 1
    assert delivery_rows_masked()


def delivery_rows_masked() -> bool:
    fresh()
    rows = db.session.scalars(select(WebhookDelivery)).all()
    return bool(rows) and all(r.request_headers.get("Authorization") == "••••" for r in rows)


def test_secrets_are_not_in_the_database_in_clear(receiver, make_webhook):
    integration, secret = make_webhook(
        receiver.url_for("/hook"), auth_type="api_key", header_name="X-Api-Key", api_key="key-THE-API-KEY-123"
    )
    row = db.session.execute(text("SELECT * FROM integrations WHERE id = :id"), {"id": integration.id}).one()
    stored = " ".join(str(v) for v in row)
    assert "key-THE-API-KEY-123" not in stored
    assert secret not in stored and secret.removeprefix("whsec_") not in stored
    assert registry.integration_data(integration)["credentials"] == {"api_key": "••••-123"}
    assert registry.credentials(integration)["api_key"] == "key-THE-API-KEY-123"


def test_rotation_signs_with_old_and_new_secret(receiver, make_webhook, catalog_one, learner, jobs):
    _, course = catalog_one
    integration, old = make_webhook(receiver.url_for("/hook"))
    new = registry.rotate_signing_secret(integration, actor="test")
    db.session.commit()
    complete(learner, course)
    jobs()
    (request,) = receiver.wait_for(1)
    assert len(request.headers["webhook-signature"].split()) == 2
    assert verified(old, request) == verified(new, request)


def test_conditions_filter_events(receiver, make_webhook, catalog_one, learner, jobs):
    _, course = catalog_one
    make_webhook(receiver.url_for("/hook"), condition_department="Engineering")  # learner is in Nursing
    complete(learner, course)
    jobs()
    assert db.session.scalars(select(WebhookEvent)).all() == []
    assert db.session.scalar(select(Completion.id)) is not None


def test_slack_message_is_readable(receiver, make_webhook, catalog_one, learner, jobs):
    _, course = catalog_one
    make_webhook(receiver.url_for("/services/T0/B0/xyz"), kind="slack")
    complete(learner, course)
    jobs()
    body = receiver.wait_for(1)[0].json()
    assert body["text"].startswith(":trophy: Certificate issued: *First Aid* for Lena Learner")
    assert body["blocks"][0]["type"] == "section"


def test_test_button_pings_inline(receiver, make_webhook, admin, login_as):
    integration, secret = make_webhook(receiver.url_for("/hook"), active=False)
    client = login_as(admin)
    response = client.post(
        f"/integrations/{integration.id}/test",
        headers={"X-CSRFToken": client.csrf_token, "HX-Request": "true"},
    )
    assert response.status_code == 200 and "It works." in response.get_data(as_text=True)
    assert verified(secret, receiver.wait_for(1)[0])["type"] == "ping"
    assert db.session.scalar(
        select(IntegrationLog.message).where(IntegrationLog.message.like("Delivered ping%"))
    )
