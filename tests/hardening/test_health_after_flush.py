"""Item 19: after a Redis flush /healthz saw no worker until the workers restarted, although they
kept working. Live workers re-create their liveness key every WORKER_HEARTBEAT_SECONDS, and an
AppWorker registers itself with RQ again at its next heartbeat."""

from __future__ import annotations

import time

import pytest
from rq import Worker

from app import liveness
from app.queue import QUEUES, get_queue, get_redis
from app.tasks.worker import AppWorker


@pytest.fixture
def live_worker(app, monkeypatch):
    """A real AppWorker as `flask worker` starts it (birth registers it and starts its heartbeat)."""
    monkeypatch.setitem(app.config, "WORKER_HEARTBEAT_SECONDS", 1)
    queues = [get_queue(name) for name in QUEUES]
    worker = AppWorker(queues, connection=queues[0].connection, app=app)
    worker.register_birth()
    yield worker
    worker.register_death()


def _wait_for_health(client, status: int, timeout: float = 5):
    deadline = time.monotonic() + timeout
    while True:
        response = client.get("/healthz")
        if response.status_code == status or time.monotonic() > deadline:
            return response
        time.sleep(0.1)


def test_health_sees_live_workers_again_seconds_after_a_flush(client, live_worker):
    assert client.get("/healthz").status_code == 200
    get_redis().flushdb()
    response = _wait_for_health(client, 200)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["checks"]["worker"]["workers"] == 1


def test_a_stopped_worker_is_reported_down(client, live_worker):
    live_worker.register_death()
    get_redis().flushdb()  # nothing re-creates the key once the worker is gone
    time.sleep(1.2)
    assert client.get("/healthz").status_code == 503
    live_worker.register_birth()


def test_the_worker_registers_with_rq_again_after_a_flush(live_worker):
    get_redis().flushdb()
    assert Worker.all(connection=get_redis()) == []
    live_worker.heartbeat()
    assert [w.name for w in Worker.all(connection=get_redis())] == [live_worker.name]


def test_a_killed_worker_disappears_after_three_beats(live_worker):
    name = live_worker.name
    assert name in liveness.read(get_redis()).workers
    ttl = get_redis().ttl(liveness.PREFIX + name)
    assert 0 < ttl <= 3  # a process killed with -9 stops beating: gone within three periods
