"""The ONE REST API v1 blueprint (app/api/base.py, routes added by app/api/routes.py) and its OpenAPI
document (app/api/openapi.py)."""
