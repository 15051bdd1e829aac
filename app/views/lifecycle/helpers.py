"""Small helpers the lifecycle views share: filters from the query string and service errors on forms."""

from __future__ import annotations

from flask import request


def filters(*names: str) -> dict[str, str]:
    """The named query-string arguments, stripped ('' when absent)."""
    return {name: request.args.get(name, "").strip() for name in names}


def int_arg(name: str) -> int | None:
    value = request.args.get(name, type=int)
    return value if value and value > 0 else None


def status_code(form) -> int:
    return 422 if form.errors or form.form_errors else 200
