"""The REST API v1 blueprint (app/api/views.py) and its OpenAPI document (app/api/openapi.py)."""
