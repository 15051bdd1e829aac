"""OpenAPI 3.1 paths for the integrations API, merged by the API blueprint into /api/v1/openapi.json.

Handlers: app.services.integrations_api (one function per operation).
"""

from __future__ import annotations

from app.services.numbers import MAX_ID, MAX_PAGE

_ID = {"name": "id", "in": "path", "required": True,
       "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID}}
_PAGE = [
    {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE}},
    {"name": "per_page", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100}},
]
_INTEGRATION = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "type": {
            "enum": ["generic_webhook", "slack", "moodle", "incoming", "sql", "file_drop", "pdf_export"]
        },
        "name": {"type": "string"},
        "active": {"type": "boolean"},
        "status": {"enum": ["active", "inactive", "failing", "deleted"]},
        "config": {"type": "object", "description": "Non-secret settings (url, site_url, query, folder ...)"},
        "auth_type": {"enum": ["none", "api_key", "bearer", "basic", "oauth2"]},
        "credentials": {"type": "object", "description": "Secret name -> masked hint (last 4 characters)"},
        "event_types": {"type": "array", "items": {"type": "string"}},
        "condition_certification_id": {"type": ["integer", "null"]},
        "condition_department": {"type": ["string", "null"]},
        "signing_secret": {"type": ["string", "null"], "description": "Masked"},
        "incoming_url": {"type": ["string", "null"]},
        "sync_every_minutes": {"type": ["integer", "null"]},
        "last_success_at": {"type": ["string", "null"], "format": "date-time"},
        "last_error": {"type": ["string", "null"]},
        "failing_since": {"type": ["string", "null"]},
        "counts": {"type": "object"},
    },
}
_INPUT = {
    "type": "object",
    "description": "Template fields. Secrets (api_key, token, password, client_secret, moodle_token, "
    "database_url, webhook_url, access_key_id, secret_access_key) are write-only; omit them to keep "
    "the stored value.",
    "properties": {
        "type": _INTEGRATION["properties"]["type"],
        "name": {"type": "string"},
        "url": {"type": "string"},
        "event_types": {"type": "array", "items": {"type": "string"}},
        "auth_type": _INTEGRATION["properties"]["auth_type"],
        "site_url": {"type": "string"},
        "query": {"type": "string"},
        "folder": {"type": "string"},
        "location": {"enum": ["folder", "s3"]},
        "bucket": {"type": "string"},
        "prefix": {"type": "string"},
        "region": {"type": "string"},
        "endpoint_url": {"type": "string"},
        "sync_every_minutes": {"type": ["integer", "string", "null"]},
    },
}


def _json(schema: dict, description: str = "OK") -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_ERRORS = {
    "404": {"description": "No such integration"},
    "422": {"description": "Validation errors per field"},
}
_PAGED = {
    "type": "object",
    "properties": {
        "items": {"type": "array"},
        "page": {"type": "integer"},
        "per_page": {"type": "integer"},
        "total": {"type": "integer"},
    },
}


# operationId per (path suffix, method): the view function names in app/integrations_web/api.py.
_OPERATION_IDS = {
    ("", "get"): "list_integrations", ("", "post"): "create_integration", ("/health", "get"): "health",
    ("/{id}", "get"): "get_integration", ("/{id}", "patch"): "update_integration",
    ("/{id}", "delete"): "delete_integration", ("/{id}/test", "post"): "test_integration",
    ("/{id}/activate", "post"): "activate_integration",
    ("/{id}/deactivate", "post"): "deactivate_integration",
    ("/{id}/logs", "get"): "integration_logs", ("/{id}/deliveries", "get"): "integration_deliveries",
}


def openapi_paths() -> dict:
    """The `paths` entries for /api/v1/integrations and its sub-resources."""
    paths = _paths()
    for path, item in paths.items():
        suffix = path.removeprefix("/api/v1/integrations")
        for method, operation in item.items():
            if (suffix, method) in _OPERATION_IDS:
                _complete(operation, _OPERATION_IDS[(suffix, method)], has_id="{id}" in path)
    return paths


