"""`/scim/v2`: SCIM 2 provisioning for directories (Entra ID, Okta ...), RFC 7644.

Its own blueprint (like the incoming hooks): every request carries a directory's bearer token, no session,
no CSRF token. Every route takes every method and answers the ones it does not serve with 405, and a
catch-all answers unknown paths with 404, so every refusal is a SCIM error body (application/scim+json),
never an HTML page.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from flask import Blueprint, current_app, g, jsonify, make_response, request
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException

from app.extensions import db
from app.models.scim import ScimGroup, ScimUser
from app.services.identity import scim, scim_directories, scim_groups, scim_schema
from app.services.identity.scim_documents import ScimError, invalid, parse_attribute_list, project
from app.web.auth import own_bearer_tokens

bp = Blueprint("scim", __name__, url_prefix="/scim/v2")

MEDIA_TYPE = "application/scim+json"
MAX_BODY = 1024 * 1024  # a PUT of a group with a thousand members fits many times over
ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
TITLES = {400: "Bad request", 401: "Authentication required", 403: "Forbidden", 404: "Not found",
          405: "Method not allowed", 409: "Conflict", 412: "Precondition failed", 413: "Too large",
          415: "Unsupported media type", 429: "Too many requests", 501: "Not implemented"}


def _base() -> str:
    return current_app.config["BASE_URL"].rstrip("/") + bp.url_prefix


def scim_response(body: dict | None, status: int = 200, etag: str | None = None):
    response = make_response(jsonify(body) if body is not None else "", status)
    if body is not None:
        response.mimetype = MEDIA_TYPE
    if etag:
        response.headers["ETag"] = etag
    response.headers["Cache-Control"] = "no-store"
    return response


def error_response(status: int, detail: str, scim_type: str | None = None):
    body = {"schemas": [scim_schema.ERROR], "status": str(status), "detail": detail}
    if scim_type:
        body["scimType"] = scim_type
    response = scim_response(body, status)
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="Laurel SCIM"'
    return response


@bp.errorhandler(ScimError)
def _scim_error(exc: ScimError):
    db.session.rollback()
    return error_response(exc.status, exc.detail, exc.scim_type)


@bp.errorhandler(IntegrityError)
def _race_lost(exc: IntegrityError):
    """Two requests created the same userName, email or group at once: the second is a plain conflict."""
    db.session.rollback()
    return error_response(409, "Another request created this user or group at the same time.", "uniqueness")


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException):
    """Werkzeug's refusals inside these views (an unreadable or too large body) in SCIM's shape."""
    db.session.rollback()
    status = exc.code or 400
    detail = exc.description or TITLES.get(status, "Refused")
    return error_response(status, detail, "invalidSyntax" if status == 400 else None)


def _authenticate() -> None:
    header = request.headers.get("Authorization", "")
    token = header[7:].strip() if header[:7].lower() == "bearer " else None
    directory = scim_directories.directory_for_token(token) if token else None
    db.session.commit()  # keeps last_used_at; nothing else is pending this early
    if directory is None:
        raise ScimError(401, "Send the directory's token as Authorization: Bearer <token>; this one is "
                             "missing, unknown or revoked.")
    g.scim_directory = directory


def scim_route(rule: str, methods: dict[str, Callable]) -> None:
    """One URL: authenticate, then the handler of the method, or 405 with Allow."""

    def view(**kwargs):
        _authenticate()
        handler = methods.get(request.method if request.method != "HEAD" else "GET")
        if handler is None:
            response = error_response(405, f"{request.method} is not supported here.")
            response.headers["Allow"] = ", ".join(methods)
            return response
        return handler(**kwargs)

    endpoint = re.sub(r"[^A-Za-z]+", "_", rule).strip("_").lower() or "root"
    bp.add_url_rule(rule, endpoint=endpoint, view_func=own_bearer_tokens(view), methods=ALL_METHODS)


def _body() -> object:
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise ScimError(413, f"The body is larger than {MAX_BODY // 1024} KiB.")
    request.max_content_length = MAX_BODY
    return request.get_json(force=True, silent=False)


def _if_match() -> str | None:
    return request.headers.get("If-Match")


def _projection() -> tuple[list[str], list[str]]:
    attributes = parse_attribute_list(request.args.get("attributes"))
    excluded = parse_attribute_list(request.args.get("excludedAttributes"))
    if attributes and excluded:
        raise invalid("Use attributes or excludedAttributes, not both.")
    return attributes, excluded


def _list_response(total: int, paging: scim.Page, resources: list[dict]) -> dict:
    return {"schemas": [scim_schema.LIST_RESPONSE], "totalResults": total, "startIndex": paging.start,
            "itemsPerPage": len(resources), "Resources": resources}


# -- discovery --------------------------------------------------------------------------------------------

def _service_provider_config():
    return scim_response(scim_schema.service_provider_config(_base()))


def _resource_types():
    types = scim_schema.resource_types(_base())
    return scim_response(_list_response(len(types), scim.Page(1, len(types)), types))


def _resource_type(name: str):
    found = next((t for t in scim_schema.resource_types(_base()) if t["id"] == name), None)
    if found is None:
        raise ScimError(404, "No such resource type.")
    return scim_response(found)


def _schemas():
    documents = scim_schema.schema_documents(_base())
    return scim_response(_list_response(len(documents), scim.Page(1, len(documents)), documents))


def _schema(schema_id: str):
    document = scim_schema.schema_document(schema_id, _base())
    if document is None:
        raise ScimError(404, "No such schema.")
    return scim_response(document)


# -- users ------------------------------------------------------------------------------------------------

def _user_answer(link, status: int = 200, projection: tuple[list[str], list[str]] | None = None):
    attributes, excluded = projection or _projection()
    resource = scim.user_resource(link, _base())
    response = scim_response(project(resource, scim_schema.USER_SCHEMA, attributes, excluded), status,
                             resource["meta"]["version"])
    if status == 201:
        response.headers["Location"] = resource["meta"]["location"]
    return response


def _search_users(filter_text, start, count, attributes, excluded):
    paging = scim.page(start, count)
    total, links = scim.list_users(g.scim_directory, filter_text, paging)
    base = _base()
    resources = [project(resource, scim_schema.USER_SCHEMA, attributes, excluded)
                 for resource in scim.user_resources(links, base)]
    return scim_response(_list_response(total, paging, resources))


# -- groups -----------------------------------------------------------------------------------------------

def _group_resources(groups, attributes, excluded) -> list[dict]:
    wants_members = not any(a.lower().startswith("members") for a in excluded) and (
        not attributes or any(a.lower().startswith("members") for a in attributes))
    members = scim_groups.members_by_group(g.scim_directory, groups) if wants_members else {}
    base = _base()
    return [project(scim_groups.group_resource(group, base, members.get(group.department_id)),
                    scim_schema.GROUP_SCHEMA, attributes, excluded) for group in groups]


def _group_answer(group, status: int = 200, projection: tuple[list[str], list[str]] | None = None):
    attributes, excluded = projection or _projection()
    resource = _group_resources([group], attributes, excluded)[0]
    version = scim.etag(group.version)
    response = scim_response(resource, status, version)
    if status == 201:
        response.headers["Location"] = f"{_base()}/Groups/{group.scim_id}"
    return response


def _search_groups(filter_text, start, count, attributes, excluded):
    paging = scim.page(start, count)
    total, groups = scim_groups.list_groups(g.scim_directory, filter_text, paging)
    return scim_response(_list_response(total, paging, _group_resources(groups, attributes, excluded)))


# -- the same five handlers for users and groups ------------------------------------------------------------

@dataclass(frozen=True)
class _Kind:
    """How one resource type is found, made, removed, shown and searched (its rows carry a version)."""

    get: Callable  # (directory, scim_id) -> row, or ScimError 404
    create: Callable  # (directory, body) -> row
    delete: Callable  # (directory, row, if_match) -> None
    answer: Callable  # (row, status, projection) -> response
    search: Callable  # (filter, startIndex, count, attributes, excluded) -> response


def _list(kind: _Kind) -> Callable:
    def handler():
        attributes, excluded = _projection()
        return kind.search(request.args.get("filter"), request.args.get("startIndex"),
                           request.args.get("count"), attributes, excluded)

    return handler


def _create(kind: _Kind) -> Callable:
    def handler():
        projection = _projection()
        answer = kind.answer(kind.create(g.scim_directory, _body()), 201, projection)
        db.session.commit()
        return answer

    return handler


def _read(kind: _Kind) -> Callable:
    def handler(scim_id: str):
        row = kind.get(g.scim_directory, scim_id)
        if request.headers.get("If-None-Match") == scim.etag(row.version):
            return scim_response(None, 304, scim.etag(row.version))
        return kind.answer(row)

    return handler


def _write(kind: _Kind, action: Callable) -> Callable:
    def handler(scim_id: str):
        projection = _projection()
        row = action(g.scim_directory, kind.get(g.scim_directory, scim_id), _body(), _if_match())
        answer = kind.answer(row, 200, projection)
        db.session.commit()
        return answer

    return handler


def _delete(kind: _Kind) -> Callable:
    def handler(scim_id: str):
        kind.delete(g.scim_directory, kind.get(g.scim_directory, scim_id), _if_match())
        db.session.commit()
        return scim_response(None, 204)

    return handler


USERS = _Kind(get=scim.get_user, create=scim.create_user, delete=scim.delete_user, answer=_user_answer,
              search=_search_users)
GROUPS = _Kind(get=scim_groups.get_group, create=scim_groups.create_group, delete=scim_groups.delete_group,
               answer=_group_answer, search=_search_groups)


# -- searching with POST (RFC 7644 section 3.4.3) ----------------------------------------------------------

def _search_request() -> dict:
    body = _body()
    if not isinstance(body, dict) or scim_schema.SEARCH_REQUEST not in (body.get("schemas") or []):
        raise invalid(f"A search names the schema {scim_schema.SEARCH_REQUEST}.", "invalidSyntax")
    lowered = {k.lower(): v for k, v in body.items()}
    for key in ("filter",):
        if lowered.get(key) is not None and not isinstance(lowered[key], str):
            raise invalid("filter is a string.", "invalidFilter")
    lists = {}
    for key in ("attributes", "excludedattributes"):
        value = lowered.get(key)
        if value is not None and (not isinstance(value, list) or not all(isinstance(v, str) for v in value)):
            raise invalid(f"{key} is a list of attribute names.")
        lists[key] = parse_attribute_list(",".join(value)) if value else []
    if lists["attributes"] and lists["excludedattributes"]:
        raise invalid("Use attributes or excludedAttributes, not both.")
    return {"filter": lowered.get("filter"), "start": lowered.get("startindex"),
            "count": lowered.get("count"), "attributes": lists["attributes"],
            "excluded": lists["excludedattributes"]}


def _post_search(search: Callable) -> Callable:
    def handler():
        query = _search_request()
        return search(query["filter"], query["start"], query["count"], query["attributes"], query["excluded"])

    return handler


def _search_everything(filter_text, start, count, attributes, excluded):
    paging = scim.page(start, count)
    total, rows = scim_groups.search_all(g.scim_directory, filter_text, paging)
    users = [row for row in rows if isinstance(row, ScimUser)]
    groups = [row for row in rows if isinstance(row, ScimGroup)]
    base = _base()
    resources = [project(resource, scim_schema.USER_SCHEMA, attributes, excluded)
                 for resource in scim.user_resources(users, base)]
    resources += _group_resources(groups, attributes, excluded)
    return scim_response(_list_response(total, paging, resources))


def _not_found(**_kwargs):
    raise ScimError(404, "No such SCIM endpoint here.")


scim_route("/ServiceProviderConfig", {"GET": _service_provider_config})
scim_route("/ResourceTypes", {"GET": _resource_types})
scim_route("/ResourceTypes/<name>", {"GET": _resource_type})
scim_route("/Schemas", {"GET": _schemas})
scim_route("/Schemas/<path:schema_id>", {"GET": _schema})
scim_route("/Users", {"GET": _list(USERS), "POST": _create(USERS)})
scim_route("/Users/.search", {"POST": _post_search(_search_users)})
scim_route("/Users/<scim_id>", {"GET": _read(USERS), "PUT": _write(USERS, scim.replace_user),
                                "PATCH": _write(USERS, scim.patch_user), "DELETE": _delete(USERS)})
scim_route("/Groups", {"GET": _list(GROUPS), "POST": _create(GROUPS)})
scim_route("/Groups/.search", {"POST": _post_search(_search_groups)})
scim_route("/Groups/<scim_id>", {"GET": _read(GROUPS), "PUT": _write(GROUPS, scim_groups.replace_group),
                                 "PATCH": _write(GROUPS, scim_groups.patch_group), "DELETE": _delete(GROUPS)})
scim_route("/.search", {"POST": _post_search(_search_everything)})
scim_route("/", {"GET": _not_found})
scim_route("/<path:rest>", {method: _not_found for method in ALL_METHODS})
