"""Fixtures for the hardening tests: the documents and integration fixtures reused, incoming hooks of
both signature schemes, SQLite sources allowed on demand, and helpers to make worker liveness known (as
if every live worker had reported for a full heartbeat time to live)."""

from __future__ import annotations

import gc
import json
import threading
import time
import warnings
from datetime import timedelta

import pytest

from app import liveness
from app.database import utcnow
from app.extensions import db
from app.queue import get_redis
from app.services.integrations import registry
from app.services.lifecycle import enrollment
from tests.documents.conftest import certification, fresh_storage, issue  # noqa: F401 (fixtures)
from tests.integrations.conftest import (  # noqa: F401 (fixtures)
    bucket,
    catalog_one,
    make_webhook,
    receiver,
    s3_endpoint,
)


@pytest.fixture
def hook(catalog_one):  # noqa: F811 (the fixture imported above)
    """An active incoming hook (Standard Webhooks scheme) that creates learners: (integration, secret)."""
    integration, secret = registry.create("incoming", {"name": "LMS", "create_users": True}, actor="test")
    registry.set_active(integration, True, actor="test")
    db.session.commit()
    return integration, secret


@pytest.fixture
def github_hook(hook):
    integration, secret = hook
    registry.update(integration, {"signature_scheme": "github"}, actor="test")
    db.session.commit()
    return integration, secret


@pytest.fixture
def sqlite_sources(app, tmp_path, monkeypatch):
    """SQLite SQL sources in this test's temp folder are allowed (SQL_IMPORT_DIR, off by default)."""
    monkeypatch.setitem(app.config, "SQL_IMPORT_DIR", str(tmp_path))


@pytest.fixture
def trusted_liveness():
    """Liveness keys have existed long enough to be believed; `beat(name, *held)` publishes a live
    worker holding rows ("mail:3", "pdf:1", "webhook:2")."""
    get_redis().set(liveness.SINCE_KEY, time.time() - 3600)

    def beat(name: str, *held: str) -> None:
        get_redis().set(liveness.SINCE_KEY, time.time() - 3600)
        value = {"pid": 1, "host": "test", "worker": True, "at": time.time(), "held": list(held)}
        get_redis().set(liveness.PREFIX + name, json.dumps(value), ex=60)
        get_redis().sadd(liveness.NAMES_KEY, name)

    return beat


def complete(learner, course) -> None:
    enrollment.record_completion(learner, course, score=90, completed_at=utcnow() - timedelta(hours=1),
                                 actor="test")
    db.session.commit()


def fresh() -> None:
    """End the test's read transaction: workers commit in their own sessions."""
    db.session.rollback()
    db.session.expire_all()


def as_server(call):
    """Run `call()` (a test-client request) in a fresh thread and return its result.

    The test pushes an app context for its whole body, and a request made inside it reuses that context:
    its teardown (Flask-SQLAlchemy closing the session) then never runs between the view and the
    streamed body. A new thread starts with no context at all, exactly like a request in a real server.
    """
    box: dict = {}

    def run():
        try:
            box["result"] = call()
        except BaseException as exc:  # re-raised in the test's thread
            box["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(120)
    if "error" in box:
        raise box["error"]
    return box["result"]


@pytest.fixture
def server_request():
    return as_server


@pytest.fixture
def allow_private_outgoing(app, monkeypatch):
    """Let deliveries reach a loopback receiver (OUTGOING_ALLOW_PRIVATE, as in dev)."""
    monkeypatch.setitem(app.config, "OUTGOING_ALLOW_PRIVATE", True)


@pytest.fixture
def close_abandoned_engine_files():
    """A render stopped mid-way leaves xhtml2pdf's spooled temp files to the garbage collector; close
    them after each test rather than as a ResourceWarning in whichever test collects next."""
    yield
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()
