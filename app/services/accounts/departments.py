"""Departments: the tree people belong to (faculty > department > team) and who manages each node.

Names are unique case-insensitively (`Department.name_key`). SSO claims, SCIM groups, CSV imports and
the API give departments by *name*: `find_or_create` / `by_name` turn a name into the row.
A manager's scope is the departments they manage and everything below them: `subtree_ids` (one query)
or `subtree_select` (the same, as SQL to put inside another query).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Select, delete, func, insert, select
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import Department, User, department_managers
from app.services import audit
from app.services.errors import NotAllowed, ValidationError
from app.services.fields import clean_text

MAX_NAME = 120
# app/services/accounts/scope.py remembers each manager's departments per session: changes here forget them.
SCOPE_CACHE = "laurel_scope_departments"


def _forget_scopes() -> None:
    db.session.info.pop(SCOPE_CACHE, None)


def clean_name(raw: object, field: str = "name") -> str:
    """A department name: one line, inner whitespace collapsed, 1..120 characters."""
    try:
        name = " ".join(clean_text(raw, MAX_NAME, required=True, label="the department's name").split())
    except ValueError as exc:
        raise ValidationError({field: str(exc)}) from None
    return name


def name_key(name: str) -> str:
    return " ".join(name.split()).lower()


def by_name(name: str) -> Department | None:
    """The department with this name (any case, surrounding/inner spaces ignored), or None."""
    if not isinstance(name, str) or not name.strip():
        return None
    return db.session.scalar(select(Department).where(Department.name_key == name_key(name)[:MAX_NAME]))


def get(department_id: int) -> Department | None:
    return db.session.get(Department, department_id)


def find_or_create(name: str, *, actor: audit.Actor, parent: Department | None = None) -> Department:
    """The department called `name`, created (under `parent`) when there is none yet.

    An existing department is returned as it is (not moved under `parent`). Two requests creating the same
    name at once both get the one row: the loser of the race finds the winner's row after its insert fails.
    Raises ValidationError for an unusable name."""
    name = clean_name(name)
    existing = by_name(name)
    if existing is not None:
        return existing
    if parent is not None and parent.id is None:
        db.session.flush()  # a parent made in this transaction gets its id
    department = Department(name=name, name_key=name_key(name), parent_id=parent.id if parent else None)
    try:
        with db.session.begin_nested():
            db.session.add(department)
            db.session.flush()
    except IntegrityError:
        found = by_name(name)
        if found is None:  # not a name clash after all
            raise
        return found
    audit.record(actor, "department.created", "department", department.id, f"Department {name} created",
                 parent=parent.name if parent else None)
    return department


def create(name: str, *, actor: audit.Actor, parent: Department | None = None) -> Department:
    """A new department; refuses a name that is taken (unlike `find_or_create`)."""
    name = clean_name(name)
    if by_name(name) is not None:
        raise ValidationError({"name": "A department with this name exists already."})
    return find_or_create(name, actor=actor, parent=parent)


def rename(department: Department, name: str, *, actor: audit.Actor) -> None:
    name = clean_name(name)
    other = by_name(name)
    if other is not None and other.id != department.id:
        raise ValidationError({"name": "A department with this name exists already."})
    if name == department.name:
        return
    old = department.name
    department.name, department.name_key = name, name_key(name)
    audit.record(actor, "department.renamed", "department", department.id,
                 f"Department {old} renamed to {name}", changes={"name": [old, name]})


def move(department: Department, parent: Department | None, *, actor: audit.Actor) -> None:
    """Put `department` under `parent` (None: at the top). Refuses to put it under itself or under one of
    its own sub-departments (that would make a cycle)."""
    if parent is not None and parent.id in subtree_ids([department.id]):
        raise ValidationError(
            {"parent_id": "A department cannot go under itself or one of its sub-departments."})
    new_parent_id = parent.id if parent else None
    if new_parent_id == department.parent_id:
        return
    old = department.parent.name if department.parent else None
    department.parent = parent
    db.session.flush()
    _forget_scopes()
    audit.record(actor, "department.moved", "department", department.id,
                 f"Department {department.name} moved",
                 changes={"parent": [old, parent.name if parent else None]})


def delete_department(department: Department, *, actor: audit.Actor) -> None:
    """Delete an empty department: no members and no sub-departments (NotAllowed otherwise)."""
    if member_count(department.id):
        raise NotAllowed(f"{department.name} still has members: move them to another department first.")
    children = select(func.count()).select_from(Department).where(Department.parent_id == department.id)
    if db.session.scalar(children):
        raise NotAllowed(f"{department.name} has sub-departments: move or delete them first.")
    audit.record(actor, "department.deleted", "department", department.id,
                 f"Department {department.name} deleted")
    db.session.delete(department)
    db.session.flush()
    _forget_scopes()


def assign(user: User, department: Department | None, *, actor: audit.Actor) -> None:
    """Make `user` a member of `department` (None: of none)."""
    new_id = department.id if department is not None else None
    if user.department_id == new_id:
        return
    old = user.department_ref.name if user.department_ref is not None else None
    user.department_ref = department
    user.department_id = new_id
    audit.record(actor, "user.department_changed", "user", user.id, f"Department of {user.email} changed",
                 changes={"department": [old, department.name if department else None]})


def set_managers(department: Department, users: Iterable[User], *, actor: audit.Actor) -> None:
    """The people who manage `department` (and so see everything below it)."""
    wanted = {u.id: u for u in users}
    current = {u.id for u in department.managers}
    if set(wanted) == current:
        return
    db.session.flush()
    links = department_managers.c
    db.session.execute(delete(department_managers).where(links.department_id == department.id))
    if wanted:
        db.session.execute(insert(department_managers),
                           [{"department_id": department.id, "user_id": uid} for uid in sorted(wanted)])
    db.session.expire(department, ["managers"])
    _forget_scopes()
    for user in wanted.values():
        db.session.expire(user, ["managed_departments"])
    audit.record(actor, "department.managers_changed", "department", department.id,
                 f"Managers of {department.name} changed",
                 changes={"managers": [sorted(current), sorted(wanted)]})


def subtree_select(roots: Iterable[int] | Select) -> Select:
    """SQL selecting the ids of `roots` and of every department below them (a recursive CTE: one query,
    whatever the depth). `roots` is ids or a SELECT of ids. UNION (not UNION ALL) stops on any cycle."""
    start = select(Department.id).where(
        Department.id.in_(roots if isinstance(roots, Select) else [int(i) for i in roots]))
    tree = start.cte("department_subtree", recursive=True)
    below = select(Department.id).join(tree, Department.parent_id == tree.c.id)
    tree = tree.union(below)
    return select(tree.c.id)


def subtree_ids(ids: Iterable[int]) -> set[int]:
    """`ids` and the ids of every department below them, in one query."""
    ids = [int(i) for i in ids]
    if not ids:
        return set()
    return set(db.session.scalars(subtree_select(ids)))


def member_count(department_id: int) -> int:
    members = select(func.count()).select_from(User).where(User.department_id == department_id)
    return db.session.scalar(members)


def member_counts() -> dict[int, int]:
    """Members of each department (directly in it), for the whole tree in one query."""
    rows = db.session.execute(select(User.department_id, func.count()).where(User.department_id.is_not(None))
                              .group_by(User.department_id))
    return {dept_id: count for dept_id, count in rows}


def tree() -> list[tuple[Department, int]]:
    """Every department with its depth, parents before children, siblings by name (one query)."""
    rows = list(db.session.scalars(select(Department).order_by(Department.name_key)))
    children: dict[int | None, list[Department]] = {}
    for row in rows:
        children.setdefault(row.parent_id, []).append(row)
    ordered: list[tuple[Department, int]] = []
    seen: set[int] = set()

    def walk(parent_id: int | None, depth: int) -> None:
        for child in children.get(parent_id, []):
            if child.id not in seen:
                seen.add(child.id)
                ordered.append((child, depth))
                walk(child.id, depth + 1)

    walk(None, 0)
    return ordered


def choices() -> list[tuple[int, str]]:
    """(id, indented name) for selects, in tree order."""
    return [(d.id, "\u2014 " * depth + d.name) for d, depth in tree()]
