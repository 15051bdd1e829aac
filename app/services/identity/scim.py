"""SCIM 2 provisioning (RFC 7643/7644): a directory creates, updates and deactivates Laurel users, and
its groups are Laurel departments (membership sets a person's department).

Rules:
- A directory sees only what it provisioned: another directory's users and groups are 404 to it.
- Users are learners with no password. A person with an existing Laurel account (same email) is linked,
  but only a learner, and a deactivated one only when this directory itself deleted them: a directory
  never takes over an admin's or staff member's account. They sign in through SSO (linked by email) or,
  when the directory says so, get the invitation email to choose a password.
- DELETE deactivates: the account, its certificates and history stay, every session ends, and the SCIM
  resource is gone (404). Creating the same person again reactivates the account.
- Laurel needs an email for everyone: the primary (else first) email, else the userName when it is an
  address, else `<scim id>@scim.invalid` (a reserved, never-delivered domain) until the directory sends one.
- A group is a department (matched by name; created when new). A person is in one department: adding
  them to a group moves them out of their previous one.

Everything here flushes; the view commits. Refusals raise `ScimError` (status, scimType, detail).
Groups are in scim_groups.py; this module holds users and what both share (paging, filters as SQL).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, func, not_, or_, select, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import contains_eager, joinedload

from app.database import utcnow
from app.extensions import db
from app.models import User
from app.models.scim import ScimDirectory, ScimGroup, ScimUser
from app.services import audit, events, locking
from app.services.accounts import departments, users
from app.services.errors import NotAllowed, ValidationError
from app.services.identity import scim_filters
from app.services.identity.scim_documents import (
    ScimError,
    Shape,
    apply_operation,
    clean_document,
    copy_document,
    invalid,
    patch_operations,
)
from app.services.identity.scim_schema import (
    ENTERPRISE,
    ENTERPRISE_SCHEMA,
    MAX_RESULTS,
    USER,
    USER_SCHEMA,
)

USER_SHAPE = Shape(USER, (ENTERPRISE,))
PLACEHOLDER_DOMAIN = "scim.invalid"  # RFC 2606: .invalid never resolves, so nothing is ever delivered
MAX_START = 1_000_000_000


def actor_label(directory: ScimDirectory) -> str:
    return f"scim:{directory.name}"


def new_scim_id() -> str:
    return secrets.token_hex(16)


def not_found(kind: str) -> ScimError:
    return ScimError(404, f"No such {kind}.")


def conflict(detail: str) -> ScimError:
    return ScimError(409, detail, "uniqueness")


def etag(version: int) -> str:
    return f'W/"{version}"'


def check_precondition(version: int, if_match: str | None) -> None:
    """If-Match (RFC 7644 section 3.14): a write based on an older version is refused with 412."""
    if if_match is None or not if_match.strip():
        return
    wanted = {tag.strip() for tag in if_match.split(",")}
    if "*" not in wanted and etag(version) not in wanted and f'"{version}"' not in wanted:
        raise ScimError(412, "The resource changed since that version was read.")


# -- paging -----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Page:
    start: int  # 1-based
    count: int


def page(start: object, count: object) -> Page:
    """startIndex below 1 is 1, count below 0 is 0 (RFC 7644 section 3.4.2.4); at most MAX_RESULTS."""
    return Page(_bounded(start, "startIndex", 1, 1, MAX_START),
                _bounded(count, "count", MAX_RESULTS, 0, MAX_RESULTS))


def _bounded(raw: object, name: str, default: int, low: int, high: int) -> int:
    if raw is None or raw == "":
        return default
    if isinstance(raw, bool):
        raise invalid(f"{name} must be a whole number.")
    if isinstance(raw, int):
        number = raw
    elif isinstance(raw, str) and re.fullmatch(r"[+-]?[0-9]+", raw.strip()):
        text = raw.strip()
        number = int(text) if len(text) <= 20 else (low if text.startswith("-") else high)
    else:
        raise invalid(f"{name} must be a whole number.")
    return max(low, min(high, number))


# -- filters as SQL ---------------------------------------------------------------------------------------

def string_clause(column, op: str, value: object, *, lower: bool) -> ColumnElement:
    if op == "pr":
        return column.is_not(None)
    if not isinstance(value, str):
        if op == "eq" and value is None:
            return column.is_(None)
        raise scim_filters.FilterError("Compare this attribute with a string.")
    value = value.lower() if lower else value
    if op == "eq":
        return column == value
    if op == "ne":
        return or_(column != value, column.is_(None))
    if op in ("co", "sw", "ew"):
        method = {"co": "contains", "sw": "startswith", "ew": "endswith"}[op]
        return getattr(column, method)(value, autoescape=True)
    raise scim_filters.FilterError(f"The operator {op} does not apply to this attribute.")


def _bool_clause(column, op: str, value: object) -> ColumnElement:
    if op == "pr":
        return true()
    if op in ("eq", "ne") and isinstance(value, bool):
        return column.is_(value) if op == "eq" else column.is_not(value)
    raise scim_filters.FilterError("Compare active with eq or ne and true or false.")


def to_sql(node: scim_filters.Node, columns: dict) -> ColumnElement:
    if isinstance(node, scim_filters.Logical):
        join = and_ if node.op == "and" else or_
        return join(to_sql(node.left, columns), to_sql(node.right, columns))
    if isinstance(node, scim_filters.Not):
        return not_(to_sql(node.inner, columns))
    if isinstance(node, scim_filters.ValuePath):
        inner = node.inner
        if not isinstance(inner, scim_filters.Compare) or inner.path.sub is not None:
            raise scim_filters.FilterError("Inside brackets Laurel filters on one sub-attribute (value).")
        path = scim_filters.AttrPath(node.path.schema, node.path.name, inner.path.name)
        node = scim_filters.Compare(path, inner.op, inner.value)
    handler = columns.get(node.path.key)
    if handler is None:
        searchable = ", ".join(sorted(columns))
        raise scim_filters.FilterError(
            f"Laurel cannot filter on {node.path.key[:60]!r} (it can on {searchable}).")
    return handler(node.op, node.value)


def where_clause(filter_text: str | None, columns: dict, schema_id: str) -> ColumnElement:
    if filter_text is None or not filter_text.strip():
        return true()
    try:
        node = scim_filters.parse(filter_text)
        _check_schemas(node, schema_id)
        return to_sql(node, columns)
    except scim_filters.FilterError as exc:
        raise invalid(str(exc), "invalidFilter") from None


def _check_schemas(node: scim_filters.Node, schema_id: str) -> None:
    if isinstance(node, scim_filters.Logical):
        _check_schemas(node.left, schema_id)
        _check_schemas(node.right, schema_id)
    elif isinstance(node, scim_filters.Not | scim_filters.ValuePath):
        if isinstance(node, scim_filters.ValuePath) and node.path.schema:
            _check_schema(node.path.schema, schema_id)
        _check_schemas(node.inner, schema_id)
    elif node.path.schema:
        _check_schema(node.path.schema, schema_id)


def _check_schema(schema: str, schema_id: str) -> None:
    if schema.lower() != schema_id.lower():
        raise scim_filters.FilterError(f"Laurel cannot filter on attributes of {schema[:80]!r}.")


# -- users ------------------------------------------------------------------------------------------------

def user_columns() -> dict:
    def text(column, lower=True):
        return lambda op, value: string_clause(column, op, value, lower=lower)

    return {
        "id": text(ScimUser.scim_id, lower=False),
        "username": text(ScimUser.user_name_key),
        "externalid": text(ScimUser.external_id, lower=False),
        "displayname": text(func.lower(User.name)),
        "emails.value": text(User.email),
        "emails": text(User.email),
        "active": lambda op, value: _bool_clause(User.active, op, value),
    }


def live_users(directory: ScimDirectory):
    return (select(ScimUser).join(User, User.id == ScimUser.user_id).options(contains_eager(ScimUser.user))
            .where(ScimUser.directory_id == directory.id, ScimUser.deleted_at.is_(None)))


def list_users(directory: ScimDirectory, filter_text: str | None, paging: Page) -> tuple[int, list[ScimUser]]:
    stmt = live_users(directory).where(where_clause(filter_text, user_columns(), USER_SCHEMA))
    return counted_page(stmt, ScimUser.id, paging)


def counted_page(stmt, order_by, paging: Page) -> tuple[int, list]:
    """A list response's two parts: how many match in all, and the rows of the page asked for."""
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery()))
    if paging.count == 0:
        return total, []
    rows = db.session.scalars(stmt.order_by(order_by).offset(paging.start - 1).limit(paging.count))
    return total, list(rows)


