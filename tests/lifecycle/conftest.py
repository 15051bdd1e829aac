"""Lifecycle fixtures: a small catalog built through the services (as the app does)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.support.catalog_fixtures import first_aid, make_certification, make_course  # noqa: F401
from tests.support.certificates import certification, issue  # noqa: F401
from tests.support.lifecycle_views import earn  # noqa: F401


def at(*args: int) -> datetime:
    """A UTC moment: at(2026, 3, 1) or at(2026, 3, 1, 12)."""
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def captured_events():
    """Every lifecycle event emitted during the test, in order (the subscriber is removed afterwards)."""
    from app.services import events

    seen: list = []
    events.subscribe("*")(seen.append)
    yield seen
    events._subscribers["*"].remove(seen.append)
