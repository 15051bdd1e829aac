"""A Redis cache of analytics figures, dropped as soon as the data behind them changes.

Why: on a big install (a million certificates) one figure costs 100 ms to a second of database time, and
the page shows eleven. The page, its htmx fragments and the API read figures through `figure()`; callers
that pass their own `now` (the scheduled report, tests of the numbers) compute directly.

Freshness: every key carries a generation number. A commit that changed a row the figures read bumps
it (SQLAlchemy session events below), so a figure is never older than the last relevant change. What
moves with the clock alone (a certificate turning from valid to expiring) is at most
`ANALYTICS_CACHE_SECONDS` old; each figure carries `as_of` so the page can say when it was computed.

Redis trouble never breaks analytics: the figure is computed and served without the cache.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Iterable

import redis
from flask import current_app, has_app_context
from sqlalchemy import event, inspect
from sqlalchemy.orm import ORMExecuteState, Session

from app.database import utcnow
from app.queue import get_redis
from app.services.analytics import figures
from app.services.analytics.filters import Filters

log = logging.getLogger(__name__)

GENERATION_KEY = "laurel:analytics:generation"
FIGURE_KEY = "laurel:analytics:figure:{generation}:{digest}"
_CHANGED = "laurel_analytics_changed"

#: Per table, the attributes the figures read. A new or deleted row always counts; an update counts
#: when it touches one of these (a login stamp or a PDF state change leaves the figures alone).
RELEVANT: dict[str, frozenset[str]] = {
    "certificates": frozenset({"user_id", "certification_id", "issued_at", "expires_at", "renewal_opens_at",
                               "revoked_at", "serial"}),
    "enrollments": frozenset({"user_id", "course_id", "status", "score", "completed_at", "created_at"}),
    "completions": frozenset({"user_id", "course_id", "completed_at", "score"}),
    "engagement_counters": frozenset({"certificate_id", "kind", "day", "count"}),
    "users": frozenset({"name", "email", "department_id", "department_ref"}),
    "departments": frozenset({"name", "name_key", "parent_id"}),
    "courses": frozenset({"code", "title", "category"}),
    "certifications": frozenset({"name", "courses"}),  # `courses` is the certification_courses link
    "certification_courses": frozenset({"certification_id", "course_id"}),
}


def _seconds() -> int:
    return current_app.config.get("ANALYTICS_CACHE_SECONDS", 0)


def enabled() -> bool:
    return _seconds() > 0


def _key(name: str, f: Filters, limit: int | None) -> str | None:
    """The figure's key under the current generation; None when caching is off or Redis is unavailable."""
    if not enabled():
        return None
    scope = sorted(f.departments) if f.departments is not None else None  # a manager's figures are theirs
    identity = json.dumps([name, sorted(f.args().items()), limit, scope])
    try:
        generation = int(get_redis().get(GENERATION_KEY) or 0)
    except redis.RedisError as exc:
        log.warning("analytics cache unavailable: %s", exc)
        return None
    return FIGURE_KEY.format(generation=generation, digest=hashlib.sha256(identity.encode()).hexdigest()[:32])


def _read(key: str | None) -> dict | None:
    if key is None:
        return None
    try:
        raw = get_redis().get(key)
    except redis.RedisError as exc:
        log.warning("analytics cache unavailable: %s", exc)
        return None
    return json.loads(raw) if raw else None


def cached(name: str, f: Filters, limit: int | None = None) -> dict | None:
    """The figure if the cache holds it for the current data, else None (nothing is computed)."""
    return _read(_key(name, f, limit))


def figure(name: str, f: Filters, limit: int | None = None) -> dict:
    """The figure from the cache, else computed now (and cached). KeyError for unknown names.

    The key is taken before computing: a change meanwhile bumps the generation past it, so a figure
    computed from older data is never served after the change."""
    key = _key(name, f, limit)
    hit = _read(key)
    if hit is not None:
        return hit
    data = {**figures.figure_data(name, f, limit=limit), "as_of": utcnow().isoformat(timespec="seconds")}
    if key:
        try:
            get_redis().set(key, json.dumps(data), ex=_seconds())
        except redis.RedisError as exc:
            log.warning("analytics cache unavailable: %s", exc)
    return data


def figures_within(f: Filters, names: Iterable[str], budget_ms: int) -> dict[str, dict | None]:
    """Every cached figure, and missing ones computed in order while the page's time budget lasts; the
    rest are None (the page loads them with htmx). A figure is only started inside the budget."""
    started = time.perf_counter()
    result: dict[str, dict | None] = {}
    for name in names:
        within_budget = (time.perf_counter() - started) * 1000 < budget_ms
        result[name] = figure(name, f) if within_budget else cached(name, f)
    return result


def invalidate() -> None:
    """Make every cached figure stale (old generations expire by themselves)."""
    try:
        get_redis().incr(GENERATION_KEY)
    except redis.RedisError as exc:
        log.warning("analytics cache not invalidated (entries expire within their TTL): %s", exc)


# -- change tracking ------------------------------------------------------------------------------------

def _instance_changed(obj: object, is_update: bool) -> bool:
    table = getattr(getattr(obj, "__table__", None), "name", None)
    if table not in RELEVANT:
        return False
    if not is_update:
        return True
    state = inspect(obj)
    return any(state.attrs[key].history.has_changes() for key in RELEVANT[table] if key in state.attrs)


@event.listens_for(Session, "after_flush")
def _note_orm_changes(session: Session, _context) -> None:
    changed = (any(_instance_changed(obj, False) for obj in (*session.new, *session.deleted))
               or any(_instance_changed(obj, True) for obj in session.dirty))
    if changed:
        session.info[_CHANGED] = True


def _statement_changes(state: ORMExecuteState) -> bool:
    table = getattr(getattr(state.statement, "table", None), "name", None)
    if table not in RELEVANT:
        return False
    if not state.is_update:
        return True
    columns = getattr(state.statement, "_values", None)  # the SET clause; unknown shape counts as a change
    names = {getattr(column, "key", column) for column in columns} if columns else None
    return names is None or bool(names & RELEVANT[table])


@event.listens_for(Session, "do_orm_execute")
def _note_statement_changes(state: ORMExecuteState) -> None:
    if (state.is_insert or state.is_update or state.is_delete) and _statement_changes(state):
        state.session.info[_CHANGED] = True


@event.listens_for(Session, "after_commit")
def _bump_after_commit(session: Session) -> None:
    if session.in_nested_transaction():  # a released SAVEPOINT: the outer transaction may still roll back
        return
    if session.info.pop(_CHANGED, False) and has_app_context() and enabled():
        invalidate()


@event.listens_for(Session, "after_soft_rollback")
def _forget_after_rollback(session: Session, previous_transaction) -> None:
    if previous_transaction.parent is None:  # the whole transaction, not a SAVEPOINT inside it
        session.info.pop(_CHANGED, None)
