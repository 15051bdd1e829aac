"""The REST API v1: one blueprint (`bp` in base.py, routes imported by routes.py), every operation
declared with @endpoint, and its OpenAPI document generated from the routes (openapi.py)."""
