"""Jinja filters for dates, times and scores: the one place templates format them (app/rules/display.py).

    {{ cert.issued_at|day }}      2 Dec 2026
    {{ entry.at|moment }}         2 Dec 2026, 14:05 UTC
    {{ updated_at|clock }}        14:05 UTC
    {{ enrollment.score|score }}  88.5
    {{ s.starts_at|zoned(s.timezone) }}  2 Dec 2026, 15:05 Europe/Berlin (a training session's own zone)
    {{ s.starts_at|zoned_span(s.ends_at, s.timezone) }}  2 Dec 2026, 15:05–17:00 Europe/Berlin
    {{ value|iso }}               2026-12-02T14:05:00+00:00 (for <time datetime=...> only)

Each takes an optional text for "no value": `{{ cert.expires_at|day("never") }}`.
"""

from __future__ import annotations

from flask import Flask

from app.rules import display, money


def iso(value) -> str:
    return value.isoformat() if value is not None else ""


def init_app(app: Flask) -> None:
    app.jinja_env.filters.update(day=display.day, clock=display.clock, moment=display.moment,
                                 score=display.score, zoned=display.zoned,
                                 zoned_span=display.zoned_span, iso=iso, money=money.money)