def get_user(directory: ScimDirectory, scim_id: str) -> ScimUser:
    link = db.session.scalar(live_users(directory).where(ScimUser.scim_id == scim_id))
    if link is None:
        raise not_found("user")
    return link


def user_resources(links: list[ScimUser], base: str) -> list[dict]:
    """`user_resource` for a page of users: their groups read in one query, not one per user."""
    department_ids = {link.user.department_id for link in links} - {None}
    groups: dict[int, ScimGroup] = {}
    if department_ids and links:
        rows = db.session.scalars(select(ScimGroup).options(joinedload(ScimGroup.department))
                                  .where(ScimGroup.directory_id == links[0].directory_id,
                                         ScimGroup.department_id.in_(department_ids)))
        groups = {group.department_id: group for group in rows}
    return [user_resource(link, base, group=groups.get(link.user.department_id)) for link in links]


_LOOK_UP = object()


def user_resource(link: ScimUser, base: str, group: ScimGroup | None | object = _LOOK_UP) -> dict:
    user = link.user
    document = copy_document(link.attributes or {})
    resource: dict = {"schemas": [USER_SCHEMA], "id": link.scim_id}
    if link.external_id:
        resource["externalId"] = link.external_id
    resource["userName"] = link.user_name
    for key in ("name", "displayName", "emails"):
        if document.get(key):
            resource[key] = document[key]
    resource["active"] = user.active
    if group is _LOOK_UP:
        group = _group_of(link)
    if isinstance(group, ScimGroup):
        resource["groups"] = [{"value": group.scim_id, "$ref": f"{base}/Groups/{group.scim_id}",
                               "display": group.department.name}]
    if document.get(ENTERPRISE_SCHEMA):
        resource["schemas"].append(ENTERPRISE_SCHEMA)
        resource[ENTERPRISE_SCHEMA] = document[ENTERPRISE_SCHEMA]
    resource["meta"] = meta("User", f"{base}/Users/{link.scim_id}", link)
    return resource


