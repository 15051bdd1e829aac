"""Checking request bodies and query parameters against the documented JSON Schemas.

A small validator for the subset of JSON Schema our documents use (type, enum, lengths, bounds, items,
required, additionalProperties: false, formats date / date-time / email). jsonschema is a dev dependency
only; this keeps the runtime lean and the messages readable ("Must be a whole number.").
"""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime

from app.rules import plain_text
from app.rules.plain_text import MULTI_LINE_PATTERN, SINGLE_LINE_PATTERN
from app.services.errors import ValidationError

_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_INTEGER = re.compile(r"^[+-]?\d{1,20}$")

TYPE_NAMES = {"string": "a string", "integer": "a whole number", "number": "a number",
              "boolean": "true or false", "array": "a list", "object": "an object", "null": "null"}


def _is(value: object, kind: str) -> bool:
    if kind == "null":
        return value is None
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "integer":
        return (isinstance(value, int) and not isinstance(value, bool)) or \
            (isinstance(value, float) and math.isfinite(value) and value.is_integer())
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    return isinstance(value, {"string": str, "array": list, "object": dict}[kind])


def problem_with(value: object, schema: dict) -> str | None:
    """The first thing wrong with `value` under `schema`, as a sentence, or None."""
    kinds = schema.get("type")
    kinds = [kinds] if isinstance(kinds, str) else (kinds or [])
    if kinds and not any(_is(value, kind) for kind in kinds):
        wanted = " or ".join(TYPE_NAMES[k] for k in kinds)
        return f"Must be {wanted}."
    if value is None:
        return None
    if "enum" in schema and value not in schema["enum"]:
        return f"Must be one of {', '.join(map(str, schema['enum']))}."
    if isinstance(value, str):
        return _string_problem(value, schema)
    if isinstance(value, int | float) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            return f"Must be at least {schema['minimum']}."
        if "maximum" in schema and value > schema["maximum"]:
            return f"Must be at most {schema['maximum']}."
    if isinstance(value, list):
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            return f"At most {schema['maxItems']} items."
        for index, item in enumerate(value):
            message = problem_with(item, schema.get("items", {}))
            if message:
                return f"Item {index + 1}: {message}"
    return None


def _string_problem(value: str, schema: dict) -> str | None:
    if len(value) < schema.get("minLength", 0):
        return "Must not be empty." if schema["minLength"] == 1 else \
            f"At least {schema['minLength']} characters."
    if "maxLength" in schema and len(value) > schema["maxLength"]:
        return f"At most {schema['maxLength']} characters."
    pattern = schema.get("pattern")
    if pattern in (SINGLE_LINE_PATTERN, MULTI_LINE_PATTERN):
        # Our text patterns go through the shared rule: it names the character, and Python's `$` would
        # let a final line break through.
        message = plain_text.problem(value, multiline=pattern == MULTI_LINE_PATTERN)
        if message:
            return message
    elif pattern and not re.search(pattern, value):
        return f"Must match {pattern}."
    fmt = schema.get("format")
    if fmt == "date-time":
        return None if _DATE_TIME.match(value) and _parses(datetime, value) else \
            "Use an RFC 3339 date and time like 2026-03-31T14:00:00Z."
    if fmt == "date":
        return None if _DATE.match(value) and _parses(date, value) else "Use a date like 2026-03-31."
    if fmt == "email" and "@" not in value:
        return "Not a valid email address."
    return None


def _parses(kind: type, value: str) -> bool:
    try:
        parsed = kind.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
        if isinstance(parsed, datetime):
            parsed.astimezone(UTC)  # 0001-01-01T00:00:00+14:00 is not a representable UTC moment
    except (ValueError, OverflowError):
        return False
    return True


def check_body(data: object, schema: dict) -> dict:
    """The body as a dict if it matches the object `schema`; else ValidationError with every field."""
    if not isinstance(data, dict):
        raise ValidationError({"": "The body must be a JSON object."})
    properties = schema.get("properties", {})
    errors: dict[str, str] = {}
    for name in schema.get("required", ()):
        if name not in data:
            errors[name] = "This field is required."
    for name, value in data.items():
        if name not in properties:
            if schema.get("additionalProperties") is False:
                errors[str(name)] = "Unknown field."
            continue
        message = problem_with(value, properties[name])
        if message:
            errors[name] = message
    if errors:
        raise ValidationError(errors)
    return {name: _normalised(value, properties.get(name, {})) for name, value in data.items()}


def _normalised(value: object, schema: dict) -> object:
    """1.0 is a valid JSON integer: hand the services an int."""
    kinds = schema.get("type")
    kinds = [kinds] if isinstance(kinds, str) else (kinds or [])
    if isinstance(value, float) and "integer" in kinds and "number" not in kinds:
        return int(value)
    if isinstance(value, list):
        return [_normalised(item, schema.get("items", {})) for item in value]
    return value


def coerce_query(raw: str, schema: dict) -> object:
    """A query-string value converted to the schema's type (then checked); ValueError with a message."""
    kinds = schema.get("type")
    kinds = [kinds] if isinstance(kinds, str) else kinds
    value: object = raw
    if "integer" in kinds:
        if not _INTEGER.match(raw.strip()):
            raise ValueError("Must be a whole number.")
        value = int(raw)
    elif "boolean" in kinds:
        if raw.lower() not in ("true", "false"):
            raise ValueError("Must be true or false.")
        value = raw.lower() == "true"
    message = problem_with(value, schema)
    if message:
        raise ValueError(message)
    return value
