"""Validation of a session's fields, shared by the pages and the API (one ValidationError names them all)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import cache
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, available_timezones

from app.extensions import db
from app.models import Course, User
from app.services.errors import ValidationError
from app.services.fields import check_fields, clean_int, clean_text

MAX_CAPACITY = 10_000
MAX_LENGTH = timedelta(days=14)  # a "session" longer than two weeks is a typo in a date
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
TRAINER_ROLES = ("admin", "staff")
FIELDS = ("course_id", "title", "starts_at", "ends_at", "timezone", "location", "online_url", "trainer_id",
          "capacity", "registration_deadline")


@cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def clean_timezone(value: object) -> str:
    """An IANA zone name from the system's list (never a path: '../../etc' is simply not in it)."""
    name = clean_text(value, 64) or "UTC"
    if name != "UTC" and name not in _zones():
        raise ValueError("Choose a time zone such as Europe/Berlin or America/New_York.")
    return name


def clean_moment(value: object, zone: str) -> datetime | None:
    """A datetime: aware ones are moved to UTC, plain ones ("2026-12-02T14:00", from a form) are read in
    the session's own zone. Between 2000 and 2100."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        moment = value
    else:
        text = clean_text(value, 40)
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError("Use a date and time like 2026-03-31T09:30.") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(zone))
    moment = moment.astimezone(UTC)
    if not EARLIEST <= moment < LATEST:
        raise ValueError("Choose a date between 2000 and 2099.")
    return moment


def clean_online_url(value: object) -> str:
    """An https link with a host (no javascript:, data:, http: or spaces)."""
    url = clean_text(value, 500)
    if not url:
        return ""
    parts = urlsplit(url)
    if parts.scheme.lower() != "https" or not parts.hostname or any(c.isspace() for c in url) \
            or parts.username or parts.password:
        raise ValueError("Enter an https:// link (for example the meeting's join link).")
    return url


def clean_capacity(value: object) -> int:
    number = clean_int(value, minimum=1, maximum=MAX_CAPACITY)
    if number is None:
        raise ValueError("Enter how many people can attend.")
    return number


def _trainer(value: object) -> User | None:
    trainer_id = clean_int(value, minimum=1)
    if trainer_id is None:
        return None
    user = db.session.get(User, trainer_id)
    if user is None or not user.active or user.role not in TRAINER_ROLES:
        raise ValueError("Choose an active staff member or admin as trainer.")
    return user


def _course(value: object) -> Course:
    course_id = clean_int(value, minimum=1)
    course = db.session.get(Course, course_id) if course_id else None
    if course is None:
        raise ValueError("Choose a course.")
    return course


def clean_session(fields: dict, current: dict | None = None) -> dict:
    """Clean a create (current None) or an update (current: the session's values) into attribute values.

    Raises one ValidationError with every problem, keyed by the field to fix.
    """
    merged = {**(current or {}), **{k: v for k, v in fields.items() if k in FIELDS}}
    errors: dict[str, str] = {}
    zone_values, zone_errors = check_fields(merged, {"timezone": clean_timezone})
    errors.update(zone_errors)
    zone = zone_values.get("timezone", "UTC")
    zone_now = lambda value: clean_moment(value, zone)  # noqa: E731 - the zone is known only now
    values, problems = check_fields(merged, {
        "course_id": _course, "title": lambda v: clean_text(v, 200), "starts_at": zone_now,
        "ends_at": zone_now,
        "location": lambda v: clean_text(v, 300), "online_url": clean_online_url, "trainer_id": _trainer,
        "capacity": clean_capacity, "registration_deadline": zone_now,
    })
    errors.update(problems)
    values.update(zone_values)
    for required, message in (("course_id", "Choose a course."), ("starts_at", "Enter when it starts."),
                              ("ends_at", "Enter when it ends."), ("capacity", "Enter how many can attend.")):
        if required not in errors and values.get(required) is None:
            errors[required] = message
    _cross_checks(values, errors)
    if errors:
        raise ValidationError(errors)
    values["trainer_id"] = values["trainer_id"].id if values.get("trainer_id") else None
    values["course_id"] = values["course_id"].id
    return values


def _cross_checks(values: dict, errors: dict) -> None:
    start, end = values.get("starts_at"), values.get("ends_at")
    if start and end and "ends_at" not in errors:
        if end <= start:
            errors["ends_at"] = "The session must end after it starts."
        elif end - start > MAX_LENGTH:
            errors["ends_at"] = "A session lasts at most 14 days."
    deadline = values.get("registration_deadline")
    if deadline and start and deadline > start and "registration_deadline" not in errors:
        errors["registration_deadline"] = "Registration must close before the session starts."
    if not values.get("location") and not values.get("online_url") \
            and "location" not in errors and "online_url" not in errors:
        errors["location"] = "Enter a place or an online link."
