"""Retry policy for outgoing webhook deliveries (Standard Webhooks / Svix schedule).

Attempts are numbered from 1. Attempt 1 goes out immediately; after attempt ``n`` fails,
``next_delay(n)`` says how long to wait before attempt ``n + 1``:

    attempt failed:  1    2      3       4    5    6     7
    wait before next: 5 s  5 min  30 min  2 h  5 h  10 h  10 h     then give up (8 attempts)

Each wait gets random jitter (±20%) so endpoints that recover at once are not hit by a
thundering herd of retries scheduled for the same second.
"""

from __future__ import annotations

import email.utils
import random
import time
from typing import Literal, Protocol

# Seconds before each attempt; index 0 is the first attempt ("immediately").
SCHEDULE: tuple[float, ...] = (0, 5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 10 * 3600)
MAX_ATTEMPTS = len(SCHEDULE)
JITTER = 0.2  # ± fraction of the scheduled delay
RETRY_AFTER_STATUSES = frozenset({429, 503})
# Bounds on a receiver's Retry-After: at least 1 s (0 would be a hot loop), at most the longest
# scheduled wait (a hostile or buggy "Retry-After: 1 year" must not park a delivery forever).
RETRY_AFTER_MIN = 1.0
RETRY_AFTER_MAX = float(max(SCHEDULE))

Outcome = Literal["ok", "retry", "disable", "fail"]


class _Uniform(Protocol):
    def uniform(self, a: float, b: float) -> float: ...


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Parse a ``Retry-After`` header (delta seconds or HTTP-date) into seconds from ``now``.

    Returns None for a missing or unparseable value; a date in the past gives 0.
    """
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():  # "²".isdigit() is True, float("²") raises
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # "-0000" zone: RFC 9110 dates are UTC anyway
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


def _jittered(delay: float, rng: _Uniform) -> float:
    return delay * (1 + rng.uniform(-JITTER, JITTER))


def next_delay(
    attempt: int,
    retry_after_header: str | None = None,
    rng: _Uniform | None = None,
    *,
    status_code: int | None = None,
    now: float | None = None,
) -> float | None:
    """Seconds to wait after failed attempt number ``attempt`` (1-based), or None to give up.

    ``next_delay(0)`` is 0: the first attempt is immediate. ``retry_after_header`` is honoured when
    ``status_code`` is 429/503 or not given (the caller then only passes it for those): we wait
    ``max(scheduled, Retry-After)`` clamped to sane bounds, so a receiver can slow us down but
    never make us retry faster than the schedule. ``rng`` (anything with ``uniform``) and ``now``
    are injectable for tests.
    """
    if attempt < 0:
        raise ValueError("attempt must be >= 0")
    if attempt >= MAX_ATTEMPTS:
        return None
    delay = _jittered(SCHEDULE[attempt], rng or random)
    honour = status_code is None or status_code in RETRY_AFTER_STATUSES
    requested = parse_retry_after(retry_after_header, now) if honour else None
    if requested is not None:
        delay = max(delay, min(max(requested, RETRY_AFTER_MIN), RETRY_AFTER_MAX))
    return delay


def classify(status_code: int | None) -> Outcome:
    """Map a delivery's HTTP status to what happens next.

    2xx -> "ok"; 410 Gone -> "disable" the endpoint (the receiver says it is gone for good);
    any other real status, 3xx included (we never follow redirects) -> "retry".
    ``None`` or a code outside 100-599 (no usable response) -> "fail": the caller should record
    the attempt as failed and apply the same retry schedule as for a network error.
    """
    if status_code is None or not 100 <= status_code <= 599:
        return "fail"
    if 200 <= status_code < 300:
        return "ok"
    if status_code == 410:
        return "disable"
    return "retry"
