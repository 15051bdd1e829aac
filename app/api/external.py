"""OpenAPI fragments of API routes that live in other blueprints (they do not use `@endpoint`).

A fragment is a module with `openapi_paths() -> {path: {method: operation}}` and, optionally, `SCHEMAS`
(component schemas it references; `Problem` and `ValidationProblem` come from the main document).

Fragments are found two ways, so a blueprint never has to edit this file:
- listed in `FRAGMENTS`;
- by convention: an /api/ route served by the view module `app.<package>.<module>` is described by
  `app.<package>.openapi` when that module exists (the analytics API, app/api/analytics.py, describes
  itself in app/api/analytics_openapi.py).
A fragment found by convention is merged once its package serves an /api/ route, so one written ahead
of its routes does not put unserved paths in the document. tests/api/test_openapi.py checks that every /api/
route is described, by an `@endpoint` or by a fragment, and that the document names no unserved route.
"""

from __future__ import annotations

from importlib import import_module
from importlib.util import find_spec
from types import ModuleType

from flask import Flask

FRAGMENTS: tuple[str, ...] = ("app.api.analytics_openapi", "app.api.integrations_openapi")
HTTP_METHODS = frozenset(("get", "put", "post", "delete", "options", "head", "patch", "trace"))


def _exists(name: str) -> bool:
    try:
        return find_spec(name.rsplit(".", 1)[0]) is not None and find_spec(name) is not None
    except ModuleNotFoundError:
        return False


def _by_convention(app: Flask) -> list[str]:
    """`<package>.openapi` of each view module serving an /api/ route without an `@endpoint`."""
    names = []
    for rule in app.url_map.iter_rules():
        view = app.view_functions.get(rule.endpoint)
        if not rule.rule.startswith("/api/") or view is None or hasattr(view, "operation"):
            continue
        package = view.__module__.rsplit(".", 1)[0]
        if package not in ("app", "app.api") and f"{package}.openapi" not in names:
            names.append(f"{package}.openapi")
    return names


def fragments(app: Flask | None = None) -> list[ModuleType]:
    """The fragment modules present in this installation (with `app`: also those found by convention)."""
    names = list(FRAGMENTS)
    if app is not None:
        names += [name for name in _by_convention(app) if name not in names]
    return [import_module(name) for name in names if _exists(name)]


def paths(app: Flask | None = None) -> dict[str, dict]:
    merged: dict[str, dict] = {}
    for module in fragments(app):
        for path, item in module.openapi_paths().items():
            merged.setdefault(path, {}).update(item)
    return merged


def schemas(app: Flask | None = None) -> dict[str, dict]:
    merged: dict[str, dict] = {}
    for module in fragments(app):
        merged.update(getattr(module, "SCHEMAS", {}))
    return merged
