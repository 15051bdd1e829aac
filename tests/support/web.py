"""Web test helpers: an anonymous client, an admin API token, htmx headers, links in mails (the general
fixtures live in tests/conftest.py, which imports the fixtures here)."""

from __future__ import annotations

import re

import pytest

from tests.support.smtp import body_text

LINK_RE = re.compile(r"http://localhost(/(?:reset|set)-password/[^\s]+)")


def link_in(message) -> str:
    """The path of the reset/invite link in a mail's text part."""
    match = LINK_RE.search(body_text(message))
    assert match, body_text(message)
    return match.group(1)


@pytest.fixture
def anon_client(app):
    """An anonymous client that has a CSRF token (from the login page) in `client.csrf_token`."""
    client = app.test_client()
    from tests.conftest import csrf_token_from  # late: tests/conftest.py imports this module

    client.csrf_token = csrf_token_from(client.get("/login").get_data(as_text=True))
    return client


@pytest.fixture
def admin_token(admin):
    from app.extensions import db
    from app.services.accounts import tokens

    _, secret = tokens.create_token(admin, "matrix")
    db.session.commit()
    return secret


def htmx_headers(client, **extra) -> dict:
    return {"HX-Request": "true", "X-CSRFToken": client.csrf_token, **extra}