def meta(kind: str, location: str, row) -> dict:
    return {"resourceType": kind, "created": _iso(row.created_at), "lastModified": _iso(row.updated_at),
            "location": location, "version": etag(row.version)}


def _iso(moment) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _group_of(link: ScimUser) -> ScimGroup | None:
    department_id = link.user.department_id
    if department_id is None:
        return None
    return db.session.scalar(select(ScimGroup).where(ScimGroup.directory_id == link.directory_id,
                                                     ScimGroup.department_id == department_id))


def _user_document(payload: object) -> dict:
    document = clean_document(USER_SHAPE, payload)
    if not document.get("userName"):
        raise invalid("userName is required.")
    return document


def create_user(directory: ScimDirectory, payload: object) -> ScimUser:
    document = _user_document(payload)
    _check_user_name_free(document["userName"], None)
    scim_id = new_scim_id()
    email = _chosen_email(document, scim_id)
    existing = None if _is_placeholder(email) else users.find_by_email(email)
    if existing is not None:
        link = _adopt(directory, existing, scim_id)
        user = existing
    else:
        user = _new_learner(directory, email, document)
        link = ScimUser(scim_id=scim_id, directory_id=directory.id, user_id=user.id, user=user)
        db.session.add(link)
    _store(link, document)
    link.created_at = link.updated_at
    if existing is not None:  # the directory's name for the person from now on
        users.update_user(user, actor=actor_label(directory), name=_laurel_name(document))
    active = document.get("active", True)
    if active != user.active:
        _set_active(directory, user, active)
    _apply_enterprise_department(directory, user, {}, document)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        raise conflict("A user with this userName exists already.") from None
    audit.record(actor_label(directory), "scim.user_provisioned", "user", user.id,
                 f"{user.email} provisioned by SCIM directory {directory.name}", directory_id=directory.id,
                 linked_existing=existing is not None)
    if existing is None and directory.send_invitations and not _is_placeholder(email):
        users.send_invite(user, actor=actor_label(directory))
    return link


