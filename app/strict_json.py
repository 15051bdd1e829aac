"""The one JSON parser for everything Laurel receives (API bodies, integrations API, incoming hooks).

Python's json module recurses once per nesting level, so 1,000 nested brackets end in RecursionError (a
500), and it silently keeps the last of two equal keys (`{"role": "learner", "role": "admin"}` is admin)
and accepts NaN / Infinity (and turns 1e400 into infinity). `loads` refuses all of these with
`JSONInputError` (a ValueError) before anything recurses. `install(app)` makes `request.get_json()` use
it and answer 400 with the reason.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from flask import Flask
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import BadRequest

MAX_DEPTH = 32  # no document we accept nests more than a few levels
_SPECIAL = re.compile(r'[\[\]{}"\\]')


class JSONInputError(ValueError):
    """The text is not JSON we accept; the message says why (and never echoes more than a key name)."""


def loads(data: str | bytes | bytearray, **_ignored: Any) -> Any:
    """Parse JSON text, refusing deep nesting, duplicate keys and non-finite numbers."""
    if isinstance(data, bytes | bytearray):
        try:
            text = data.decode(json.detect_encoding(data))
        except UnicodeDecodeError:  # e.g. a UTF-16 byte-order mark followed by an odd number of bytes
            raise JSONInputError("The body is not text in UTF-8, UTF-16 or UTF-32.") from None
    else:
        text = data
    _check_depth(text)
    try:
        return json.loads(text, object_pairs_hook=_object, parse_constant=_constant, parse_float=_float)
    except JSONInputError:
        raise
    except ValueError as exc:  # JSONDecodeError, or an integer with more than 4,300 digits
        raise JSONInputError(str(exc)) from None


def _check_depth(text: str) -> None:
    """Refuse nesting deeper than MAX_DEPTH with one linear pass (no recursion), skipping strings."""
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return  # cannot be too deep: the common case costs two counts
    depth, in_string, escaped_at = 0, False, -1
    for match in _SPECIAL.finditer(text):
        char, position = match.group(), match.start()
        if position == escaped_at:
            continue  # the character after a backslash inside a string
        if in_string:
            if char == "\\":
                escaped_at = position + 1
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                raise JSONInputError(f"Nested deeper than {MAX_DEPTH} levels.")
        elif char in "]}":
            depth -= 1


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise JSONInputError(f"Duplicate key {key[:60]!r}.")
        result[key] = value
    return result


def _constant(name: str) -> Any:
    raise JSONInputError(f"{name} is not a JSON number.")


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise JSONInputError("A number is too large.")
    return value


class StrictJSONProvider(DefaultJSONProvider):
    """`app.json`: Flask hands it to every request as `json_module`, so `request.get_json()` uses `loads`."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return loads(s)


class StrictJSONMixin:
    """Say why `request.get_json()` refused the body (Flask's own 400 says nothing outside debug)."""

    def on_json_loading_failed(self, e: ValueError | None) -> Any:
        if e is None:  # not sent as JSON: the caller decides (the API answers 415)
            return super().on_json_loading_failed(e)
        raise BadRequest(f"The body is not valid JSON: {e}")


def install(app: Flask) -> None:
    """Parse every JSON body with `loads`; call after the extensions (htmx-flask sets its request class)."""
    app.json = StrictJSONProvider(app)
    app.request_class = type(f"Strict{app.request_class.__name__}", (StrictJSONMixin, app.request_class), {})
