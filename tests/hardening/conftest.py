"""Fixtures shared by the hardening tests (the general ones live in tests/conftest.py)."""

from __future__ import annotations

import pytest

from app.extensions import db
from app.services.integrations import registry
from app.services.lifecycle import catalog


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


@pytest.fixture
def hook(catalog_one):
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
def allow_private(app, monkeypatch):
    """Let outgoing requests reach loopback test servers (WEBHOOKS_ALLOW_PRIVATE, as in dev)."""
    monkeypatch.setitem(app.config, "WEBHOOKS_ALLOW_PRIVATE", True)
