"""Field cleaning shared by every service: forms send strings, the API typed values, CSV text.

Each `clean_*` returns the typed value or raises ValueError with a message a person understands;
`check_fields` runs a {field: cleaner} table over what was sent and collects every message at once,
so one ValidationError names all the problems.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any

from app.rules import plain_text
from app.services.errors import ValidationError
from app.services.numbers import MAX_INT


def check_fields(fields: Mapping[str, Any], checks: Mapping[str, Callable[[Any], Any]]
                 ) -> tuple[dict[str, Any], dict[str, str]]:
    """Clean each sent field that has a check: (values by field, error message by field)."""
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for key, check in checks.items():
        if key in fields:
            try:
                values[key] = check(fields[key])
            except ValueError as exc:
                errors[key] = str(exc)
    return values, errors


def clean_text(value: object, max_length: int, *, required: bool = False, label: str = "a value",
               multiline: bool = False) -> str:
    """Stripped text within `max_length`; single-line unless `multiline` (app.rules.plain_text)."""
    text = "" if value is None else str(value).strip()
    if multiline:
        text = plain_text.normalise_newlines(text)
    problem = plain_text.problem(text, multiline=multiline)
    if problem:
        raise ValueError(problem)
    if required and not text:
        raise ValueError(f"Enter {label}.")
    if len(text) > max_length:
        raise ValueError(f"At most {max_length} characters.")
    return text


def clean_int(value: object, *, minimum: int = 0, maximum: int = MAX_INT,
              default: int | None = None) -> int | None:
    """A whole number in range (at most what an Integer column holds), or `default` when empty.
    Booleans and fractions are refused."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return default
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise ValueError("Enter a whole number.")
    try:
        number = int(str(value).strip()) if isinstance(value, str) else int(value)
    except (TypeError, ValueError):
        raise ValueError("Enter a whole number.") from None
    if not minimum <= number <= maximum:
        raise ValueError(f"Must be between {minimum} and {maximum}.")
    return number


def clean_score(value: object) -> float | None:
    """A score from 0 to 100, or None when empty."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise ValueError("Enter a number from 0 to 100.")
    try:
        number = float(str(value).strip().replace(",", ".")) if isinstance(value, str) else float(value)
    except (TypeError, ValueError):
        raise ValueError("Enter a number from 0 to 100.") from None
    if not 0 <= number <= 100:  # also refuses NaN
        raise ValueError("Enter a number from 0 to 100.")
    return number


def clean_date(value: object) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise ValueError("Use a date like 2026-03-31.") from None


def clean_reminder_days(value: object) -> list[int]:
    """Days before expiry, from a list or "90, 30, 7"; distinct, positive, largest first."""
    items = str(value or "").replace(";", ",").split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple):
        raise ValueError("Give days as a list or like \"90, 30, 7\".")
    days = set()
    for item in items:
        if isinstance(item, str) and not item.strip():
            continue
        try:
            number = clean_int(item, minimum=1, maximum=3650)
        except ValueError:
            raise ValueError(f"'{item}' is not a number of days (1..3650).") from None
        if number is not None:
            days.add(number)
    return sorted(days, reverse=True)


def isodate(value: date | datetime | None) -> str | None:  # aware UTC datetimes carry +00:00
    return value.isoformat() if value else None


def like_pattern(search: str) -> str:
    """A lower-cased LIKE pattern matching `search` anywhere (wildcards in it are escaped with \\)."""
    escaped = search.strip().lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def checked_text(value: str, field: str, *, multiline: bool = False) -> str:
    """`value` (new lines normalised when multi-line), or ValidationError({field: why})."""
    if multiline:
        value = plain_text.normalise_newlines(value)
    message = plain_text.problem(value, multiline=multiline)
    if message:
        raise ValidationError({field: message})
    return value
