"""`POST /hooks/stripe`: Stripe's signed events (no session, no CSRF, raw body, rate limited)."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request

from app.extensions import db, limiter
from app.services.payments import checkout
from app.web.auth import csrf_exempt

bp = Blueprint("payment_hooks", __name__, url_prefix="/hooks")


@bp.post("/stripe")
@csrf_exempt
@limiter.limit(lambda: current_app.config.get("INCOMING_HOOKS_RATE_LIMIT", "300 per minute"))
def stripe_events():
    signature = request.headers.get("Stripe-Signature")
    status, body = checkout.handle_event(request.get_data(cache=False), signature)
    if status == 200:
        db.session.commit()
    else:
        db.session.rollback()
    response = jsonify(body)
    response.status_code = status
    return response
