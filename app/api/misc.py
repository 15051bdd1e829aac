"""/api/v1/stats (the dashboard tiles) and /api/v1/openapi.json (this API, described)."""

from __future__ import annotations

from flask import current_app, jsonify

from app.api.base import actor, bp, endpoint
from app.api.openapi import build_document
from app.database import utcnow
from app.services.lifecycle import stats


@bp.get("/stats")
@endpoint("Dashboard tiles", access="staff", tag="Stats", response="Stats",
          description="The admin dashboard's live figures, computed now.")
def get_stats():
    now = utcnow()
    return {**stats.dashboard_tiles(now, viewer=actor()), "generated_at": now.isoformat()}


@bp.get("/openapi.json")
@endpoint("This API as an OpenAPI 3.1 document", access="public", tag="Meta", response="OpenAPI")
def openapi_document():
    response = jsonify(build_document(current_app))
    response.headers["Cache-Control"] = "public, max-age=300"
    return response
