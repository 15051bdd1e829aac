"""Page-or-fragment rendering, pagination and small request helpers shared by views."""

from __future__ import annotations

from flask import make_response, render_template, request

from app.services.numbers import MAX_PAGE
from app.web.numbers import query_int


def is_fragment_request() -> bool:
    """An htmx swap wants the fragment; boosted navigation and history restores want the page."""
    htmx = request.htmx
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request


def render_page_or_fragment(page: str, fragment: str, status: int = 200, **context):
    """One helper decides: the full page includes the fragment; htmx gets the fragment alone."""
    template = fragment if is_fragment_request() else page
    response = make_response(render_template(template, **context), status)
    response.vary.add("HX-Request")
    return response


def page_args(default_per_page: int = 25, max_per_page: int = 100) -> tuple[int, int]:
    """?page= and ?per_page= of a list page; 400 when not a whole number in range (never an overflow)."""
    page = query_int("page", 1, maximum=MAX_PAGE)
    return page, query_int("per_page", default_per_page, maximum=max_per_page)