def _adopt(directory: ScimDirectory, user: User, scim_id: str) -> ScimUser:
    """Link an existing account: a learner, not linked to a live SCIM resource; a deactivated one only when
    this directory itself deleted it before."""
    link = db.session.scalar(select(ScimUser).where(ScimUser.user_id == user.id))
    if link is not None and link.deleted_at is None:
        raise conflict("A user with this email exists already (provisioned under another userName or "
                       "by another directory).")
    if user.role != "learner":
        raise conflict("A Laurel account with this email exists and is not a learner's: a directory does not "
                       "take over staff or admin accounts. Use another email, or unlink it in Laurel.")
    ours = link is not None and link.directory_id == directory.id
    if not user.active and not ours:
        raise conflict("A deactivated Laurel account has this email: an administrator reactivates it first.")
    if link is None:
        link = ScimUser(user_id=user.id, user=user)
        db.session.add(link)
    link.scim_id, link.directory_id, link.deleted_at = scim_id, directory.id, None
    link.created_at = utcnow()
    link.version = (link.version or 0) + 1
    return link


def _new_learner(directory: ScimDirectory, email: str, document: dict) -> User:
    user = User(email=email, name=_laurel_name(document), role="learner", password_hash=None,
                reminder_emails=not _is_placeholder(email))
    db.session.add(user)
    db.session.flush()
    audit.record(actor_label(directory), "user.created", "user", user.id, f"User {email} created as learner",
                 role="learner", source="scim")
    events.emit("user.created", users.user_data(user))
    return user


def _store(link: ScimUser, document: dict) -> None:
    link.user_name = document["userName"]
    link.user_name_key = document["userName"].lower()
    link.external_id = document.get("externalId")
    link.attributes = {k: v for k, v in document.items() if k not in ("userName", "externalId", "active")}
    link.updated_at = utcnow()


def _check_user_name_free(user_name: str, link: ScimUser | None) -> None:
    taken = db.session.scalar(select(ScimUser.id).where(ScimUser.user_name_key == user_name.lower()))
    if taken is not None and (link is None or taken != link.id):
        raise conflict("A user with this userName exists already.")


def _chosen_email(document: dict, scim_id: str) -> str:
    emails = [e for e in document.get("emails") or [] if isinstance(e, dict) and e.get("value")]
    primary = next((e for e in emails if e.get("primary") is True), emails[0] if emails else None)
    if primary is not None:
        try:
            return users.normalise_email(primary["value"])
        except ValidationError as exc:
            raise invalid(f"emails: {exc.errors.get('email', 'not a valid email address')}") from None
    try:
        return users.normalise_email(document["userName"])
    except ValidationError:
        return f"{scim_id}@{PLACEHOLDER_DOMAIN}"


def _is_placeholder(email: str) -> bool:
    return email.endswith("@" + PLACEHOLDER_DOMAIN)


def _laurel_name(document: dict) -> str:
    name = document.get("name") or {}
    parts = [name.get("givenName"), name.get("middleName"), name.get("familyName")]
    candidates = (document.get("displayName"), name.get("formatted"), " ".join(p for p in parts if p),
                  document["userName"])
    chosen = next(c for c in candidates if c and c.strip())
    return " ".join(chosen.split())[:200]


def replace_user(directory: ScimDirectory, link: ScimUser, payload: object, if_match: str | None) -> ScimUser:
    return _update_user(directory, link, _user_document(payload), if_match)


