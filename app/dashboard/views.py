"""The home page for each role, and the health endpoint."""

from __future__ import annotations

from flask import Blueprint, jsonify, render_template
from flask_login import current_user

from app.extensions import limiter
from app.services import health
from app.web.auth import login_required

bp = Blueprint("dashboard", __name__)


@bp.get("/")
@login_required
def index():
    if current_user.is_staff:
        return render_template("dashboard/admin.html")
    return render_template("dashboard/learner.html")


@bp.get("/healthz")
@limiter.exempt
def healthz():
    report = health.check()
    return jsonify(report), 200 if report["status"] == "ok" else 503
