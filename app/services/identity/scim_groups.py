"""SCIM groups (RFC 7643 section 4.2): each group IS a Laurel department, and membership sets a person's
department (one at a time: adding someone to a group moves them out of the previous one).

- A group matches a department by name (case-insensitive); a new name creates the department. A department
  already linked to a group (of any directory) cannot be linked again (409 uniqueness).
- Members must be users of the same directory. Membership operations change memberships directly (a
  department may hold thousands of people); PATCH follows Entra ID's habits (remove with a value list).
- DELETE takes the directory's people out of the department and deletes a department the group created when
  nobody else is in it and it has no sub-departments.
- `search_all` is POST /.search: users then groups as one paged list.

Everything here flushes; the view commits. Refusals raise `ScimError`.
"""

from __future__ import annotations

import contextlib

from sqlalchemy import ColumnElement, exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import contains_eager

from app.database import utcnow
from app.extensions import db
from app.models import Department, User
from app.models.scim import ScimDirectory, ScimGroup, ScimUser
from app.services import audit, locking
from app.services.accounts import departments
from app.services.errors import NotAllowed, ValidationError
from app.services.identity import scim, scim_filters
from app.services.identity.scim import (
    Page,
    ScimError,
    actor_label,
    check_precondition,
    conflict,
    new_scim_id,
    not_found,
)
from app.services.identity.scim_documents import (
    Shape,
    apply_operation,
    clean_document,
    invalid,
    patch_operations,
)
from app.services.identity.scim_schema import GROUP, GROUP_SCHEMA, MAX_MEMBERS, USER_SCHEMA

GROUP_SHAPE = Shape(GROUP)


# -- both at once (POST /.search) -------------------------------------------------------------------------

def search_all(directory: ScimDirectory, filter_text: str | None,
               paging: Page) -> tuple[int, list[ScimUser | ScimGroup]]:
    """Users then groups, paged as one list. A filter on an attribute one type does not have matches
    nothing of that type (RFC 7644 section 3.4.3); a filter neither type understands is 400."""
    kinds = ((scim.live_users(directory), scim.user_columns(), USER_SCHEMA, ScimUser.id),
             (_groups(directory), _group_columns(directory), GROUP_SCHEMA, ScimGroup.id))
    statements, problems = [], []
    for stmt, columns, schema_id, order in kinds:
        try:
            statements.append((stmt.where(scim.where_clause(filter_text, columns, schema_id)), order))
        except ScimError as exc:
            problems.append(exc)
    if not statements:
        raise problems[0]
    total, found, skip, wanted = 0, [], paging.start - 1, paging.count
    for stmt, order in statements:
        count = db.session.scalar(select(func.count()).select_from(stmt.subquery()))
        total += count
        if wanted > len(found) and skip < count:
            rows = db.session.scalars(stmt.order_by(order).offset(skip).limit(wanted - len(found)))
            found.extend(rows)
        skip = max(0, skip - count)
    return total, found


# -- groups -----------------------------------------------------------------------------------------------

def _group_columns(directory: ScimDirectory) -> dict:
    def text(column, lower=True):
        return lambda op, value: scim.string_clause(column, op, value, lower=lower)

    def member(op: str, value: object) -> ColumnElement:
        if op != "eq" or not isinstance(value, str):
            raise scim_filters.FilterError('Filter members with members[value eq "<user id>"].')
        return exists().where(ScimUser.scim_id == value, ScimUser.directory_id == directory.id,
                              ScimUser.deleted_at.is_(None), User.id == ScimUser.user_id,
                              User.department_id == ScimGroup.department_id)

    def display_name(op: str, value: object) -> ColumnElement:
        if isinstance(value, str) and op in ("eq", "ne"):
            value = departments.name_key(value)
        return scim.string_clause(Department.name_key, op, value, lower=True)

    return {"id": text(ScimGroup.scim_id, lower=False), "displayname": display_name,
            "externalid": text(ScimGroup.external_id, lower=False), "members.value": member,
            "members": member}


