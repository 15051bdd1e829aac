"""The per-IP login limit follows LOGIN_RATE_LIMIT (x6): one setting raises both limits (benchmarks,
an office behind one NAT), and the default stays 30 attempts per minute per IP."""

from __future__ import annotations

from tests.conftest import login


def _attempts(app, count: int) -> list[int]:
    # A different address each time: only the per-IP limit can refuse these.
    return [login(app.test_client(), f"someone{i}@example.com", "wrong").status_code for i in range(count)]


def test_default_per_ip_limit_is_thirty_a_minute(app):
    statuses = _attempts(app, 31)
    assert statuses[:30] == [200] * 30 and statuses[30] == 429


def test_raising_login_rate_limit_raises_the_per_ip_limit_too(app):
    before, app.config["LOGIN_RATE_LIMIT"] = app.config["LOGIN_RATE_LIMIT"], "10 per minute"
    try:
        statuses = _attempts(app, 40)
    finally:
        app.config["LOGIN_RATE_LIMIT"] = before
    assert statuses == [200] * 40
