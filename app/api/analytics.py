"""GET /api/v1/analytics[/<figure>]: every chart's and table's data as JSON, with the page's filters.

Admins and staff (session or bearer token); learners get 403; bad filters 422 problem+json.
"""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from app.services.analytics import cache, figures
from app.services.errors import ValidationError
from app.web.auth import staff_required
from app.web.errors import problem

bp = Blueprint("analytics_api", __name__, url_prefix="/api/v1/analytics")


@bp.get("")
@staff_required
def index():
    """The figures this API serves."""
    return jsonify({"figures": [
        {"name": f.name, "title": f.title, "kind": f.kind, "description": f.description,
         "url": f"{request.script_root}{bp.url_prefix}/{f.name}"} for f in figures.FIGURES.values()]})


@bp.get("/<name>")
@staff_required
def figure(name: str):
    if name not in figures.FIGURES:
        return problem(404, f"No analytics figure named {name[:60]!r}; GET /api/v1/analytics lists them.")
    try:
        filters = figures.parse_filters(request.args)
        limit = figures.parse_limit(request.args.get("limit")) if name in figures.TABLES else None
    except ValidationError as exc:
        return problem(422, "Some filters are not valid.", errors=exc.errors)
    return jsonify(cache.figure(name, filters, limit))