def _groups(directory: ScimDirectory):
    return (select(ScimGroup).join(Department, Department.id == ScimGroup.department_id)
            .options(contains_eager(ScimGroup.department)).where(ScimGroup.directory_id == directory.id))


def list_groups(directory: ScimDirectory, filter_text: str | None,
                paging: Page) -> tuple[int, list[ScimGroup]]:
    stmt = _groups(directory).where(scim.where_clause(filter_text, _group_columns(directory), GROUP_SCHEMA))
    return scim.counted_page(stmt, ScimGroup.id, paging)


def get_group(directory: ScimDirectory, scim_id: str) -> ScimGroup:
    group = db.session.scalar(_groups(directory).where(ScimGroup.scim_id == scim_id))
    if group is None:
        raise not_found("group")
    return group


def members_by_group(directory: ScimDirectory, groups: list[ScimGroup]) -> dict[int, list[str]]:
    """{department id: [SCIM ids of this directory's users in it]} for these groups, in one query."""
    ids = [g.department_id for g in groups]
    found: dict[int, list[str]] = {i: [] for i in ids}
    if not ids:
        return found
    rows = db.session.execute(
        select(User.department_id, ScimUser.scim_id).join(ScimUser, ScimUser.user_id == User.id)
        .where(ScimUser.directory_id == directory.id, ScimUser.deleted_at.is_(None),
               User.department_id.in_(ids)).order_by(ScimUser.id))
    for department_id, scim_id in rows:
        found[department_id].append(scim_id)
    return found


def group_resource(group: ScimGroup, base: str, members: list[str] | None) -> dict:
    resource: dict = {"schemas": [GROUP_SCHEMA], "id": group.scim_id}
    if group.external_id:
        resource["externalId"] = group.external_id
    resource["displayName"] = group.department.name
    if members:
        resource["members"] = [{"value": m, "$ref": f"{base}/Users/{m}"} for m in members]
    resource["meta"] = scim.meta("Group", f"{base}/Groups/{group.scim_id}", group)
    return resource


def _group_document(payload: object) -> dict:
    document = clean_document(GROUP_SHAPE, payload)
    if not document.get("displayName"):
        raise invalid("displayName is required.")
    if len(document.get("members") or []) > MAX_MEMBERS:
        raise invalid(f"At most {MAX_MEMBERS} members in one request.", "tooMany")
    return document


def create_group(directory: ScimDirectory, payload: object) -> ScimGroup:
    document = _group_document(payload)
    label = actor_label(directory)
    name = _department_name(document["displayName"])
    department = departments.by_name(name)
    created = department is None
    if department is not None and db.session.scalar(
            select(ScimGroup.id).where(ScimGroup.department_id == department.id)) is not None:
        raise conflict("A group with this displayName exists already.")
    if department is None:
        department = departments.find_or_create(name, actor=label)
    group = ScimGroup(scim_id=new_scim_id(), directory_id=directory.id, department_id=department.id,
                      department=department, external_id=document.get("externalId"),
                      created_department=created)
    db.session.add(group)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        raise conflict("A group with this displayName exists already.") from None
    group.created_at = group.updated_at = utcnow()
    _set_members(directory, group, _member_ids(document), replace=True)
    audit.record(label, "scim.group_provisioned", "department", department.id,
                 f"Group {department.name} provisioned by SCIM directory {directory.name}",
                 directory_id=directory.id, created_department=created)
    return group


def _department_name(raw: str) -> str:
    try:
        return departments.clean_name(raw, "displayName")
    except ValidationError as exc:
        raise invalid(f"displayName: {'; '.join(exc.errors.values())}") from None


