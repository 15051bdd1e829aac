"""Helpers for the hardening tests (fixtures come from tests/conftest.py)."""

from __future__ import annotations

import threading

import pytest


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
    """Let deliveries reach a loopback receiver (WEBHOOKS_ALLOW_PRIVATE, as in dev)."""
    monkeypatch.setitem(app.config, "WEBHOOKS_ALLOW_PRIVATE", True)
