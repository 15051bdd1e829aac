"""Checking request bodies and query parameters against the JSON Schemas the OpenAPI document publishes.

The checking is jsonschema's (Draft 2020-12, with format checking), so every keyword the documents use
(nested objects, array items, oneOf/anyOf, ...) is enforced exactly as documented; this module only turns
jsonschema's errors into our short field messages ({"course_ids": "Item 2: Must be a whole number."}).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, date, datetime

from email_validator import EmailNotValidError, validate_email
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError as SchemaError

from app.rules import plain_text
from app.rules.plain_text import MULTI_LINE_PATTERN, SINGLE_LINE_PATTERN
from app.services.errors import ValidationError

_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$", re.ASCII)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$", re.ASCII)
_INTEGER = re.compile(r"^[+-]?\d{1,20}$", re.ASCII)

TYPE_NAMES = {"string": "a string", "integer": "a whole number", "number": "a number",
              "boolean": "true or false", "array": "a list", "object": "an object", "null": "null"}
FORMAT_MESSAGES = {"date-time": "Use an RFC 3339 date and time like 2026-03-31T14:00:00Z.",
                   "date": "Use a date like 2026-03-31.", "email": "Not a valid email address."}

# Our own format checks: jsonschema's "email" only looks for "@", and its date-time check silently passes
# everything unless an optional package is installed. Non-strings pass (the "type" keyword reports those).
FORMATS = FormatChecker(formats=())


@FORMATS.checks("email", raises=EmailNotValidError)
def _email(value: object) -> bool:
    if isinstance(value, str):
        validate_email(value, check_deliverability=False)  # syntax only: no DNS lookup per request
    return True


@FORMATS.checks("date-time")
def _date_time(value: object) -> bool:
    return not isinstance(value, str) or bool(_DATE_TIME.match(value)) and _parses(datetime, value)


@FORMATS.checks("date")
def _date(value: object) -> bool:
    return not isinstance(value, str) or bool(_DATE.match(value)) and _parses(date, value)


def _parses(kind: type, value: str) -> bool:
    try:
        parsed = kind.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
        if isinstance(parsed, datetime):
            parsed.astimezone(UTC)  # 0001-01-01T00:00:00+14:00 is not a representable UTC moment
    except (ValueError, OverflowError):
        return False
    return True


_validators: dict[int, tuple[dict, Draft202012Validator]] = {}


def validator_for(schema: dict) -> Draft202012Validator:
    """One compiled validator per schema (the schemas are module constants, checked once)."""
    cached = _validators.get(id(schema))
    if cached is None or cached[0] is not schema:
        if len(_validators) > 512:  # a caller building schemas per request must not grow this forever
            _validators.clear()
        Draft202012Validator.check_schema(schema)
        cached = (schema, Draft202012Validator(schema, format_checker=FORMATS))
        _validators[id(schema)] = cached
    return cached[1]


def check_body(data: object, schema: dict) -> dict:
    """The body as a dict if it matches the object `schema`; else ValidationError with every field."""
    if not isinstance(data, dict):
        raise ValidationError({"": "The body must be a JSON object."})
    errors = field_errors(validator_for(schema).iter_errors(data))
    if errors:
        raise ValidationError(errors)
    properties = schema.get("properties", {})
    return {name: _normalised(value, properties.get(name, {})) for name, value in data.items()}


def field_errors(errors: Iterable[SchemaError]) -> dict[str, str]:
    """{top-level field: first message} ("" for the body itself); nested places prefix the message."""
    result: dict[str, str] = {}
    for error in sorted(errors, key=lambda e: (len(e.absolute_path), e.validator != "type")):
        path = list(error.absolute_path)
        for name, message in _messages(error):
            where = [*path, name] if name is not None else path
            field = str(where[0]) if where else ""
            result.setdefault(field, _prefix(where[1:]) + message)
    return result


def _prefix(rest: list) -> str:
    return "".join(f"Item {part + 1}: " if isinstance(part, int) else f"{part}: " for part in rest)


def _messages(error: SchemaError) -> list[tuple[str | None, str]]:
    """(property the message is about when not the error's own place, message) pairs for one error."""
    keyword, expected, instance = error.validator, error.validator_value, error.instance
    if keyword == "required":
        return [(name, "This field is required.") for name in expected if name not in instance]
    if keyword == "additionalProperties":
        known = error.schema.get("properties", {})
        return [(str(name), "Unknown field.") for name in instance if name not in known]
    return [(None, _message(keyword, expected, instance, error.schema))]


def _message(keyword: str, expected: object, instance: object, schema: dict) -> str:
    simple = {
        "type": lambda: "Must be " + " or ".join(TYPE_NAMES[k] for k in _kinds(expected)) + ".",
        "enum": lambda: f"Must be one of {', '.join(map(str, expected))}.",
        "const": lambda: f"Must be {expected}.",
        "minLength": lambda: "Must not be empty." if expected == 1 else f"At least {expected} characters.",
        "maxLength": lambda: f"At most {expected} characters.",
        "pattern": lambda: _pattern_message(str(expected), str(instance)),
        "format": lambda: FORMAT_MESSAGES.get(str(expected), f"Not a valid {expected}."),
        "minimum": lambda: f"Must be at least {expected}.",
        "maximum": lambda: f"Must be at most {expected}.",
        "exclusiveMinimum": lambda: f"Must be more than {expected}.",
        "exclusiveMaximum": lambda: f"Must be less than {expected}.",
        "minItems": lambda: f"At least {expected} items.",
        "maxItems": lambda: f"At most {expected} items.",
        "uniqueItems": lambda: "Items must not repeat.",
        "oneOf": lambda: "Does not match exactly one of the allowed forms.",
        "anyOf": lambda: "Does not match any of the allowed forms.",
    }
    return simple[keyword]() if keyword in simple else "Not a valid value."


def _pattern_message(pattern: str, value: str) -> str:
    """Our text patterns go through the shared rule (app/rules/plain_text.py): it names the character."""
    if pattern in (SINGLE_LINE_PATTERN, MULTI_LINE_PATTERN):
        message = plain_text.problem(value, multiline=pattern == MULTI_LINE_PATTERN)
        if message:
            return message
    return "Contains characters that are not allowed." if "\x00" in value else f"Must match {pattern}."


def _kinds(value: object) -> list[str]:
    return [value] if isinstance(value, str) else list(value or [])


def _normalised(value: object, schema: dict) -> object:
    """1.0 is a valid JSON integer: hand the services an int."""
    kinds = _kinds(schema.get("type"))
    if isinstance(value, float) and "integer" in kinds and "number" not in kinds:
        return int(value)
    if isinstance(value, list):
        return [_normalised(item, schema.get("items", {})) for item in value]
    return value


def coerce_query(raw: str, schema: dict) -> object:
    """A query-string value converted to the schema's type (then checked); ValueError with a message."""
    kinds = _kinds(schema.get("type"))
    value: object = raw
    if "integer" in kinds:
        if not _INTEGER.match(raw.strip()):
            raise ValueError("Must be a whole number.")
        value = int(raw)
    elif "boolean" in kinds:
        if raw.lower() not in ("true", "false"):
            raise ValueError("Must be true or false.")
        value = raw.lower() == "true"
    message = field_errors(validator_for(schema).iter_errors(value)).get("")
    if message:
        raise ValueError(message)
    return value
