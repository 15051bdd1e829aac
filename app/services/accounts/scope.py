"""Who sees whose records: the one place that decides the people a staff-side user may read or manage.

- admins, and staff granted "reads everything" (`User.reads_everything`): everyone;
- managers: the members of the departments they manage and of every department below them, and they may
  manage those people (enrol, record completions, revoke/reinstate, issue, download);
- staff without the grant: the same people as a manager of the same departments, read-only;
- learners: themselves only (the learner pages and the API's own-rows rule handle them).

Every list, detail, export, figure and API route filters with `user_clause(column, actor)` (SQL) or checks
`can_see_user` / `can_manage_user`; an out-of-scope detail answers 404, never 403.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, Select, select, true

from app.extensions import db
from app.models import User, department_managers
from app.services.accounts import departments

SCOPED_ROLES = ("manager", "staff")
MANAGING_ROLES = ("admin", "manager")
_CACHE = departments.SCOPE_CACHE


def reads_everything(actor: User | None) -> bool:
    if actor is None or not getattr(actor, "is_authenticated", True):
        return False
    return actor.role == "admin" or (actor.role == "staff" and bool(actor.reads_everything))


def department_ids(actor: User) -> frozenset[int] | None:
    """The departments whose members `actor` may see (managed ones and everything below them); None when
    `actor` sees everyone. One query, remembered for the rest of the transaction."""
    if reads_everything(actor):
        return None
    if actor.role not in SCOPED_ROLES:
        return frozenset()
    cache = db.session.info.setdefault(_CACHE, {})
    if actor.id not in cache:
        managed = select(department_managers.c.department_id).where(department_managers.c.user_id == actor.id)
        cache[actor.id] = frozenset(db.session.scalars(departments.subtree_select(managed)))
    return cache[actor.id]


def forget() -> None:
    """Drop the remembered scopes (after managers or the tree changed in this transaction)."""
    db.session.info.pop(_CACHE, None)


def visible_user_ids(actor: User) -> Select | None:
    """SQL selecting the ids of the people `actor` may see (a learner: themselves); None: everyone."""
    ids = department_ids(actor)
    if ids is None:
        return None
    if actor.role not in SCOPED_ROLES:
        return select(User.id).where(User.id == actor.id)
    return select(User.id).where(User.department_id.in_(sorted(ids)))


def user_clause(column: ColumnElement, actor: User) -> ColumnElement:
    """A WHERE condition keeping rows whose person (`column`: a user id column) `actor` may see."""
    ids = visible_user_ids(actor)
    return true() if ids is None else column.in_(ids)


def restrict(stmt: Select, column: ColumnElement, actor: User) -> Select:
    ids = visible_user_ids(actor)
    return stmt if ids is None else stmt.where(column.in_(ids))


def can_see_user(actor: User, user: User | None) -> bool:
    if user is None:
        return False
    ids = department_ids(actor)
    return ids is None or user.department_id in ids or (actor.role == "learner" and user.id == actor.id)


def can_manage_user(actor: User, user: User | None) -> bool:
    """May `actor` change this person's enrollments and certificates?"""
    return actor.role in MANAGING_ROLES and can_see_user(actor, user)


def sees_department(actor: User, department_id: int | None) -> bool:
    ids = department_ids(actor)
    return ids is None or department_id in ids
