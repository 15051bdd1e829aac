"""The one way people see dates, times and scores, in pages, emails and the bell (machines get ISO).

- a day:    "2 Dec 2026"          (no leading zero, English month abbreviation: no locale surprises)
- a time:   "14:05 UTC"           (24 h, always with the zone: every stored datetime is UTC)
- a moment: "2 Dec 2026, 14:05 UTC"
- a score:  88, 88.5, 72.25       (never "88.0"; at most two decimals)

CSV exports, the API, webhooks and `<time datetime=...>` attributes keep ISO 8601.
`app/web/formatting.py` installs these as the Jinja filters `day`, `clock`, `moment`, `score`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

ZONE = "UTC"


def _utc(value: datetime) -> datetime:
    """Aware datetimes are moved to UTC; naive ones are read as UTC (how they are stored)."""
    return value.astimezone(UTC) if value.tzinfo else value


def _parsed(value: object) -> date | datetime | None:
    """A date or datetime from a value that may be an ISO string (JSON snapshots, email samples)."""
    if isinstance(value, date):
        return value
    if isinstance(value, str) and value.strip():
        try:
            return datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
    return None


def day(value: date | datetime | str | None, empty: str = "") -> str:
    """'2 Dec 2026', or `empty` when there is no date (anything else is shown as it is)."""
    parsed = _parsed(value)
    if parsed is None:
        return empty if value is None or value == "" else str(value)
    if isinstance(parsed, datetime):
        parsed = _utc(parsed)
    return f"{parsed.day} {parsed:%b %Y}"


def clock(value: datetime | str | None, empty: str = "") -> str:
    """'14:05 UTC', or `empty`."""
    parsed = _parsed(value)
    if not isinstance(parsed, datetime):
        return empty if value is None or value == "" else str(value)
    return f"{_utc(parsed):%H:%M} {ZONE}"


def moment(value: datetime | str | None, empty: str = "") -> str:
    """'2 Dec 2026, 14:05 UTC', or `empty` (a plain date shows as a day)."""
    parsed = _parsed(value)
    if not isinstance(parsed, datetime):
        return day(value, empty)
    return f"{day(parsed)}, {clock(parsed)}"


def zoned(value: datetime | str | None, zone: str = ZONE, empty: str = "") -> str:
    """'2 Dec 2026, 15:05 Europe/Berlin': a moment in a named IANA zone (training sessions show their own);
    an unknown zone falls back to UTC."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    parsed = _parsed(value)
    if not isinstance(parsed, datetime):
        return day(value, empty)
    try:
        local = _utc(parsed).replace(tzinfo=UTC).astimezone(ZoneInfo(zone)) if zone != ZONE else None
    except (ZoneInfoNotFoundError, ValueError):
        local = None
    if local is None:
        return moment(parsed)
    return f"{local.day} {local:%b %Y}, {local:%H:%M} {zone}"


def zoned_span(start: datetime, end: datetime, zone: str = ZONE) -> str:
    """'2 Dec 2026, 15:00–17:30 Europe/Berlin' on one local day, else both moments in full."""
    first, last = zoned(start, zone), zoned(end, zone)
    day_part, _, time_part = first.partition(", ")
    end_day, _, end_time = last.partition(", ")
    if day_part == end_day and time_part and end_time:
        return f"{day_part}, {time_part.split(' ')[0]}–{end_time}"
    return f"{first} – {last}"


def score(value: float | int | str | None, empty: str = "") -> str:
    """88, 88.5 or 72.25: a score without a trailing '.0', rounded to two decimals."""
    if value is None or value == "":
        return empty
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    text = f"{number:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text
