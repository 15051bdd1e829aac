"""Bounded numbers in routes, query strings and forms (app.services.numbers holds the bounds).

- `<id:name>` in a route: 1..MAX_ID in ASCII digits, anything else is simply not this route (404).
- `query_int(name, default, maximum=...)`: a query-string number; out of range or not a number -> 400.
- `BoundedIntegerField`, `coerce_id`: WTForms fields refuse numbers a column cannot hold (a field error).
- `FiniteDecimalField`: a DecimalField that refuses NaN, sNaN and Infinity (a field error).
"""

from __future__ import annotations

from decimal import Decimal

from flask import abort, request
from werkzeug.exceptions import NotFound
from werkzeug.routing import IntegerConverter
from wtforms import DecimalField, IntegerField
from wtforms.validators import ValidationError

from app.rules import display
from app.services.numbers import MAX_ID, MAX_INT, whole_number


class IdConverter(IntegerConverter):
    """`<id:...>`: a row id. Longer digit strings or ids beyond MAX_ID do not match the route (404)."""

    regex = r"[0-9]{1,19}"  # ASCII: werkzeug's \d also matches digits int() cannot read ("²")

    def to_python(self, value: str) -> int:
        number = int(value)
        if not 1 <= number <= MAX_ID:
            # Not werkzeug's ValidationError: with it, a path another method serves answers 405, not 404.
            raise NotFound()
        return number


def query_int(name: str, default: int, *, minimum: int = 1, maximum: int = MAX_INT) -> int:
    """The query-string number `name` (default when absent or empty); 400 when it is not in range."""
    raw = request.args.get(name, "")
    if not raw.strip():
        return default
    number = whole_number(raw, minimum=minimum, maximum=maximum)
    if number is None:
        abort(400, f"'{name}' must be a whole number from {minimum} to {maximum}.")
    return number


def coerce_id(value: object) -> int:
    """A SelectField / SelectMultipleField `coerce`: ValueError (WTForms' field error) beyond 1..MAX_ID."""
    number = whole_number(value, minimum=1, maximum=MAX_ID)
    if number is None:
        raise ValueError(f"Not a valid id: {str(value)[:20]!r}.")
    return number


class BoundedIntegerField(IntegerField):
    """An IntegerField limited to what an Integer column holds (NumberRange may narrow it further)."""

    def __init__(self, label=None, validators=None, *, minimum: int = -MAX_INT, maximum: int = MAX_INT,
                 **kwargs) -> None:
        super().__init__(label, validators, **kwargs)
        self.minimum, self.maximum = minimum, maximum

    def pre_validate(self, form) -> None:
        if self.data is not None and not self.minimum <= self.data <= self.maximum:
            raise ValidationError(f"Must be between {self.minimum} and {self.maximum}.")


class FiniteDecimalField(DecimalField):
    """Decimal("sNaN") crashes NumberRange (ValueError in math.isnan: a 500) and NaN/Infinity are no
    score: only finite numbers are a value."""

    def process_formdata(self, valuelist) -> None:
        super().process_formdata(valuelist)
        # Not sent: data is still the object's value (a float from the model), not a parsed Decimal.
        if isinstance(self.data, Decimal) and not self.data.is_finite():
            self.data = None
            raise ValueError(self.gettext("Not a valid decimal value."))

    def _value(self) -> str:
        """A stored 70.0 is shown as 70 (app/rules/display.py), what was typed as typed."""
        if self.raw_data:
            return self.raw_data[0]
        return display.score(self.data)


def init_app(app) -> None:
    app.url_map.converters["id"] = IdConverter
