"""Item 6 (replay): incoming hooks refuse the same signed content under a new id, for every signature
scheme (GitHub: the body; Standard Webhooks: id.timestamp.body), within INCOMING_REPLAY_WINDOW_HOURS; the
sweep forgets older receipts, and even then an old message cannot move a completed enrollment back."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from app.connectors import signing
from app.extensions import db
from app.models import Completion, Enrollment, User
from app.models.integration import IncomingReceipt
from app.services.integrations import registry
from tests.integrations.test_incoming import post as post_standard


def envelope(kind: str = "completion.record", **data) -> str:
    payload = {"email": "lena@example.com", "name": "Lena", "course_code": "FA-101", **data}
    return json.dumps({"type": kind, "timestamp": "2026-01-15T09:31:00Z", "data": payload})


def post_github(client, integration, secret, body: str, delivery: str):
    raw = body.encode()
    return client.post(f"/hooks/in/{integration.incoming_token}", data=raw, headers={
        "X-Hub-Signature-256": signing.sign_github(raw, secret), "X-GitHub-Delivery": delivery,
        "Content-Type": "application/json"})


def counts() -> tuple[int, int, int]:
    db.session.commit()
    return tuple(db.session.scalar(select(func.count()).select_from(model))
                 for model in (User, Completion, IncomingReceipt))


def the_enrollment() -> Enrollment:
    db.session.expire_all()
    return db.session.scalar(select(Enrollment))


def test_github_replay_under_a_new_delivery_id_is_refused(client, github_hook):
    integration, secret = github_hook
    body = envelope(completed_at="2026-01-15T09:30:00Z", score=90)
    assert post_github(client, integration, secret, body, "gh-1").status_code == 200
    before = counts()
    replay = post_github(client, integration, secret, body, "gh-2")
    assert replay.status_code == 409 and replay.json["error"] == "duplicate"
    assert "gh-1" in replay.json["detail"]
    assert counts() == before


def test_github_replay_of_an_old_in_progress_after_completion_is_refused(client, github_hook):
    integration, secret = github_hook
    old = envelope("enrollment.upsert", status="in_progress", progress=40)
    assert post_github(client, integration, secret, old, "gh-1").status_code == 200
    done = envelope(completed_at="2026-01-20T10:00:00Z", score=95)
    assert post_github(client, integration, secret, done, "gh-2").status_code == 200
    assert the_enrollment().status == "completed"
    replay = post_github(client, integration, secret, old, "gh-3")
    assert replay.status_code == 409
    row = the_enrollment()
    assert (row.status, row.progress, row.score) == ("completed", 100, 95)


def test_standard_scheme_stores_the_signed_content_hash_and_refuses_reuse(client, hook):
    integration, secret = hook
    body = envelope(completed_at="2026-01-15T09:30:00Z")
    when = datetime.now(UTC)
    assert post_standard(client, integration, secret, body, msg_id="msg_1", when=when).status_code == 200
    [receipt] = db.session.scalars(select(IncomingReceipt)).all()
    assert receipt.content_hash is not None and len(receipt.content_hash) == 64
    # The id is signed: the old signature under a new id fails, the same id again is a duplicate.
    signature = signing.sign("msg_1", int(when.timestamp()), body.encode(),
                             registry.signing_secrets(integration))
    forged = client.post(f"/hooks/in/{integration.incoming_token}", data=body.encode(), headers={
        "webhook-id": "msg_2", "webhook-timestamp": str(int(when.timestamp())),
        "webhook-signature": signature})
    assert forged.status_code == 401
    same = client.post(f"/hooks/in/{integration.incoming_token}", data=body.encode(), headers={
        "webhook-id": "msg_1", "webhook-timestamp": str(int(when.timestamp())),
        "webhook-signature": signature})
    assert same.status_code == 409 and same.json["error"] == "duplicate"
    assert counts() == (1, 1, 1)


def test_a_refused_message_leaves_no_receipt_so_a_fixed_one_goes_through(client, github_hook):
    integration, secret = github_hook
    unknown = envelope(course_code="NOPE-1")
    assert post_github(client, integration, secret, unknown, "gh-1").status_code == 422
    assert counts() == (0, 0, 0)
    fixed = envelope(completed_at="2026-01-15T09:30:00Z")
    assert post_github(client, integration, secret, fixed, "gh-1").status_code == 200


def _age_receipts(hours: float) -> None:
    db.session.execute(update(IncomingReceipt).values(received_at=datetime.now(UTC) - timedelta(hours=hours)))
    db.session.commit()


def test_the_sweep_forgets_receipts_older_than_the_window(app, client, github_hook):
    from app.tasks.sweep import recover_stuck_work

    integration, secret = github_hook
    assert post_github(client, integration, secret, envelope(completed_at="2026-01-15T09:30:00Z"),
                       "gh-1").status_code == 200
    window = app.config["INCOMING_REPLAY_WINDOW_HOURS"]
    _age_receipts(window - 1)
    assert recover_stuck_work()["incoming_receipts_forgotten"] == 0
    assert counts()[2] == 1
    _age_receipts(window + 1)
    assert recover_stuck_work()["incoming_receipts_forgotten"] == 1
    assert counts()[2] == 0


def test_after_the_window_an_old_replay_still_cannot_regress_or_double(app, client, github_hook):
    from app.tasks.sweep import recover_stuck_work

    integration, secret = github_hook
    old = envelope("enrollment.upsert", status="in_progress", progress=40)
    done = envelope(completed_at="2026-01-20T10:00:00Z", score=95)
    assert post_github(client, integration, secret, old, "gh-1").status_code == 200
    assert post_github(client, integration, secret, done, "gh-2").status_code == 200
    _age_receipts(app.config["INCOMING_REPLAY_WINDOW_HOURS"] + 1)
    recover_stuck_work()
    db.session.commit()
    replay = post_github(client, integration, secret, old, "gh-3")
    assert replay.status_code == 200 and replay.json["status"] == "ignored"
    again = post_github(client, integration, secret, done, "gh-4")
    assert again.status_code == 200
    row = the_enrollment()
    assert (row.status, row.progress, row.score) == ("completed", 100, 95)
    assert db.session.scalar(select(func.count()).select_from(Completion)) == 1


def test_concurrent_replays_under_new_ids_apply_once(app, github_hook):
    """The unique (integration, content_hash) constraint decides a race the lookup cannot see."""
    import threading

    if db.engine.dialect.name == "sqlite":
        pytest.skip("needs concurrent writers (PostgreSQL)")
    integration, secret = github_hook
    body = envelope(completed_at="2026-01-15T09:30:00Z", score=90)
    statuses: list[int] = []
    start = threading.Barrier(6)

    url, raw = f"/hooks/in/{integration.incoming_token}", body.encode()
    signature = signing.sign_github(raw, secret)

    def send(n: int) -> None:
        client = app.test_client()
        start.wait()
        response = client.post(url, data=raw, headers={
            "X-Hub-Signature-256": signature, "X-GitHub-Delivery": f"gh-race-{n}"})
        statuses.append(response.status_code)

    threads = [threading.Thread(target=send, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200] + [409] * 5
    assert counts() == (1, 1, 1)
