"""Small helpers the lifecycle views share: filters from the query string and service errors on forms."""

from __future__ import annotations

from flask import request

from app.services.numbers import MAX_ID
from app.web.numbers import query_int


def filters(*names: str) -> dict[str, str]:
    """The named query-string arguments, stripped ('' when absent)."""
    return {name: request.args.get(name, "").strip() for name in names}


def int_arg(name: str) -> int | None:
    """An id filter from the query string: None when absent; 400 when not an id (never an overflow)."""
    return query_int(name, 0, minimum=1, maximum=MAX_ID) or None


def status_code(form) -> int:
    return 422 if form.errors or form.form_errors else 200
