"""SQL source: run an admin's read-only query against another database and hand back CSV rows.

The rows become the CSV import format (email, name, department, course_code, status, score,
completed_at) so the import service validates and applies them exactly like an uploaded file.
The connection is read-only where the backend allows it (SQLite `query_only`, PostgreSQL
`SET TRANSACTION READ ONLY` + a statement timeout) and always rolled back; use a database user
with SELECT rights only as well.

Where it may connect is the outgoing-address policy's call (:func:`check_url`, at save and at
connect time): PostgreSQL on a public host, or a SQLite file inside SQL_IMPORT_DIR. Error texts
never carry row values (:func:`query_error`, :func:`scrub`).
"""

from __future__ import annotations

import csv
import io
import os
import re
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.pool import NullPool

from app.connectors import egress

COLUMNS = ("email", "name", "department", "course_code", "status", "score", "completed_at")
REQUIRED = ("email", "course_code")
MAX_ROWS = 20000
STATEMENT_TIMEOUT_MS = 60_000
#: No import column holds more than a few hundred characters, so a longer cell is refused anyway; cutting
#: it here keeps one huge value under the csv module's field limit (which would end the whole file).
MAX_CELL = 1000
#: libpq URL options an admin may set; the rest could redirect the connection or read local files.
PG_QUERY_KEYS = frozenset({"sslmode", "connect_timeout", "application_name"})
#: Cell values at least this long are masked in error texts (shorter ones would eat "row 12").
MIN_MASKED = 4
_QUOTED = re.compile(r"""(["'])(.*?)\1""")


class SourceError(Exception):
    """The database cannot be reached, the query fails, or its columns are wrong (message is for admins)."""


@dataclass(frozen=True)
class Target:
    """A checked source: what to connect to, with the address pinned (app.connectors.egress)."""

    backend: str  # "postgresql" or "sqlite"
    url: URL
    connect_args: dict[str, Any] = field(default_factory=dict)
    sqlite_path: Path | None = None
    addresses: tuple[egress.IPAddress, ...] = ()


def normalise_url(url: str) -> str:
    """Accept postgres:// and postgresql:// (psycopg 3 is the driver we ship)."""
    url = url.strip()
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def check_url(
    url: str, *, allow_private: bool, import_dir: Path | None, own_database: str | None = None
) -> Target:
    """Validate a source URL against the outgoing policy; raise SourceError with the reason.

    PostgreSQL (psycopg) only, on a network host whose every address is public (unless
    OUTGOING_ALLOW_PRIVATE); the address checked is the one connected to (``hostaddr``), so DNS
    cannot change in between. SQLite only for a file whose real path is in ``import_dir``
    (SQL_IMPORT_DIR, already checked to be outside the code tree and instance/). Laurel's own
    database (``own_database``) is never a source, even where the policy would allow its address.
    """
    try:
        parsed = make_url(normalise_url(url))
    except (ArgumentError, ValueError):
        raise SourceError("The database URL is not valid (postgresql://user:password@host/db).") from None
    # From the name itself: asking SQLAlchemy for the driver would import the dialect the admin named.
    backend, _, driver = parsed.drivername.partition("+")
    if backend == "postgresql" and driver == "psycopg":
        target = _check_postgresql(parsed, allow_private)
    elif backend == "sqlite" and driver in ("", "pysqlite"):
        target = _check_sqlite(parsed, import_dir)
    else:
        raise _unsupported(parsed, import_dir)
    if own_database and _is_own(target, own_database):
        raise SourceError("This is Laurel's own database: it cannot be a source.")
    return target


def _unsupported(parsed: URL, import_dir: Path | None) -> SourceError:
    return SourceError(
        f"Unsupported database {parsed.drivername!r}: only PostgreSQL sources "
        "(postgresql://user:password@host:5432/database) are supported"
        + (", and SQLite files in SQL_IMPORT_DIR." if import_dir else ".")
    )


def _is_own(target: Target, own_database: str) -> bool:
    """Does ``target`` name the database Laurel itself runs on (same file, or same server and name)?"""
    own = make_url(normalise_url(own_database))
    if target.sqlite_path is not None:
        return own.drivername.startswith("sqlite") and bool(own.database) and (
            Path(os.path.realpath(own.database)) == target.sqlite_path
        )
    if not own.drivername.startswith("postgresql") or own.database != target.url.database:
        return False
    if (own.port or 5432) != (target.url.port or 5432):
        return False
    try:
        theirs = set(egress.resolve(own.host or "localhost", own.port or 5432))
    except egress.HostUnresolvable:
        return False
    ours = set(target.addresses)
    # 127.0.0.1 and ::1 (or a unix socket) are one machine for this purpose.
    return bool(ours & theirs) or (all(a.is_loopback for a in ours) and all(a.is_loopback for a in theirs))


