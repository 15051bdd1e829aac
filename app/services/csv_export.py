"""Streaming CSV exports: rows go out as they are read, never all in memory."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator

from app.extensions import db


def csv_lines(header: list[str], rows: Iterable[Iterable[object]]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    yield _drain(buffer)
    for row in rows:
        writer.writerow([_cell(v) for v in row])
        if buffer.tell() > 16384:
            yield _drain(buffer)
    yield _drain(buffer)


def _cell(value: object) -> object:
    # Spreadsheet formula injection: a cell starting with = + - @ is kept as text.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return "" if value is None else value


def _drain(buffer: io.StringIO) -> str:
    value = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return value


def stream_rows(stmt, batch: int = 1000):
    """Yield ORM rows in batches from a server-side cursor where the backend has one."""
    return db.session.execute(stmt.execution_options(yield_per=batch)).scalars()
