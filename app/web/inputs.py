"""Input hygiene shared by every form and query string."""

from __future__ import annotations

from flask import abort, request
from flask_wtf import FlaskForm
from wtforms import Field, StringField, TextAreaField

from app.rules import plain_text


def _refuse_nul_characters() -> None:
    """NUL can't be stored in (or compared with) PostgreSQL text: refuse it up front with a 400, never a
    500 later — in the query string, the form, and the path (`/verify/%00` reached a query)."""
    if "\x00" in request.path:
        abort(400, description="The address contains a NUL character, which is not allowed.")
    for values in (request.args, request.form):
        for value in values.values():
            if "\x00" in value:
                abort(400, description="The request contains a NUL character, which is not allowed.")


def text_problem(field: Field) -> str | None:
    """The control-character rule for one field: text areas are multi-line (their CRLF becomes LF),
    every other text input (names, codes, URLs, passwords, hidden values) is a single line."""
    if not isinstance(field, StringField) or not isinstance(field.data, str):
        return None
    if isinstance(field, TextAreaField):
        field.data = plain_text.normalise_newlines(field.data)
        return plain_text.problem(field.data, multiline=True)
    return plain_text.problem(field.data)


class Form(FlaskForm):
    """The base of every form: a text field with a control character is an error next to the field
    (issue #11: a line break in a name reached mail headers), whatever else the form checks."""

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        for field in self:
            message = text_problem(field)
            if message:
                field.errors = [*field.errors, message]
                valid = False
        return valid


def init_app(app) -> None:
    app.before_request(_refuse_nul_characters)
