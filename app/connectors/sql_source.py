"""SQL source: run an admin's read-only query against another database and hand back CSV rows.

The rows become the CSV import format (email, name, department, course_code, status, score,
completed_at) so the import service validates and applies them exactly like an uploaded file.
The connection is read-only where the backend allows it (SQLite `query_only`, PostgreSQL
`SET TRANSACTION READ ONLY` + a statement timeout) and always rolled back; use a database user
with SELECT rights only as well.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.pool import NullPool

COLUMNS = ("email", "name", "department", "course_code", "status", "score", "completed_at")
REQUIRED = ("email", "course_code")
MAX_ROWS = 20000
STATEMENT_TIMEOUT_MS = 60_000
#: No import column holds more than a few hundred characters, so a longer cell is refused anyway; cutting
#: it here keeps one huge value under the csv module's field limit (which would end the whole file).
MAX_CELL = 1000


class SourceError(Exception):
    """The database cannot be reached, the query fails, or its columns are wrong (message is for admins)."""


def normalise_url(url: str) -> str:
    """Accept postgres:// and postgresql:// (psycopg 3 is the driver we ship)."""
    url = url.strip()
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value if value.tzinfo else value.replace(tzinfo=UTC)
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    text_value = str(value)
    return text_value if len(text_value) <= MAX_CELL else text_value[: MAX_CELL + 1]


def fetch_rows(url: str, query: str, *, limit: int = MAX_ROWS) -> list[dict[str, str]]:
    """Run ``query`` read-only and return up to ``limit`` rows as text cells keyed by lower-cased column."""
    try:
        parsed = make_url(normalise_url(url))
    except ArgumentError:
        raise SourceError("The database URL is not a valid SQLAlchemy URL.") from None
    backend = parsed.get_backend_name()
    args = {"connect_timeout": 10} if backend == "postgresql" else {}
    try:
        engine = create_engine(parsed, poolclass=NullPool, connect_args=args)
    except (ArgumentError, ImportError) as exc:
        raise SourceError(f"Unsupported database: {exc}") from None
    try:
        with engine.connect() as conn:
            if backend == "sqlite":
                conn.exec_driver_sql("PRAGMA query_only = ON")
            elif backend == "postgresql":
                conn.exec_driver_sql("SET TRANSACTION READ ONLY")
                conn.exec_driver_sql(f"SET LOCAL statement_timeout = {STATEMENT_TIMEOUT_MS}")
            result = conn.execute(text(query))
            columns = [c.lower() for c in result.keys()]  # noqa: SIM118 - a Result, not a dict
            rows = [
                dict(zip(columns, (_cell(v) for v in record), strict=True))
                for record in result.fetchmany(limit)
            ]
            conn.rollback()
    except SQLAlchemyError as exc:
        message = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        raise SourceError(f"The query failed: {message[:500]}") from None
    finally:
        engine.dispose()
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        raise SourceError(
            f"The query must return the column(s) {', '.join(missing)} (expected {', '.join(COLUMNS)})."
        )
    return rows


def to_csv(rows: list[Mapping[str, str]]) -> bytes:
    """The rows as a CSV file in the import format (header + one line per row)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({c: row.get(c, "") for c in COLUMNS})
    return out.getvalue().encode("utf-8")
