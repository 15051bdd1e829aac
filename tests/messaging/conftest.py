"""Messaging tests: certificate fixtures from tests/support/certificates.py."""

from tests.support.certificates import captured_events, certification, issue  # noqa: F401