def _member_ids(document: dict) -> list[str]:
    ids: list[str] = []
    for member in document.get("members") or []:
        value = member.get("value") if isinstance(member, dict) else None
        if not value and isinstance(member, dict) and member.get("$ref"):
            value = member["$ref"].rstrip("/").rsplit("/", 1)[-1]
        if not value:
            raise invalid("Each member has a value (the user's id).")
        if value not in ids:
            ids.append(value)
    return ids


def _members(directory: ScimDirectory, scim_ids: list[str]) -> list[User]:
    if not scim_ids:
        return []
    if len(scim_ids) > MAX_MEMBERS:
        raise invalid(f"At most {MAX_MEMBERS} members in one request.", "tooMany")
    found = dict(db.session.execute(
        select(ScimUser.scim_id, User).join(User, User.id == ScimUser.user_id)
        .where(ScimUser.directory_id == directory.id, ScimUser.deleted_at.is_(None),
               ScimUser.scim_id.in_(scim_ids))).all())
    missing = [i for i in scim_ids if i not in found]
    if missing:
        raise invalid(f"No user with the id {missing[0][:64]!r} in this directory "
                      "(members must be its users).")
    return [found[i] for i in scim_ids]


def _current_members(directory: ScimDirectory, group: ScimGroup) -> list[User]:
    return list(db.session.scalars(
        select(User).join(ScimUser, ScimUser.user_id == User.id)
        .where(ScimUser.directory_id == directory.id, ScimUser.deleted_at.is_(None),
               User.department_id == group.department_id).order_by(ScimUser.id)))


def _set_members(directory: ScimDirectory, group: ScimGroup, scim_ids: list[str], *, replace: bool,
                 remove: list[str] | None = None) -> bool:
    """Add these users to the group's department (replace: and take everyone else of this directory out;
    remove: take these out). Whether anything changed."""
    label = actor_label(directory)
    wanted = _members(directory, scim_ids)
    leaving = _members(directory, remove or []) if remove else []
    if replace:
        wanted_ids = {u.id for u in wanted}
        leaving = [u for u in _current_members(directory, group) if u.id not in wanted_ids]
    changed = False
    for user in leaving:
        if user.department_id == group.department_id:
            departments.assign(user, None, actor=label)
            changed = True
    for user in wanted:
        if user.department_id != group.department_id:
            departments.assign(user, group.department, actor=label)
            changed = True
    return changed


def _touch(group: ScimGroup) -> None:
    group.version += 1
    group.updated_at = utcnow()


def replace_group(directory: ScimDirectory, group: ScimGroup, payload: object,
                  if_match: str | None) -> ScimGroup:
    document = _group_document(payload)
    locking.hold(group)
    check_precondition(group.version, if_match)
    changed = _rename(directory, group, document["displayName"])
    if document.get("externalId") != group.external_id:
        group.external_id = document.get("externalId")
        changed = True
    changed = _set_members(directory, group, _member_ids(document), replace=True) or changed
    if changed:
        _touch(group)
    return group


def _rename(directory: ScimDirectory, group: ScimGroup, display_name: str) -> bool:
    name = _department_name(display_name)
    if name == group.department.name:
        return False
    try:
        departments.rename(group.department, name, actor=actor_label(directory))
    except ValidationError:
        raise conflict("A group (department) with this displayName exists already.") from None
    return True


def patch_group(directory: ScimDirectory, group: ScimGroup, payload: object,
                if_match: str | None) -> ScimGroup:
    """Membership operations change memberships directly (a department may have thousands of people);
    the others go through the group's document."""
    operations = patch_operations(payload)
    locking.hold(group)
    check_precondition(group.version, if_match)
    document = {"displayName": group.department.name}
    if group.external_id:
        document["externalId"] = group.external_id
    changed = False
    for operation in operations:
        changed = _patch_group_operation(directory, group, document, operation) or changed
    cleaned = _group_document(document)
    changed = _rename(directory, group, cleaned["displayName"]) or changed
    if cleaned.get("externalId") != group.external_id:
        group.external_id = cleaned.get("externalId")
        changed = True
    if changed:
        _touch(group)
    return group


