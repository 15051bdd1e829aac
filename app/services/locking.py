"""Row locks for state changes that must happen once, however many identical requests race.

A service checks a row's state (not completed yet, not revoked yet, not active yet) and then changes it.
Two requests arriving together would both pass the check on the state they loaded before either
committed, and both record the change, emit its event and send its mail. `hold(row)` at the start of
such a service makes the second request wait for the first one's commit and then re-read the row, so
its check sees the change and it does nothing (or is refused).
"""

from __future__ import annotations

from typing import TypeVar

from app.database import begin_write
from app.extensions import db

Row = TypeVar("Row")


def hold(row: Row) -> Row:
    """Lock `row` until the transaction ends and reload it with the latest committed values.

    PostgreSQL: SELECT ... FOR NO KEY UPDATE (READ COMMITTED: the reload sees what the holder committed).
    SQLite: BEGIN IMMEDIATE, SQLite's single write lock (app/database.py). Changes made earlier in this
    transaction are flushed first, so the reload keeps them (it sees this transaction's own writes).
    """
    target = row._get_current_object() if hasattr(row, "_get_current_object") else row  # current_user
    db.session.flush()
    begin_write(db.session.connection())
    # OF the row's own table: a row loaded with eager joins is refreshed with them, and PostgreSQL
    # refuses to lock the nullable side of an outer join. NO KEY UPDATE (key_share): holders take turns,
    # but rows merely referencing this one (an enrollment inserted for a held course) are not blocked,
    # so a completion holding the learner and an enrollment holding the course cannot deadlock.
    db.session.refresh(target, with_for_update={"of": type(target), "key_share": True})
    return row
