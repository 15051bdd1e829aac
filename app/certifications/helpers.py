"""Small helpers the lifecycle views share: filters from the query string and service errors on forms."""

from __future__ import annotations

from flask import request

from app.services.errors import ValidationError


def filters(*names: str) -> dict[str, str]:
    """The named query-string arguments, stripped ('' when absent)."""
    return {name: request.args.get(name, "").strip() for name in names}


def int_arg(name: str) -> int | None:
    value = request.args.get(name, type=int)
    return value if value and value > 0 else None


def put_errors(form, exc: ValidationError) -> None:
    """Copy a service's {field: message} onto the form: next to the field, or on the whole form."""
    for field_name, message in exc.errors.items():
        field = getattr(form, field_name, None) if field_name else None
        if field is not None and hasattr(field, "errors"):
            field.errors = [*field.errors, message]
        else:
            form.form_errors.append(message)


def status_code(form) -> int:
    return 422 if form.errors or form.form_errors else 200