def _problem(description: str, schema: str = "Problem") -> dict:
    return {"description": description,
            "content": {"application/problem+json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}}}


def _complete(operation: dict, operation_id: str, has_id: bool) -> None:
    """The errors every operation here can answer, as the main document describes them."""
    operation["operationId"] = operation_id
    operation.setdefault("parameters", [])
    responses = operation["responses"]
    responses["401"] = _problem("No valid API token or session")
    responses["403"] = _problem("Admins only")
    if has_id:
        responses["404"] = _problem("No such integration")
    if operation.get("requestBody") or any(p["in"] == "query" for p in operation["parameters"]):
        responses["422"] = _problem("Validation errors per field", "ValidationProblem")
    if operation_id in ("update_integration", "delete_integration", "activate_integration",
                        "deactivate_integration", "test_integration"):
        responses["409"] = _problem("Refused by a rule (e.g. the integration was deleted)")


def _paths() -> dict:
    one = {"parameters": [_ID]}
    return {
        "/api/v1/integrations": {
            "get": {
                "summary": "List integrations",
                "tags": ["integrations"],
                "parameters": [
                    {"name": "type", "in": "query", "schema": {"type": "string"}},
                    {"name": "status", "in": "query", "schema": {"enum": ["active", "inactive"]}},
                ],
                "responses": {
                    "200": _json(
                        {"type": "object", "properties": {"items": {"type": "array", "items": _INTEGRATION}}}
                    )
                },
            },
            "post": {
                "summary": "Create an integration from a template (inactive)",
                "tags": ["integrations"],
                "requestBody": {"required": True, "content": {"application/json": {"schema": _INPUT}}},
                "responses": {
                    "201": _json(_INTEGRATION, "Created; signing_secret_once is shown only here"),
                    "422": _ERRORS["422"],
                },
            },
        },
        "/api/v1/integrations/health": {
            "get": {
                "summary": "Health at a glance",
                "tags": ["integrations"],
                "responses": {"200": _json({"type": "object"})},
            }
        },
        "/api/v1/integrations/{id}": {
            **one,
            "get": {
                "summary": "One integration",
                "tags": ["integrations"],
                "responses": {"200": _json(_INTEGRATION), "404": _ERRORS["404"]},
            },
            "patch": {
                "summary": "Change settings (partial)",
                "tags": ["integrations"],
                "requestBody": {"content": {"application/json": {"schema": _INPUT}}},
                "responses": {"200": _json(_INTEGRATION), **_ERRORS},
            },
            "delete": {
                "summary": "Delete (soft: history is kept)",
                "tags": ["integrations"],
                "responses": {"204": {"description": "Deleted"}, "404": _ERRORS["404"]},
            },
        },
        "/api/v1/integrations/{id}/test": {
            **one,
            "post": {
                "summary": "Send a ping or run a dry sync",
                "tags": ["integrations"],
                "responses": {
                    "200": _json({"type": "object", "properties": {"ok": {"type": "boolean"}}}),
                    "404": _ERRORS["404"],
                },
            },
        },
        "/api/v1/integrations/{id}/activate": {
            **one,
            "post": {
                "summary": "Activate",
                "tags": ["integrations"],
                "responses": {"200": _json(_INTEGRATION), "404": _ERRORS["404"]},
            },
        },
        "/api/v1/integrations/{id}/deactivate": {
            **one,
            "post": {
                "summary": "Deactivate",
                "tags": ["integrations"],
                "responses": {"200": _json(_INTEGRATION), "404": _ERRORS["404"]},
            },
        },
        "/api/v1/integrations/{id}/logs": {
            **one,
            "get": {
                "summary": "Log lines, newest first",
                "tags": ["integrations"],
                "parameters": [
                    {
                        "name": "level",
                        "in": "query",
                        "schema": {"enum": ["debug", "info", "warning", "error"]},
                    },
                    *_PAGE,
                ],
                "responses": {"200": _json(_PAGED), **_ERRORS},
            },
        },
        "/api/v1/integrations/{id}/deliveries": {
            **one,
            "get": {
                "summary": "Webhook deliveries with request/response details",
                "tags": ["integrations"],
                "parameters": [
                    {
                        "name": "status",
                        "in": "query",
                        "schema": {"enum": ["pending", "delivering", "delivered", "failed", "gave_up"]},
                    },
                    *_PAGE,
                ],
                "responses": {"200": _json(_PAGED), "404": _ERRORS["404"]},
            },
        },
    }
