"""Input hygiene shared by every form and query string."""

from __future__ import annotations

from flask import abort, request


def _refuse_nul_characters() -> None:
    """NUL can't be stored in PostgreSQL text: refuse it up front with a 400, never a 500 later."""
    for values in (request.args, request.form):
        for value in values.values():
            if "\x00" in value:
                abort(400, description="The request contains a NUL character, which is not allowed.")


def init_app(app) -> None:
    app.before_request(_refuse_nul_characters)
