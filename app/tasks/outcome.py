"""Committing the record of a side effect that already happened outside the database.

A mail handed to the SMTP server, a webhook the receiver accepted, a PDF file stored: if the
commit that records it fails, recovery does the side effect again (docs/reliability.md). A dropped
database connection is the usual cause and often lasts a moment, so that one commit is retried on a
fresh connection before giving up -- the window between the side effect and its record stays small.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError, OperationalError

from app.extensions import db

T = TypeVar("T")
ATTEMPTS = 4
PAUSE_SECONDS = 0.5


def commit_outcome(record: Callable[[], T], *, attempts: int = ATTEMPTS, pause: float = PAUSE_SECONDS) -> T:
    """Run `record` (it re-loads its rows: it may run again after a rollback) and commit it."""
    for attempt in range(1, attempts + 1):
        try:
            result = record()
            db.session.commit()
            return result
        except DBAPIError as exc:
            db.session.rollback()
            transient = exc.connection_invalidated or isinstance(exc, OperationalError)
            if not transient or attempt == attempts:
                raise
            time.sleep(pause * attempt)
    raise AssertionError("unreachable")
