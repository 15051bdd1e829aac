"""The one check of a completion date, whatever brought it (API, CSV import, incoming hook, Moodle, SQL).

A completion is accepted from 2000-01-01 00:00 UTC up to now plus `CLOCK_SKEW` (5 minutes): earlier dates
are typos or epoch zeros from another system (no e-learning record of ours is that old), and a date in
the future would make a certificate valid before it was earned. The skew lets a sender whose clock runs
a little ahead (an LMS server, a webhook) through.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.database import utcnow

EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
CLOCK_SKEW = timedelta(minutes=5)


def problem(moment: datetime, now: datetime | None = None) -> str | None:
    """Why this completion date is refused, or None. A naive datetime is read as UTC."""
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    if moment < EARLIEST:
        return "The completion date is before 2000-01-01 (the earliest accepted)."
    if moment > (now or utcnow()) + CLOCK_SKEW:
        return "The completion date is in the future."
    return None


def check(moment: datetime, now: datetime | None = None) -> datetime:
    """The moment in UTC, or ValueError with the reason (callers put it on their `completed_at` field)."""
    message = problem(moment, now)
    if message:
        raise ValueError(message)
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
