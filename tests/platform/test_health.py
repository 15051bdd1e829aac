"""/healthz: database, Redis and a live RQ worker."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from app.queue import QUEUES, get_queue
from app.tasks.worker import AppWorker


@pytest.fixture
def registered_worker(app):
    """A real AppWorker registered in Redis with a heartbeat, as `flask worker` does when it starts."""
    queues = [get_queue(name) for name in QUEUES]
    worker = AppWorker(queues, connection=queues[0].connection, app=app)
    worker.register_birth()
    worker.heartbeat()
    yield worker
    worker.register_death()


def test_no_worker_is_503(client):
    response = client.get("/healthz")
    assert response.status_code == 503 and response.mimetype == "application/json"
    body = response.get_json()
    assert body["status"] == "degraded"
    assert body["checks"]["database"] == {"ok": True}
    assert body["checks"]["redis"] == {"ok": True}
    assert body["checks"]["worker"]["ok"] is False and body["checks"]["worker"]["workers"] == 0


def test_live_worker_is_200(client, registered_worker):
    response = client.get("/healthz")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["status"] == "ok"
    worker = body["checks"]["worker"]
    assert worker["ok"] is True and worker["workers"] == 1 and worker["age_seconds"] < 30
    datetime.fromisoformat(worker["last_heartbeat"])
    assert set(body) == {"status", "checks"} and set(body["checks"]) == {"database", "redis", "worker"}


def test_stale_heartbeat_is_503(client, registered_worker):
    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=5)):
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["checks"]["worker"]["ok"] is False


def test_healthz_is_not_rate_limited_and_needs_no_login(client):
    statuses = {client.get("/healthz").status_code for _ in range(40)}
    assert statuses == {503}
