"""Putting a service's ValidationError onto a WTForms form: one helper for every blueprint."""

from __future__ import annotations

from collections.abc import Container

from app.services.errors import ValidationError


def put_errors(form, exc: ValidationError, fields: Container[str] | None = None) -> None:
    """Copy {field: message} next to the field, or onto the whole form when the form has no such field
    (or it is not among `fields`, when given: e.g. fields the current integration template shows)."""
    for name, message in exc.errors.items():
        field = getattr(form, name, None) if name and (fields is None or name in fields) else None
        if field is not None and isinstance(getattr(field, "errors", None), list | tuple):
            field.errors = [*field.errors, message]
        else:
            form.form_errors.append(message)
