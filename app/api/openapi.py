"""The OpenAPI 3.1 document, built from the routes themselves.

Every rule under /api/ in `app.url_map` is described by the `Operation` its view carries (`@endpoint`);
there is one API blueprint and nothing is described by hand. tests/api/test_openapi.py fails when a route
has no `@endpoint`, or the document names a route that does not exist.
"""

from __future__ import annotations

import re

from flask import Flask
from werkzeug.routing import IntegerConverter, Rule

from app.api.base import Operation
from app.api.schemas import BODIES, MAX_ID, PROBLEM, RESOURCES, RESPONSES, STATS, VALIDATION_PROBLEM

PROBLEM_JSON = "application/problem+json"
ERROR_TEXT = {
    400: "Malformed request: a NUL character in the query string, JSON that does not parse (also: nested "
         "deeper than 32 levels, a duplicate key, NaN/Infinity), or a browser session writing without the "
         "CSRF header.",
    401: "No bearer token, or it is unknown, revoked, or its user is deactivated.",
    403: "Your role may not do this.", 404: "No such item (or not yours to see).",
    409: "Refused by a business rule (the detail says why).",
    413: "The body is larger than the upload limit (MAX_UPLOAD_MB).",
    415: "The body is not sent as application/json (or, where other types are documented, as one of them).",
    422: "Invalid values; `errors` maps each field or query parameter to a message.",
    429: "Too many requests from this address: wait a minute (Retry-After).",
}
_PLACEHOLDER = re.compile(r"<(?:[^<>]*:)?(\w+)>")  # <id>, <id:id>, <any(a, b):action>
HTTP_METHODS = frozenset(("get", "put", "post", "delete", "options", "head", "patch", "trace"))
SUCCESS_TEXT = {200: "OK", 201: "Created", 202: "Accepted: queued, the work happens in the background."}
PAGE_HEADERS = {"Link": {"description": "RFC 8288 links: first, last, and next/prev when they exist.",
                         "schema": {"type": "string"}}}


def operation_for(app: Flask, endpoint: str) -> Operation | None:
    return getattr(app.view_functions.get(endpoint), "operation", None)


def api_rules(app: Flask) -> list[Rule]:
    return sorted((r for r in app.url_map.iter_rules() if r.rule.startswith("/api/")), key=lambda r: r.rule)


def openapi_path(rule: Rule) -> str:
    """/api/v1/courses/<id:id> -> /api/v1/courses/{id}"""
    # Each placeholder keeps its own name: `rule.arguments` is a set, so its order cannot name them
    # (with two arguments the names would swap from one run to the next).
    return _PLACEHOLDER.sub(r"{\1}", rule.rule)


def methods(rule: Rule) -> list[str]:
    return sorted(m.lower() for m in rule.methods - {"HEAD", "OPTIONS"})


def build_document(app: Flask) -> dict:
    paths: dict[str, dict] = {}
    for rule in api_rules(app):
        operation = operation_for(app, rule.endpoint)
        if operation is None:
            continue  # undocumented: the coverage test names it
        for method in methods(rule):
            paths.setdefault(openapi_path(rule), {})[method] = _with_app_wide_errors(
                _operation(rule, method, operation))
    paths = dict(sorted(paths.items()))
    return {
        "openapi": "3.1.0",
        "info": {"title": f"{app.config.get('ORG_NAME', 'Laurel')} API (Laurel)", "version": "1.0.0",
                 "description": "Certifications, courses, enrollments, certificates, people, analytics "
                                "and integrations. Guide: "
                                "docs/api.md. Authenticate with `Authorization: Bearer <token>`."},
        "servers": [{"url": app.config.get("BASE_URL") or "/"}],
        "tags": [{"name": name}
                 for name in sorted({o["tags"][0] for p in paths.values() for m, o in p.items()
                                     if m in HTTP_METHODS and o.get("tags")})],
        "paths": paths,
        "components": {"schemas": _schemas(), "securitySchemes": {"bearerAuth": {
            "type": "http", "scheme": "bearer",
            "description": "A personal API token (profile page, or `flask create-token EMAIL --name NAME`). "
                           "Browser sessions work too; their writes need the X-CSRFToken header."}}},
        "security": [{"bearerAuth": []}],
    }


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _schemas() -> dict:
    schemas = {**RESOURCES, "Stats": STATS, **RESPONSES, "Problem": PROBLEM,
               "ValidationProblem": VALIDATION_PROBLEM, **BODIES,
               "OpenAPI": {"type": "object", "description": "This document."}}
    for name in RESOURCES:
        schemas[f"{name}Page"] = {"type": "object",
                                  "required": ["items", "page", "per_page", "total", "next"],
                                  "properties": {
            "items": {"type": "array", "items": _ref(name)},
            "page": {"type": "integer", "minimum": 1}, "per_page": {"type": "integer", "minimum": 1,
                                                                    "maximum": 200},
            "total": {"type": "integer", "minimum": 0},
            "next": {"type": ["string", "null"], "format": "uri",
                     "description": "The next page's URL; null on the last page."}}}
    return schemas