def _check_postgresql(parsed: URL, allow_private: bool) -> Target:
    host = parsed.host or ""
    # No host means a local unix socket; "/..." is a socket folder; "a,b" is libpq's host list.
    if not host or host.startswith("/") or any(c in host for c in ",% \t"):
        raise SourceError("Enter the database server's host name (a single network host).")
    unknown = sorted(set(parsed.query) - PG_QUERY_KEYS)
    if unknown:
        # host=, hostaddr=, service=, passfile=, sslkey= ... would bypass the address policy or
        # make libpq read files on this server.
        allowed = ", ".join(sorted(PG_QUERY_KEYS))
        raise SourceError(f"The URL option(s) {', '.join(unknown)} are not allowed (allowed: {allowed}).")
    try:
        addresses = egress.check_host(host, parsed.port or 5432, allow_private=allow_private)
    except egress.AddressRefused as exc:
        raise SourceError(f"The database host is not allowed: {exc}") from None
    except egress.HostUnresolvable as exc:
        raise SourceError(f"Cannot reach the database host: {exc}") from None
    # hostaddr pins the checked address: libpq connects there and does not resolve host again.
    args = {"connect_timeout": 10, "hostaddr": str(addresses[0])}
    return Target("postgresql", parsed, args, addresses=tuple(addresses))


def _check_sqlite(parsed: URL, import_dir: Path | None) -> Target:
    if import_dir is None:
        raise SourceError(
            "SQLite sources are refused: the server setting SQL_IMPORT_DIR (a folder outside the "
            "application and its instance folder) is not set."
        )
    database = parsed.database or ""
    if parsed.query or database.startswith("file:") or database in ("", ":memory:"):
        raise SourceError("Give the absolute path of a SQLite file (sqlite:////path/file.db), not a URI.")
    if not Path(database).is_absolute():
        raise SourceError(f"Give the absolute path of a SQLite file in {import_dir}.")
    real = Path(os.path.realpath(database))
    inside = import_dir == real.parent or import_dir in real.parents
    if not inside or not real.is_file():
        # One message for "outside" and "missing": no probing of the server's file system.
        raise SourceError(f"The SQLite file must be an existing file in {import_dir} (SQL_IMPORT_DIR).")
    return Target("sqlite", parsed, sqlite_path=real)


def _engine(target: Target) -> Engine:
    if target.sqlite_path is not None:
        # Opened read-only by its real path: no URI options of the admin's reach the driver.
        uri = f"file:{quote(str(target.sqlite_path))}?mode=ro"
        return create_engine("sqlite://", poolclass=NullPool, creator=lambda: sqlite3.connect(uri, uri=True))
    return create_engine(target.url, poolclass=NullPool, connect_args=target.connect_args)


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


def query_error(exc: BaseException, query: str) -> str:
    """The driver's first line with quoted values masked: an error such as ``invalid input syntax
    for type integer: "$pbkdf2..."`` must not hand row data (password hashes) to the admin.
    Quoted words that appear in the query itself (column and table names) are kept."""
    message = str(getattr(exc, "orig", None) or exc).splitlines()[0] if str(exc) else type(exc).__name__

    def mask(match: re.Match[str]) -> str:
        return match.group(0) if match.group(2) in query else f"{match.group(1)}…{match.group(1)}"

    return _QUOTED.sub(mask, message)[:500]


def scrub(message: str, rows: list[Mapping[str, str]]) -> str:
    """``message`` (an import error about these rows) with quoted text and every cell value masked."""
    message = _QUOTED.sub(lambda m: f"{m.group(1)}…{m.group(1)}", message)
    values = {v for row in rows for v in row.values() if len(v) >= MIN_MASKED}
    for value in sorted(values, key=len, reverse=True):
        message = message.replace(value, "…")
    return message


def fetch_rows(
    url: str,
    query: str,
    *,
    allow_private: bool,
    import_dir: Path | None,
    own_database: str | None = None,
    limit: int = MAX_ROWS,
) -> list[dict[str, str]]:
    """Run ``query`` read-only and return up to ``limit`` rows as text cells keyed by lower-cased column.

    The URL is checked again here (not only when saved): DNS and SQL_IMPORT_DIR may have changed.
    """
    target = check_url(url, allow_private=allow_private, import_dir=import_dir, own_database=own_database)
    try:
        engine = _engine(target)
    except (ArgumentError, ImportError):
        raise SourceError("Unsupported database driver.") from None
    try:
        with engine.connect() as conn:
            if target.backend == "sqlite":
                conn.exec_driver_sql("PRAGMA query_only = ON")
            else:
                conn.exec_driver_sql("SET TRANSACTION READ ONLY")
                conn.exec_driver_sql(f"SET LOCAL statement_timeout = {STATEMENT_TIMEOUT_MS}")
            result = conn.execute(text(query))
            columns = [c.lower() for c in result.keys()]  # noqa: SIM118 - a Result, not a dict
            rows = [
                dict(zip(columns, (_cell(v) for v in record), strict=True))
                for record in result.fetchmany(limit)
            ]
            conn.rollback()
    except (SQLAlchemyError, sqlite3.Error) as exc:
        raise SourceError(f"The query failed: {query_error(exc, query)}") from None
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
