"""Integration fixtures: a real receiver on loopback, webhook integrations made through the services,
and a helper that runs RQ's scheduler for delayed jobs (retries) as if time had passed."""

from __future__ import annotations

import time

import pytest

from app.extensions import db
from app.services.integrations import registry
from app.services.lifecycle import catalog
from tests.support import s3
from tests.support.receiver import Receiver


@pytest.fixture(scope="session")
def s3_endpoint():
    """A real S3-compatible server (moto) on loopback, shared by the run; tests use their own buckets."""
    with s3.moto_server() as endpoint:
        yield endpoint


@pytest.fixture
def bucket(s3_endpoint, allow_private):
    """A fresh bucket; integrations may reach the loopback endpoint (OUTGOING_ALLOW_PRIVATE)."""
    return s3.new_bucket(s3_endpoint)


@pytest.fixture
def receiver():
    with Receiver() as rx:
        yield rx


@pytest.fixture
def make_webhook(allow_private):
    """make_webhook(url, events=, kind="generic_webhook", active=True, **fields) -> (integration, secret)."""

    def factory(
        url: str, events=("certificate.issued",), kind: str = "generic_webhook", active: bool = True, **fields
    ):
        base = {"name": fields.pop("name", "Receiver"), "event_types": list(events)}
        base.update({"url": url} if kind == "generic_webhook" else {"webhook_url": url})
        integration, secret = registry.create(kind, {**base, **fields}, actor="test")
        if active:
            registry.set_active(integration, True, actor="test")
        db.session.commit()
        return integration, secret

    return factory


@pytest.fixture
def catalog_one():
    """One active certification requiring one course: completing FA-101 issues a certificate."""
    course = catalog.create_course({"code": "FA-101", "title": "First aid basics"}, actor="test")
    cert = catalog.create_certification(
        {"name": "First Aid", "status": "active", "course_ids": [course.id], "validity_months": 24},
        actor="test",
    )
    db.session.commit()
    return cert, course


def run_scheduled(app, seconds_ahead: float = 36 * 3600) -> int:
    """Run RQ's scheduler once as if `seconds_ahead` had passed: due delayed jobs move to their queues."""
    from unittest import mock

    from rq.scheduler import RQScheduler

    from app.queue import QUEUES, get_redis

    scheduler = RQScheduler(list(QUEUES), connection=get_redis())
    scheduler.acquire_locks()
    try:
        future = int(time.time() + seconds_ahead)
        with mock.patch("rq.scheduler.current_timestamp", return_value=future):
            before = sum(scheduler.connection.llen(f"rq:queue:{q}") for q in QUEUES)
            scheduler.enqueue_scheduled_jobs()
            return sum(scheduler.connection.llen(f"rq:queue:{q}") for q in QUEUES) - before
    finally:
        scheduler.release_locks()
