"""Fixtures shared by the hardening tests: the integration fixtures (loopback receiver, moto S3 server,
webhook factory, one certification) and incoming hooks of both signature schemes."""

from __future__ import annotations

import pytest

from app.extensions import db
from app.services.integrations import registry
from tests.integrations.conftest import (  # noqa: F401 - fixtures
    allow_private,
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
