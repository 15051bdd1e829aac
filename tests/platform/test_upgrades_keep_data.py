"""An upgrade never loses rows: a database at every older revision, with one row in every table, keeps them
all through `flask db upgrade` to the newest revision (SQLite: batch mode rebuilds a table by dropping it,
which with foreign keys on would delete, or refuse, every row that references it)."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, inspect, text

FILLERS = {"INTEGER": 1, "BIGINT": 1, "SMALLINT": 1, "BOOLEAN": 0, "FLOAT": 1.0, "NUMERIC": 1, "REAL": 1.0,
           "DATETIME": "2026-01-01 00:00:00.000000", "DATE": "2026-01-01", "JSON": "{}", "TEXT": "x",
           "BLOB": b"x"}


def _filler(column_type: str) -> object:
    name = column_type.upper().split("(")[0].strip()
    return FILLERS.get(name, "x")


def _in_dependency_order(connection) -> list[str]:
    inspector = inspect(connection)
    tables = [t for t in inspector.get_table_names() if t != "alembic_version"]
    ordered: list[str] = []

    def visit(table: str, path: frozenset) -> None:
        if table in ordered or table in path:
            return
        for fk in inspector.get_foreign_keys(table):
            if fk["referred_table"] != table:
                visit(fk["referred_table"], path | {table})
        ordered.append(table)

    for table in sorted(tables):
        visit(table, frozenset())
    return ordered


def _one_row_everywhere(connection) -> dict[str, int]:
    """Row id 1 in every table, every NOT NULL column given a value of its type (foreign keys point at
    the row 1 of their table, inserted first)."""
    inspector = inspect(connection)
    for table in _in_dependency_order(connection):
        columns = connection.exec_driver_sql(f'PRAGMA table_info("{table}")').fetchall()
        values = {name: (1 if name == "id" else _filler(kind)) for _cid, name, kind, notnull, default, _pk
                  in columns if (notnull and default is None) or name == "id"}
        for fk in inspector.get_foreign_keys(table):  # point at the parent's row, whatever its key holds
            if fk["referred_table"] == table:
                continue
            parent = connection.exec_driver_sql(
                "SELECT {} FROM \"{}\" LIMIT 1".format(", ".join(f'"{c}"' for c in fk["referred_columns"]),
                                                        fk["referred_table"])).first()
            values.update(zip(fk["constrained_columns"], parent, strict=True))
        names = ", ".join(f'"{n}"' for n in values)
        marks = ", ".join("?" for _ in values)
        insert = f'INSERT INTO "{table}" ({names}) VALUES ({marks})'
        connection.exec_driver_sql(insert, tuple(values.values()))
    return {t: connection.exec_driver_sql(f'SELECT count(*) FROM "{t}"').scalar()
            for t in _in_dependency_order(connection)}


@pytest.mark.parametrize("start", ["0011_public_profiles", "0017_scim"])
def test_upgrading_a_sqlite_database_with_data_keeps_every_row(app, tmp_path, start):
    from flask_migrate import upgrade

    from app import create_app
    from app.extensions import db

    url = f"sqlite:///{tmp_path / 'old.db'}"
    old = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": app.config["REDIS_URL"]})
    with old.app_context():
        upgrade(revision=start)
        db.session.remove()
        db.engine.dispose()
    raw = create_engine(url)
    with raw.begin() as connection:
        before = _one_row_everywhere(connection)
    raw.dispose()
    with old.app_context():
        upgrade()
        with db.engine.connect() as connection:
            after = {t: connection.execute(text(f'SELECT count(*) FROM "{t}"')).scalar() for t in before}
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1  # back on afterwards
        db.session.remove()
        db.engine.dispose()
    lost = {t: (before[t], after[t]) for t in before if after[t] < before[t]}
    assert not lost, f"rows lost by the upgrade from {start}: {lost}"
