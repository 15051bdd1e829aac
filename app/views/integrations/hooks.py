"""`POST /hooks/in/<token>`: incoming completion webhooks (signed, no session, no CSRF, rate limited)."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request

from app.extensions import db, limiter
from app.services.integrations import incoming as incoming_hooks
from app.web.auth import csrf_exempt

bp = Blueprint("hooks", __name__, url_prefix="/hooks")


@bp.post("/in/<token>")
@csrf_exempt
@limiter.limit(lambda: current_app.config.get("INCOMING_HOOKS_RATE_LIMIT", "300 per minute"))
def incoming(token: str):
    status, body = incoming_hooks.handle(token, dict(request.headers), request.get_data(cache=False))
    db.session.commit()  # the log line (and, on success, the change) in one commit
    response = jsonify(body)
    response.status_code = status
    return response
