"""OpenAPI fragments of API routes that live in other blueprints (they do not use `@endpoint`).

A fragment is a module with `openapi_paths() -> {path: {method: operation}}` and `SCHEMAS` (component
schemas it references; `Problem` and `ValidationProblem` come from the main document). The analytics API
(app/analytics/api.py) describes itself in app/analytics/openapi.py. tests/api/test_openapi.py checks that
every /api/ route is described, by an `@endpoint` or by a fragment.
"""

from __future__ import annotations

from importlib import import_module
from importlib.util import find_spec

FRAGMENTS = ("app.analytics.openapi",)


def fragments() -> list:
    """The fragment modules present in this installation."""
    found = []
    for name in FRAGMENTS:
        if find_spec(name.rsplit(".", 1)[0]) is not None and find_spec(name) is not None:
            found.append(import_module(name))
    return found


def paths() -> dict[str, dict]:
    merged: dict[str, dict] = {}
    for module in fragments():
        for path, item in module.openapi_paths().items():
            merged.setdefault(path, {}).update(item)
    return merged


def schemas() -> dict[str, dict]:
    merged: dict[str, dict] = {}
    for module in fragments():
        merged.update(module.SCHEMAS)
    return merged