def patch_user(directory: ScimDirectory, link: ScimUser, payload: object, if_match: str | None) -> ScimUser:
    operations = patch_operations(payload)
    document = _current_user_document(link)
    for operation in operations:
        apply_operation(USER_SHAPE, document, operation)
    return _update_user(directory, link, _user_document(document), if_match)


def _current_user_document(link: ScimUser) -> dict:
    document = copy_document(link.attributes or {})
    document["userName"] = link.user_name
    document["active"] = link.user.active
    if link.external_id:
        document["externalId"] = link.external_id
    return document


def _update_user(directory: ScimDirectory, link: ScimUser, document: dict, if_match: str | None) -> ScimUser:
    locking.hold(link)
    check_precondition(link.version, if_match)
    user = link.user
    before = (_current_user_document(link), user.email, user.name, user.active)
    _check_user_name_free(document["userName"], link)
    previous = copy_document(link.attributes or {})
    _change_email(directory, user, _chosen_email(document, link.scim_id))
    _store(link, document)
    active = document.get("active", user.active)  # a PUT without `active` leaves it as it is
    name = _laurel_name(document)
    try:
        users.update_user(user, actor=actor_label(directory), name=name,
                          active=active if active != user.active else None)
    except NotAllowed as exc:
        raise ScimError(409, str(exc)) from None
    _apply_enterprise_department(directory, user, previous, document)
    if (_current_user_document(link), user.email, user.name, user.active) != before:
        link.version += 1
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        raise conflict("Another user has this userName or email.") from None
    return link


def _change_email(directory: ScimDirectory, user: User, email: str) -> None:
    if email == user.email or (_is_placeholder(email) and _is_placeholder(user.email)):
        return
    if _is_placeholder(email):
        return  # the directory stopped sending an address: keep the last real one
    other = users.find_by_email(email)
    if other is not None and other.id != user.id:
        raise conflict("Another Laurel account uses this email.")
    audit.record(actor_label(directory), "user.email_changed", "user", user.id,
                 f"Email of {user.email} changed", changes={"email": [user.email, email]})
    if _is_placeholder(user.email):
        user.reminder_emails = True  # reminders were off only because there was no address
    user.email = email
    users.end_sessions(user)  # reset links carry the old address


def _set_active(directory: ScimDirectory, user: User, active: bool) -> None:
    try:
        users.update_user(user, actor=actor_label(directory), active=active)
    except NotAllowed as exc:
        raise ScimError(409, str(exc)) from None


def _apply_enterprise_department(directory: ScimDirectory, user: User, previous: dict,
                                 document: dict) -> None:
    """The enterprise extension's `department` puts the person in that department when it changes."""
    old = (previous.get(ENTERPRISE_SCHEMA) or {}).get("department")
    new = (document.get(ENTERPRISE_SCHEMA) or {}).get("department")
    if old == new:
        return
    label = actor_label(directory)
    if new:
        try:
            departments.assign(user, departments.find_or_create(new, actor=label), actor=label)
        except ValidationError as exc:
            raise invalid(f"department: {'; '.join(exc.errors.values())}") from None
    elif user.department_ref is not None and departments.name_key(user.department_ref.name) == \
            departments.name_key(old or ""):
        departments.assign(user, None, actor=label)


def delete_user(directory: ScimDirectory, link: ScimUser, if_match: str | None) -> None:
    """Deactivate: the account stays (certificates, history), its sessions end, the resource is gone."""
    locking.hold(link)
    check_precondition(link.version, if_match)
    if link.user.active:
        _set_active(directory, link.user, False)
    link.deleted_at = utcnow()
    link.user_name_key = None
    link.version += 1
    audit.record(actor_label(directory), "scim.user_deleted", "user", link.user_id,
                 f"{link.user.email} deleted by SCIM directory {directory.name} (deactivated)")


__all__ = ["USER_SHAPE", "Page", "ScimError", "actor_label", "check_precondition", "conflict", "create_user",
           "delete_user", "etag", "get_user", "invalid", "list_users", "live_users", "meta", "new_scim_id",
           "not_found", "page", "patch_user", "replace_user", "string_clause", "user_columns",
           "user_resource", "user_resources", "where_clause"]
