"""Declarative base, naming convention, column types and the clock shared by every model."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import DateTime, MetaData, TypeDecorator
from sqlalchemy.orm import DeclarativeBase, registry

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend.

    SQLite drops the offset, so values are stored as naive UTC and given back aware;
    comparisons in Python then behave the same on SQLite and PostgreSQL.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    registry = registry(metadata=MetaData(naming_convention=NAMING_CONVENTION),
                        type_annotation_map={datetime: UTCDateTime()})


SQLITE_BUSY_TIMEOUT_MS = 30000


def configure_sqlite(engine, busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS) -> None:
    """Make SQLite behave like the transactional database the services expect, with several writers.

    Transactions start only when a transaction writes, and then as BEGIN IMMEDIATE:
    - pysqlite opens a transaction lazily, just before the first data change (INSERT/UPDATE/DELETE);
      plain reads stay outside transactions (a long-lived session never holds a stale snapshot, and a
      read-only request or job never takes the write lock). `isolation_level = "IMMEDIATE"` makes that
      implicit BEGIN a BEGIN IMMEDIATE.
    - A SAVEPOINT issued first would open the transaction implicitly and its RELEASE would then commit
      everything, so a transaction is started (BEGIN IMMEDIATE) just before any savepoint: `begin_nested()`
      stays a true savepoint inside the caller's transaction.
    Why IMMEDIATE: a deferred transaction that reads first (inside a savepoint: the incoming hook, the
    syncs) holds a read snapshot; when another process commits before its first write, SQLite cannot
    upgrade it and answers "database is locked" at once, without waiting (SQLITE_BUSY_SNAPSHOT). An
    immediate transaction takes the single write lock up front, waiting up to the busy timeout for it,
    so writers simply take turns. WAL keeps readers and the one writer from blocking each other;
    foreign keys make ON DELETE rules real, as on PostgreSQL.
    """
    from sqlalchemy import event

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()
        dbapi_connection.isolation_level = "IMMEDIATE"

    @event.listens_for(engine, "savepoint")
    def _begin_before_savepoint(conn, _name):
        begin_write(conn)


def begin_write(conn) -> None:
    """SQLite: start this connection's write transaction now (BEGIN IMMEDIATE), unless one is open.

    For a read-then-write step that must see the latest committed rows and keep them until it commits
    (the SQLite side of SELECT ... FOR UPDATE). A no-op on other databases.
    """
    if conn.dialect.name != "sqlite":
        return
    if not conn.connection.driver_connection.in_transaction:
        conn.exec_driver_sql("BEGIN IMMEDIATE")
