"""Streamed CSV downloads whose rows are read while the body is sent, not while the view runs.

A streamed body outlives its view: Flask pops the request's app context (and Flask-SQLAlchemy closes that
context's session) as soon as the view returns the Response, before the server reads the first chunk.
Rows fetched through the view's session then fail half-way ("identity map is no longer valid" on SQLite,
a closed cursor elsewhere): the download stops after the header. So the view hands over a *function*
that runs the query; it is called inside the generator, under the contexts `stream_with_context` pushes
again, and therefore on a session that lives until the last row has been sent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from flask import Response, stream_with_context

from app.services.csv_export import csv_lines

Rows = Callable[[], Iterable[Iterable[object]]]


def csv_response(filename: str, header: list[str], rows: Rows) -> Response:
    """An attachment streaming `header` then every row `rows()` yields (called once the body is sent)."""
    response = Response(stream_with_context(_lines(header, rows)), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _lines(header: list[str], rows: Rows) -> Iterator[str]:
    yield from csv_lines(header, _deferred(rows))


def _deferred(rows: Rows) -> Iterator[Iterable[object]]:
    # A generator body runs at the first next(): the query starts after the header has gone out, inside
    # the re-pushed context.
    yield from rows()