def _operation(rule: Rule, method: str, op: Operation) -> dict:
    result: dict = {"operationId": _operation_id(rule.endpoint, method), "summary": op.summary,
                    "tags": [op.tag], "parameters": _path_params(rule, op) + [
                        {"name": p.name, "in": "query", "required": False, "schema": p.schema,
                         **({"description": p.description} if p.description else {})}
                        for p in op.all_params]}
    if op.description:
        result["description"] = op.description
    if op.access == "public":
        result["security"] = []
    if op.body:
        required = bool(BODIES[op.body].get("required"))
        result["requestBody"] = {"required": required,
                                 "content": {"application/json": {"schema": _ref(op.body)}}}
    if op.raw_bodies:
        result["requestBody"] = {"required": True, "content": dict(op.raw_bodies)}
    result["responses"] = {**_success(op), **_errors(rule, method, op)}
    return result


def _operation_id(endpoint: str, method: str) -> str:
    return endpoint.removeprefix("api.").replace(".", "_")


def _path_params(rule: Rule, op: Operation) -> list[dict]:
    params = []
    for name, converter in rule._converters.items():
        if isinstance(converter, IntegerConverter):  # <id:...> too
            schema: dict = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
        else:
            schema = (op.path_schemas or {}).get(name, {"type": "string"})
        params.append({"name": name, "in": "path", "required": True, "schema": schema})
    return params


def _success(op: Operation) -> dict:
    if isinstance(op.media, tuple):
        return {str(op.status): {"description": "The document, in the media type the parameters chose.",
                                 "content": {media: {"schema": _media_schema(media)} for media in op.media}}}
    if op.media:
        return {str(op.status): {"description": "The file.", "content": {
            op.media: {"schema": {"type": "string", "format": "binary"}}}}}
    if op.response is None:
        return {str(op.status): {"description": "Done; no content."}}
    schema = _ref(f"{op.response}Page" if op.paginated else op.response)
    answer: dict = {"description": SUCCESS_TEXT.get(op.status, "OK"),
                    "content": {"application/json": {"schema": schema}}}
    if op.paginated:
        answer["headers"] = PAGE_HEADERS
    if op.status == 201:
        answer["headers"] = {"Location": {"description": "The new item's URL.", "schema": {"type": "string"}}}
    return {str(op.status): answer}


def _media_schema(media: str) -> dict:
    """JSON documents (application/json, application/vc, ...+json) are objects; anything else is text."""
    if media == "application/vc" or media.endswith(("/json", "+json")):
        return {"type": "object"}
    return {"type": "string"}


def _errors(rule: Rule, method: str, op: Operation) -> dict:
    statuses = set(op.errors)
    if op.access != "public":
        statuses.add(401)
    if op.access in ("staff", "manager", "admin"):
        statuses.add(403)
    if rule.arguments:
        statuses.add(404)
    if op.all_params or op.body:
        statuses.add(422)
    if method != "get":
        statuses.update((400, 409))  # CSRF/JSON; a business rule may refuse any write
    if op.body or op.raw_bodies:
        statuses.update((413, 415))
    if op.raw_bodies:
        statuses.add(422)
    return {str(status): {"description": ERROR_TEXT.get(status, "Error"), "content": {PROBLEM_JSON: {
        "schema": _ref("ValidationProblem" if status == 422 else "Problem")}}} for status in sorted(statuses)}


# What the application answers before any view runs, whatever the route:
# app/web/inputs.py refuses NUL characters in every query string (400), app/web/auth.py refuses a bearer
# token it does not know (401, even where no token is needed), MAX_CONTENT_LENGTH caps bodies (413).
APP_WIDE_ERRORS = {
    400: "A NUL character in the query string (or, for writes, malformed JSON / no CSRF header).",
    401: "The Authorization header names an unknown, revoked or deactivated user's token "
         "(where no token is needed, leave the header out).",
}


def _with_app_wide_errors(operation: dict) -> dict:
    statuses = dict(APP_WIDE_ERRORS)
    if "requestBody" in operation:
        statuses[413] = ERROR_TEXT[413]
    responses = dict(operation.get("responses", {}))
    for status, description in statuses.items():
        responses.setdefault(str(status), {"description": description, "content": {
            PROBLEM_JSON: {"schema": _ref("Problem")}}})
    return {**operation, "responses": dict(sorted(responses.items()))}
