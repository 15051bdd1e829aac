"""Generation numbers in Redis that a commit bumps when it changed rows a cache depends on.

A cache keys its entries by the current generation (`current(name)`), so the first read after such a
commit misses, in every process on every host, without knowing which entries the change touched. The
analytics cache works the same way (app/services/analytics/cache.py); this is the lifecycle side's copy
for the dashboard tiles and the public verify answers.

`track(name, columns)` registers what counts as a change: inserting or deleting a row of one of the
tables, or updating one of the listed columns (ORM objects and bulk statements alike). A rolled-back
transaction bumps nothing; a released SAVEPOINT waits for the outer commit.
"""

from __future__ import annotations

import logging
import secrets

import redis
from flask import has_app_context
from sqlalchemy import event, inspect
from sqlalchemy.orm import ORMExecuteState, Session

log = logging.getLogger(__name__)

KEY = "laurel:generation:{name}"
ANY = frozenset({"*"})  # track(): an update of any column counts
_CHANGED = "laurel_generations_changed"
_TRACKED: dict[str, dict[str, frozenset[str]]] = {}


def track(name: str, columns: dict[str, frozenset[str]]) -> None:
    """Bump generation `name` after commits that change these tables' rows or these columns."""
    _TRACKED[name] = columns


def _redis():
    from app.queue import get_redis

    return get_redis()


def current(name: str) -> int:
    """The generation now (raises redis.RedisError: callers then skip their cache).

    A missing key (a fresh or flushed Redis) starts at a random number, not 0: entries a process cached
    under the old numbering can never match again."""
    client, key = _redis(), KEY.format(name=name)
    value = client.get(key)
    if value is None:
        client.set(key, secrets.randbelow(2**48), nx=True)
        value = client.get(key)
    return int(value or 0)


def bump(*names: str) -> None:
    """Move these generations on, in one round trip (a missing key starts at random: see current)."""
    try:
        pipe = _redis().pipeline(transaction=False)
        for name in names:
            key = KEY.format(name=name)
            pipe.set(key, secrets.randbelow(2**48), nx=True)
            pipe.incr(key)
        pipe.execute()
    except redis.RedisError as exc:
        log.warning("%s cache not invalidated (entries expire within their TTL): %s", ", ".join(names), exc)


def _changed_by_object(obj: object, is_update: bool) -> set[str]:
    table = getattr(getattr(obj, "__table__", None), "name", None)
    hit = set()
    for name, columns in _TRACKED.items():
        if table not in columns:
            continue
        if not is_update:
            hit.add(name)
            continue
        state = inspect(obj)
        keys = state.attrs.keys() if columns[table] == ANY else columns[table]
        if any(state.attrs[key].history.has_changes() for key in keys if key in state.attrs):
            hit.add(name)
    return hit


@event.listens_for(Session, "after_flush")
def _note_orm_changes(session: Session, _context) -> None:
    changed = set()
    for obj in (*session.new, *session.deleted):
        changed |= _changed_by_object(obj, False)
    for obj in session.dirty:
        changed |= _changed_by_object(obj, True)
    if changed:
        session.info.setdefault(_CHANGED, set()).update(changed)


@event.listens_for(Session, "do_orm_execute")
def _note_statement_changes(state: ORMExecuteState) -> None:
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    table = getattr(getattr(state.statement, "table", None), "name", None)
    values = getattr(state.statement, "_values", None) if state.is_update else None
    names = {getattr(column, "key", column) for column in values} if values else None  # None: any column
    for name, columns in _TRACKED.items():
        if table in columns and (names is None or columns[table] == ANY or names & columns[table]):
            state.session.info.setdefault(_CHANGED, set()).add(name)


@event.listens_for(Session, "after_commit")
def _bump_after_commit(session: Session) -> None:
    if session.in_nested_transaction():  # a released SAVEPOINT: the outer transaction may still roll back
        return
    changed = session.info.pop(_CHANGED, None)
    if changed and has_app_context():
        bump(*sorted(changed))


@event.listens_for(Session, "after_soft_rollback")
def _forget_after_rollback(session: Session, previous_transaction) -> None:
    if previous_transaction.parent is None:  # the whole transaction, not a SAVEPOINT inside it
        session.info.pop(_CHANGED, None)