def _patch_group_operation(directory: ScimDirectory, group: ScimGroup, document: dict,
                           operation: dict) -> bool:
    path, op, value = operation["path"], operation["op"], operation["value"]
    if path is None and isinstance(value, dict):
        members_key = next((k for k in value if isinstance(k, str) and k.lower() == "members"), None)
        if members_key is not None:
            rest = {k: v for k, v in value.items() if k != members_key}
            changed = _member_operation(directory, group, op, None, value[members_key])
            if rest:
                apply_operation(GROUP_SHAPE, document, {**operation, "value": rest})
            return changed
    if path is not None and path.lower().replace(GROUP_SCHEMA.lower() + ":", "").startswith("members"):
        return _member_operation(directory, group, op, path, value)
    apply_operation(GROUP_SHAPE, document, operation)
    return False


def _member_operation(directory: ScimDirectory, group: ScimGroup, op: str, path: str | None,
                      value: object) -> bool:
    bare = (path or "members").lower().replace(GROUP_SCHEMA.lower() + ":", "")
    if bare == "members":
        ids = _member_ids({"members": _member_values(value)}) if value is not None else []
        if op == "remove":
            if value is None:  # remove every member
                return _set_members(directory, group, [], replace=True)
            return _set_members(directory, group, [], replace=False, remove=ids)
        return _set_members(directory, group, ids, replace=op == "replace")
    if op != "remove" or not bare.startswith("members["):
        raise invalid("Change members with add/replace on members, or remove members[value eq \"id\"].",
                      "invalidPath")
    try:
        node = scim_filters.parse(path[path.index("[") + 1:path.rindex("]")])
    except (ValueError, scim_filters.FilterError) as exc:
        raise invalid(str(exc), "invalidPath") from None
    ids = _ids_in_member_filter(node)
    return _set_members(directory, group, [], replace=False, remove=ids)


def _member_values(value: object) -> list:
    values = value if isinstance(value, list) else [value]
    if len(values) > MAX_MEMBERS:
        raise invalid(f"At most {MAX_MEMBERS} members in one request.", "tooMany")
    cleaned = []
    for item in values:
        if not isinstance(item, dict):
            raise invalid("Each member is an object with a value (the user's id).")
        cleaned.append({k: v for k, v in item.items() if isinstance(v, str)})
    return cleaned


def _ids_in_member_filter(node: scim_filters.Node) -> list[str]:
    """`value eq "a"` or `value eq "a" or value eq "b"`: the ids named."""
    if isinstance(node, scim_filters.Logical) and node.op == "or":
        return _ids_in_member_filter(node.left) + _ids_in_member_filter(node.right)
    if isinstance(node, scim_filters.Compare) and node.op == "eq" and node.path.key == "value" \
            and isinstance(node.value, str):
        return [node.value]
    raise invalid('Remove members with members[value eq "<user id>"].', "invalidFilter")


def delete_group(directory: ScimDirectory, group: ScimGroup, if_match: str | None) -> None:
    """The group's link ends; this directory's people leave the department; a department the group
    created is deleted when nobody else is in it and it has no sub-departments."""
    locking.hold(group)
    check_precondition(group.version, if_match)
    label = actor_label(directory)
    department = group.department
    _set_members(directory, group, [], replace=True)
    audit.record(label, "scim.group_deleted", "department", department.id,
                 f"Group {department.name} deleted by SCIM directory {directory.name}")
    db.session.delete(group)
    db.session.flush()
    if group.created_department:
        with contextlib.suppress(NotAllowed):  # other people or sub-departments: the department stays
            departments.delete_department(department, actor=label)


__all__ = ["GROUP_SHAPE", "create_group", "delete_group", "get_group", "group_resource", "list_groups",
           "members_by_group", "patch_group", "replace_group", "search_all"]
